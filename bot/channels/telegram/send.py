"""Sending to Telegram: our `**bold**` markup as Telegram HTML, inline keyboards, rate limits, and the outbox's
payloads (text, photos, files, callback answers, edits, forum topics) turned into Bot API calls whose errors
become `SendResult`s (never raised)."""
from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.channels.telegram.http import JsonBody
from bot.kernel.channel import SendResult
from bot.kernel.outbox import Limit

TOPIC_PROBLEM = "topic"  # SendResult.extra key: the forum topic was deleted ("gone") or closed ("closed")
# Telegram counts a message when it arrives; our windows hold each send's slot until Telegram answered
# (RateLimiter.sending), which covers stalls on the way. A little margin on top for clock granularity.
LIMIT_MARGIN = 0.01  # seconds added to every window
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def render_html(text: str) -> str:
    """Our `**bold**` markup to Telegram HTML; everything else escaped."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def keyboard_dict(rows: list[list[dict[str, str]]]) -> dict[str, Any]:
    """The Bot API's InlineKeyboardMarkup, as sent (no PTB objects on the hot path)."""
    return {"inline_keyboard": [[{"text": b["label"], "callback_data": b["data"]} for b in row] for row in rows]}


def keyboard(rows: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["label"], callback_data=b["data"]) for b in row] for row in rows])


