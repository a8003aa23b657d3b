# Over 400 lines: HTTP layer, update parsing and sending of one channel; to be split into a telegram/ package (not done in issue 15).
"""Telegram through python-telegram-bot: typed Bot API calls, error classes, long polling.

PTB's `Application`/`Updater` are not used: their in-memory update queue is dropped on `stop()` and the
Updater confirms a polling offset before our handler has stored the update, so a crash would lose
messages. Instead every update goes through the durable inbox (`App.submit`) before it is acknowledged,
and every send goes through the durable outbox. PTB's HTTP goes through `AiohttpRequest`, on the app's
one shared aiohttp session (PTB's default httpx stack is the bottleneck of a webhook bot).
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import html
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Callable

import aiohttp
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.request import BaseRequest, RequestData

from bot.kernel.channel import CHANNELS, Busy, Caps, ChannelAdapter, ChannelSpec, SendResult, cancel_quietly
from bot.kernel.messages import TELEGRAM, Attachment, Inbound
from bot.kernel.outbox import Limit

if TYPE_CHECKING:
    from bot.kernel.channel import Host

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
TOPIC_PROBLEM = "topic"  # SendResult.extra key: the forum topic was deleted ("gone") or closed ("closed")
# Telegram counts a message when it arrives; our windows hold each send's slot until Telegram answered
# (RateLimiter.sending), which covers stalls on the way. A little margin on top for clock granularity.
LIMIT_MARGIN = 0.01  # seconds added to every window
_DEFAULT = type(BaseRequest.DEFAULT_NONE)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


class AiohttpRequest(BaseRequest):
    """PTB's pluggable HTTP layer on a shared `aiohttp.ClientSession` (owned by the app)."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        read_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        write_timeout: float = 10.0,
        media_write_timeout: float = 30.0,
    ):
        self._session = session
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._write_timeout = write_timeout
        self._media_write_timeout = media_write_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """The session belongs to the app; nothing to open here."""

    async def shutdown(self) -> None:
        """The app closes the shared session."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        from telegram.error import NetworkError, TimedOut

        files = request_data.multipart_data if request_data and request_data.contains_files else None
        read = self._read_timeout if isinstance(read_timeout, _DEFAULT) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, _DEFAULT) else connect_timeout
        write = (self._media_write_timeout if files else self._write_timeout) if isinstance(write_timeout, _DEFAULT) else write_timeout
        pool = connect if isinstance(pool_timeout, _DEFAULT) else pool_timeout
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=(pool or 0) + (connect or 0) or None,
            sock_connect=connect,
            sock_read=(read or 0) + (write or 0) or None,
        )
        data: Any = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for k, v in request_data.json_parameters.items():
                    form.add_field(k, v)
                for name, spec in files.items():
                    filename, content, mime = spec if len(spec) == 3 else (*spec, None)  # type: ignore[misc]
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                # The Bot API takes JSON bodies; PTB's own JSON payload is encoded in C, where a form body would be
                # percent-encoded byte by byte in Python (and, given a dict, aiohttp builds a multipart writer).
                data = request_data.json_payload
        headers = {"User-Agent": self.USER_AGENT}
        if isinstance(data, bytes):
            headers["Content-Type"] = "application/json"
        try:
            async with self._session().request(method, url, data=data, timeout=timeout, headers=headers) as resp:
                return resp.status, await resp.read()
        except asyncio.TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}") from err


class JsonBody(RequestData):
    """A request body already encoded as JSON. PTB's `RequestData` encodes every parameter on its own and then
    the whole (a JSON string inside JSON); the Bot API takes nested objects as they are."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes):
        super().__init__()
        self._body = body

    @property
    def json_payload(self) -> bytes:
        return self._body

    @property
    def json_parameters(self) -> dict[str, str]:
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(self._body).items()}


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


class Forged(ValueError):
    """An update whose fields do not have the types the Bot API gives them."""


def _int(v: Any) -> int:
    if type(v) is not int or not -(2**53) < v < 2**53:  # bool is not an id; ids fit in 53 bits
        raise Forged("not an id")
    return v


def _str(v: Any, limit: int = 100_000) -> str:
    if v is None:
        return ""
    if not isinstance(v, str) or len(v) > limit:
        raise Forged("not a string")
    return v