def retry_seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class Sending:
    """The adapter's sending half (`TelegramChannel` mixes it in): what it needs from the adapter is declared here."""

    bot: Bot
    chat_burst: int
    chat_rate: float
    group_per_minute: int
    global_rate: float

    def redact(self, text: str) -> str:
        raise NotImplementedError

    def limits(self, msg: dict[str, Any]) -> list[Limit]:
        if msg["payload"].get("kind") == "callback_answer":
            return []
        chat_id = msg["chat_id"]
        if chat_id.startswith("-"):  # groups and supergroups
            per_chat = Limit(f"tg:chat:{chat_id}", self.group_per_minute, 60.0 + LIMIT_MARGIN)
        else:
            per_chat = Limit(f"tg:chat:{chat_id}", self.chat_burst, self.chat_burst / self.chat_rate + LIMIT_MARGIN)
        return [per_chat, Limit("tg:all", max(1, int(self.global_rate)), 1.0 + LIMIT_MARGIN)]

    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        try:
            return await self._send(chat_id, payload)
        except RetryAfter as err:
            return SendResult(False, retry_after=retry_seconds(err.retry_after), error="429 retry after")
        except Forbidden as err:  # errors that end a message are worded for the officers who may read them
            return SendResult(False, blocked=True, error=f"người nhận đã chặn bot hoặc rời cuộc trò chuyện ({self.redact(str(err))})")
        except ChatMigrated as err:
            return SendResult(False, new_chat_id=str(err.new_chat_id), error="chat migrated")
        except BadRequest as err:
            text = str(err).lower()
            if "not modified" in text or "not_modified" in text or "query is too old" in text or "query id is invalid" in text:
                return SendResult(True)
            if "thread not found" in text or "topic_deleted" in text or "topic_id_invalid" in text:
                return SendResult(False, permanent=True, error=f"chủ đề không còn trong nhóm ({self.redact(str(err))})",
                                  extra={TOPIC_PROBLEM: "gone"})
            if "topic_closed" in text:
                return SendResult(False, permanent=True, error=f"chủ đề đã bị đóng ({self.redact(str(err))})",
                                  extra={TOPIC_PROBLEM: "closed"})
            if "chat not found" in text or "user not found" in text:
                return SendResult(False, blocked=True, error=f"không còn cuộc trò chuyện này trên Telegram ({self.redact(str(err))})")
            return SendResult(False, permanent=True, error=f"Telegram từ chối tin nhắn ({self.redact(str(err))})")
        except TelegramError as err:  # TimedOut, NetworkError (5xx), InvalidToken, Conflict …
            return SendResult(False, error=f"{type(err).__name__}: {self.redact(str(err))}")

    async def _send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        kind = payload.get("kind")
        extra = payload.get("extra") or {}
        if kind == "callback_answer":
            await self.bot.answer_callback_query(extra["callback_id"], text=extra.get("text"))
            return SendResult(True)
        op = extra.get("op")
        if op == "edit_card":
            return await self._edit_text(chat_id, int(extra["message_id"]), payload.get("text") or "")
        if op:
            return await self._topic_op(chat_id, op, extra)
        thread = int(payload["thread_id"]) if payload.get("thread_id") else None
        reply = ReplyParameters(int(payload["reply_to"]), allow_sending_without_reply=True) if payload.get("reply_to") else None
        text = payload.get("text") or ""
        photos = [a for a in payload.get("attachments") or [] if a["kind"] == "photo"]
        others = [a for a in payload.get("attachments") or [] if a["kind"] != "photo"]
        first_id: str | None = None
        if len(photos) == 1 and len(text) <= 1000:
            m = await self.bot.send_photo(
                chat_id, photos[0]["ref"], caption=render_html(text) or None, parse_mode=ParseMode.HTML,
                message_thread_id=thread, reply_parameters=reply, reply_markup=keyboard(payload.get("buttons")),
            )
            return SendResult(True, message_id=str(m.message_id))
        ids: list[str] = []  # every message sent, so a reply to any of them can be traced back
        if photos:
            group = [InputMediaPhoto(p["ref"]) for p in photos[:10]]
            sent = await self.bot.send_media_group(chat_id, group, message_thread_id=thread, reply_parameters=reply)
            first_id = str(sent[0].message_id)
            ids += [str(m.message_id) for m in sent]
            reply = None
        for a in others:
            m = await self._send_media(chat_id, a, thread)
            if m is not None:
                first_id = first_id or str(m.message_id)
                ids.append(str(m.message_id))
        if text:
            kwargs: dict[str, Any] = {"chat_id": chat_id, "link_preview_options": {"is_disabled": True}}
            if payload.get("buttons"):
                kwargs["reply_markup"] = keyboard_dict(payload["buttons"])
            if thread is not None:
                kwargs["message_thread_id"] = thread
            if reply is not None:
                kwargs["reply_parameters"] = reply.to_dict()
            try:
                mid = await self._send_text(dict(kwargs, text=render_html(text), parse_mode=ParseMode.HTML))
            except BadRequest as err:
                if "parse entities" not in str(err).lower():
                    raise
                mid = await self._send_text(dict(kwargs, text=text.replace("**", "")))
            ids.append(mid)
            return SendResult(True, message_id=first_id or mid, extra={"message_ids": ids})
        return SendResult(True, message_id=first_id, extra={"message_ids": ids})

    async def _send_text(self, kwargs: dict[str, Any]) -> str:
        """sendMessage on the hot path of every answer: the body encoded once, posted through PTB's request
        layer (same HTTP client, same error classes: RetryAfter, Forbidden, BadRequest …), and only the message
        id read back. `Bot.send_message` would convert each parameter on its own, encode the whole again and
        build a full `Message` from the reply, none of which the outbox needs."""
        body = json.dumps(kwargs, ensure_ascii=False, separators=(",", ":")).encode()
        result = await self.bot.request.post(f"{self.bot.base_url}/sendMessage", request_data=JsonBody(body))
        return str(result["message_id"])  # type: ignore[index,call-overload]  # post() is typed for every method; sendMessage's result is a Message object

    async def _send_media(self, chat_id: str, a: dict[str, str], thread: int | None) -> Any:
        kind, ref = a["kind"], a["ref"]
        if kind == "document" and ref.startswith("data:"):  # a file we made (e.g. a CSV export), sent by bytes
            content = base64.b64decode(ref.split(",", 1)[1])
            return await self.bot.send_document(
                chat_id, InputFile(content, filename=a.get("name") or "tep"), message_thread_id=thread,
                read_timeout=30.0,
            )
        if kind == "location":
            lat, lon = (float(x) for x in ref.split(","))
            return await self.bot.send_location(chat_id, lat, lon, message_thread_id=thread)
        senders = {
            "document": self.bot.send_document,
            "video": self.bot.send_video,
            "voice": self.bot.send_voice,
            "audio": self.bot.send_audio,
            "sticker": self.bot.send_sticker,
        }
        sender = senders.get(kind)
        return await sender(chat_id, ref, message_thread_id=thread) if sender else None

    async def _edit_text(self, chat_id: str, message_id: int, text: str) -> SendResult:
        """Rewrite a message the bot sent (a ticket card after the citizen deleted their data)."""
        await self.bot.edit_message_text(render_html(text), chat_id, message_id, parse_mode=ParseMode.HTML,
                                         link_preview_options=LinkPreviewOptions(is_disabled=True))
        return SendResult(True)

    async def _topic_op(self, chat_id: str, op: str, extra: dict[str, Any]) -> SendResult:
        """Forum topic operations for the staff inbox (one topic per ticket)."""
        if op == "create_topic":
            topic = await self.bot.create_forum_topic(chat_id, extra["name"][:128], icon_color=extra.get("icon_color"))
            return SendResult(True, message_id=str(topic.message_thread_id), extra={"thread_id": str(topic.message_thread_id)})
        thread = int(extra["thread_id"])
        if op == "edit_topic":
            await self.bot.edit_forum_topic(chat_id, thread, name=extra["name"][:128])
        elif op == "close_topic":
            await self.bot.close_forum_topic(chat_id, thread)
        elif op == "reopen_topic":
            await self.bot.reopen_forum_topic(chat_id, thread)
        else:
            return SendResult(False, permanent=True, error=f"unknown op {op}")
        return SendResult(True)