def _obj(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise Forged("not an object")
    return v


def _name(user: dict[str, Any]) -> str:
    first, last = _str(user.get("first_name"), 256), _str(user.get("last_name"), 256)
    return f"{first} {last}".strip()


def _thread(msg: dict[str, Any]) -> str | None:
    if msg.get("is_topic_message") is True and msg.get("message_thread_id") is not None:
        return str(_int(msg["message_thread_id"]))
    return None


def _attachments(msg: dict[str, Any]) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    photos = msg.get("photo")
    if photos:
        if not isinstance(photos, list):
            raise Forged("photo")
        out.append(Attachment("photo", _str(_obj(photos[-1]).get("file_id"), 256)))
    doc = msg.get("document")
    if doc is not None:
        doc = _obj(doc)
        out.append(Attachment("document", _str(doc.get("file_id"), 256), _str(doc.get("file_name"), 256),
                              _str(doc.get("mime_type"), 256)))
    for kind in ("video", "voice", "audio", "sticker"):
        media = msg.get(kind)
        if media is not None:
            out.append(Attachment(kind, _str(_obj(media).get("file_id"), 256)))
    loc = msg.get("location")
    if loc is not None:
        loc = _obj(loc)
        lat, lon = loc.get("latitude"), loc.get("longitude")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lat, lon)):
            raise Forged("location")
        out.append(Attachment("location", f"{lat},{lon}"))
    return tuple(out)


def to_inbound(data: dict[str, Any]) -> Inbound | None:
    """The channel-neutral view of a Telegram update, read straight from the Bot API's JSON (None for updates
    we do not act on). Types are checked: a forged update raises `Forged`.

    The webhook reads updates this way rather than through PTB's `Update.de_json`, which builds a full object
    tree per update (a fifth of the CPU of the webhook path) and does not check field types; polling passes
    PTB's `Update.to_dict()`, so there is one reading of an update.
    """
    key = f"u{_int(data.get('update_id'))}"
    if data.get("callback_query") is not None:
        q = _obj(data["callback_query"])
        user = _obj(q.get("from"))
        msg = _obj(q["message"]) if q.get("message") is not None else None
        chat = _obj(msg.get("chat")) if msg is not None else None
        return Inbound(
            channel=TELEGRAM,
            chat_id=str(_int(chat["id"]) if chat else _int(user.get("id"))),
            user_id=str(_int(user.get("id"))),
            display_name=_name(user),
            username=_str(user.get("username"), 64),
            chat_type="private" if chat is None or chat.get("type") == "private" else "group",
            callback=_str(q.get("data"), 256),
            callback_id=_str(q.get("id"), 64),
            thread_id=_thread(msg) if msg is not None else None,
            message_id=str(_int(msg["message_id"])) if msg is not None else None,
            event_key=key,
        )
    if data.get("message") is None:
        return None  # edited messages, channel posts, …: nothing to do
    msg = _obj(data["message"])
    if msg.get("from") is None:
        return None
    user, chat = _obj(msg["from"]), _obj(msg.get("chat"))
    reply = msg.get("reply_to_message")
    # The photo of the message replied to (staff: "/broadcast …" as a reply to a photo).
    quoted = tuple(a for a in _attachments(_obj(reply)) if a.kind == "photo") if reply is not None else ()
    return Inbound(
        channel=TELEGRAM,
        chat_id=str(_int(chat.get("id"))),
        user_id=str(_int(user.get("id"))),
        text=_str(msg.get("text")) or _str(msg.get("caption")),
        display_name=_name(user),
        username=_str(user.get("username"), 64),
        chat_type="private" if chat.get("type") == "private" else "group",
        attachments=_attachments(msg),
        reply_to=str(_int(_obj(reply).get("message_id"))) if reply is not None else None,
        thread_id=_thread(msg),
        message_id=str(_int(msg.get("message_id"))),
        event_key=key,
        reply_attachments=quoted,
    )


def member_change(data: dict[str, Any]) -> tuple[str, bool] | None:
    """(chat id, blocked) for a `my_chat_member` update: the person blocked or unblocked the bot."""
    m = data.get("my_chat_member")
    if m is None:
        return None
    m = _obj(m)
    status = _str(_obj(m.get("new_chat_member")).get("status"), 32)
    return str(_int(_obj(m.get("chat")).get("id"))), status in ("kicked", "left")


def _retry_seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramChannel(ChannelAdapter):
    name = TELEGRAM

    def __init__(self, app: "Host"):
        s = app.settings
        self.app = app
        self.token = s.telegram_bot_token
        self.bot = Bot(
            self.token,
            base_url=s.telegram_api_base_url,
            base_file_url=s.telegram_api_base_url.replace("/bot", "/file/bot"),
            request=AiohttpRequest(lambda: app.http, read_timeout=s.telegram_read_timeout),
            get_updates_request=AiohttpRequest(lambda: app.http, read_timeout=40.0),
        )
        self.global_rate = s.telegram_global_rate
        self.chat_rate = s.telegram_chat_rate
        self.chat_burst = max(1, s.telegram_chat_burst)
        self.group_per_minute = s.telegram_group_per_minute
        self._poller: asyncio.Task[None] | None = None
        self._stopping = False

    # ---------------------------------------------------------- lifecycle
    async def initialize(self) -> None:
        """getMe (with retries: the network may come up after us), then the command menu."""
        delay = 1.0
        while True:
            try:
                await self.bot.initialize()
                break
            except TelegramError as err:
                log.warning("Telegram not reachable yet (%s); retrying in %.0fs", self.redact(str(err)), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
        try:
            await self.set_commands()
        except TelegramError as err:
            log.warning("setMyCommands failed: %s", self.redact(str(err)))

    async def set_commands(self) -> None:
        commands = self.app.services.registry.commands
        citizen = [BotCommand(c.name, c.description) for c in commands.values() if c.menu and c.description]
        await self.bot.set_my_commands(citizen, scope=BotCommandScopeDefault())
        staff_chat = self.app.settings.staff_chat_id
        if staff_chat:
            staff = [BotCommand(c.name, c.description) for c in commands.values() if c.staff and c.description]
            if staff:
                await self.bot.set_my_commands(staff, scope=BotCommandScopeChat(int(staff_chat)))

    async def start(self) -> None:
        await self.initialize()
        if self.app.settings.telegram_mode == "polling":
            self._poller = self.app.spawn("telegram-poll", self.poll)

    async def stop(self) -> None:
        self._stopping = True
        await cancel_quietly(self._poller)
        try:
            await self.bot.shutdown()
        except Exception:  # best effort on shutdown
            pass

    def redact(self, text: str) -> str:
        return text.replace(self.token, "<token>") if self.token else text

    # ---------------------------------------------------------- receiving
    async def poll(self) -> None:
        """Long polling. An update is stored before the next getUpdates confirms it to Telegram."""
        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as err:
            log.warning("deleteWebhook failed: %s", self.redact(str(err)))
        offset: int | None = None
        delay = 1.0
        while not self._stopping:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as err:
                await asyncio.sleep(_retry_seconds(err.retry_after))
                continue
            except TelegramError as err:
                log.warning("getUpdates failed: %s; retrying in %.0fs", self.redact(str(err)), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            for update in updates:
                if not await self._accept_polled(update):
                    return  # shutting down: the rest stays unconfirmed at Telegram
                offset = update.update_id + 1

    async def _accept_polled(self, update: Update) -> bool:
        """Store one polled update; on overload wait and retry (the offset only moves once it is stored)."""

        while True:
            try:
                try:
                    await self.accept(update.to_dict())
                except Forged:
                    log.warning("ignoring a malformed update %s from getUpdates", update.update_id)
                return True
            except Busy:
                if self._stopping or not self.app.accepting:
                    return False
                await asyncio.sleep(0.2)

    async def accept(self, data: dict[str, Any]) -> None:
        """Store one update durably (or apply a membership change). Raises Forged for a malformed update."""
        member = member_change(data)
        if member is not None:
            await self.app.set_blocked(TELEGRAM, *member)
            return
        inbound = to_inbound(data)
        if inbound is not None:
            await self.app.submit(inbound)

    def routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/telegram/webhook", self.webhook)]

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: verify the secret, store the update, answer at once.

        200 only once the update is committed (or deliberately dropped: a redelivery, flood control);
        503 while shutting down or over the channel cap, so Telegram delivers it again later.
        """
        from bot.kernel import metrics

        if not self.app.accepting:
            return web.Response(status=503, text="shutting down", headers={"Retry-After": "5"})
        from bot.channels.zalo_common import Rejected, read_body, secret_matches

        if not secret_matches(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.app.settings.telegram_webhook_secret):
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, "secret").inc()
            log.warning("telegram webhook: bad secret from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            raw = await read_body(request)  # within HTTP_BODY_SECONDS; aborted uploads are a quiet 400
        except Rejected as r:
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, r.reason).inc()
            return web.Response(status=r.status, text=r.text)
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not 0 <= _int(data.get("update_id")):
                raise Forged("not an update")
            member = member_change(data)
            inbound = None if member is not None else to_inbound(data)
        except web.HTTPException:
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, "too_large").inc()
            raise  # e.g. 413 for a body over the size limit
        except Exception:  # malformed input is the sender's problem
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, "malformed").inc()
            return web.Response(status=400, text="bad update")
        try:
            if member is not None:
                await self.app.set_blocked(TELEGRAM, *member)
            elif inbound is not None:
                await self.app.submit(inbound)
        except Busy:
            return web.Response(status=503, text="busy", headers={"Retry-After": "1"})
        return web.Response(text="ok")

    # ---------------------------------------------------------- sending
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
            return SendResult(False, retry_after=_retry_seconds(err.retry_after), error="429 retry after")
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
        return str(result["message_id"])  # type: ignore[index,call-overload]

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

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, max_connections=40)


def _from_settings(host: "Host") -> TelegramChannel:
    if not host.settings.staff_chat_id:
        log.warning("STAFF_CHAT_ID is not set: new tickets wait for the local staff room (`ntm-bot chat --staff`)")
    return TelegramChannel(host)


CHANNELS.register(ChannelSpec(
    TELEGRAM, Caps(buttons=True, max_len=4000),  # 4096 minus room for HTML entities
    title="Telegram", configured=lambda s: bool(s.telegram_bot_token), factory=_from_settings, audience=True, broadcast_rate=lambda s: s.broadcast_telegram_rate))
