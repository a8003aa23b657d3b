# Over 400 lines: a fake Bot API: every method the bot calls, with its limits and faults.
"""A local fake of the Telegram Bot API, served over real HTTP on 127.0.0.1.

The real python-telegram-bot client talks to it through `TELEGRAM_API_BASE_URL`. It keeps what the bot
sent, feeds updates to `getUpdates` (long polling with offset confirmation, like Telegram), can inject
faults (429 with retry_after, 5xx, timeouts, 403 for blocked users) and counts rate-limit violations
(30 msg/s overall, 1 msg/s per private chat, 20 msg/min per group).
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from tests.fakes.recording import Recording
from tests.fakes.server import LocalServer

SEND_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "sendVideo",
                "sendVoice", "sendAudio", "sendSticker", "sendLocation"}
# ("429", retry_after) | ("500", 0) | ("timeout", seconds) | ("403", 0) |
# ("slow", seconds): the call succeeds (a message is delivered) but the answer comes too late for the client
Fault = tuple[str, float]


@dataclass
class Sent:
    method: str
    chat_id: str
    text: str
    params: dict[str, Any]
    message_id: int
    at: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def thread_id(self) -> int | None:
        t = self.params.get("message_thread_id")
        return int(t) if t not in (None, "") else None


class FakeTelegram(Recording, LocalServer):
    def __init__(self, token: str = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz", *, seed: int = 7):
        self.token = token
        self.bot_user = {"id": 123456, "is_bot": True, "first_name": "NTM Bot", "username": "ntm_test_bot",
                         "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[Sent] = []
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # updates with id < confirmed are deleted
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._thread_ids = itertools.count(100)
        self._new_update = asyncio.Event()
        self.topics: dict[int, dict[str, Any]] = {}
        self.blocked: set[str] = set()
        self.webhook: dict[str, Any] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.callback_answers: list[str] = []
        self.edits: list[tuple[str, int, str]] = []  # editMessageText: (chat_id, message_id, new text)
        # faults
        self.rng = random.Random(seed)
        self.fault_rate = 0.0
        self.fault_kinds: list[Fault] = [("429", 1.0), ("500", 0.0), ("timeout", 1.5)]
        self.fault_fn: Callable[[str, dict[str, Any]], Fault | None] | None = None
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self.slow_delivered: list[tuple[str, dict[str, Any]]] = []  # calls that succeeded after the client gave up
        self.forum_chats: set[str] | None = None  # None: every group is a forum; else only these chat ids
        self.closed_topics_reject = False  # True: sending into a closed topic fails (TOPIC_CLOSED), as for a bot
        # without the right to manage topics
        # rate limits (checked on successful sends)
        self.global_limit, self.chat_limit, self.group_limit = 30, 1, 20
        self.enforce_limits = False  # answer violations with 429 (like Telegram) instead of only counting
        self.violations: collections.Counter[str] = collections.Counter()
        self._global_times: collections.deque[float] = collections.deque()
        self._chat_times: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.delay = 0.0  # artificial latency per call
        self._waiters: list[asyncio.Event] = []
        self.on_send: Callable[[Sent], None] | None = None  # called for every message recorded (benchmarks)
        self._stopping = False
        self._released = asyncio.Event()

    # ------------------------------------------------------------------ server
    client_max_size = 50 * 1024 * 1024

    def setup(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        self._stopping = True
        self._new_update.set()  # release long polls
        self._released.set()  # and the answers held back by "slow" faults
        await LocalServer.stop(self)

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG fake")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        if self.delay:
            await asyncio.sleep(self.delay)
        fault = self._fault(method, params)
        if fault:
            kind, value = fault
            self.faults_injected[kind] += 1
            if kind == "429":
                return self._error(429, f"Too Many Requests: retry after {int(value)}", {"retry_after": int(value)})
            if kind == "500":
                return self._error(502, "Bad Gateway")
            if kind == "timeout":
                await asyncio.sleep(value)
                return self._error(504, "Gateway Timeout")
            if kind == "403":
                return self._error(403, "Forbidden: bot was blocked by the user")
        handler = getattr(self, f"m_{method}", None)
        if fault and fault[0] == "slow" and handler is not None:
            try:
                result = handler(params)
                if asyncio.iscoroutine(result):
                    result = await result
            except _ApiError as err:
                return self._error(err.code, err.description, err.parameters)
            self.slow_delivered.append((method, params))
            try:  # the answer comes late, or never (the fake stopping releases it)
                await asyncio.wait_for(self._released.wait(), fault[1])
            except asyncio.TimeoutError:
                pass
            return web.json_response({"ok": True, "result": result})
        if handler is None:
            return self._error(404, f"Not Found: method {method} not found")
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except _ApiError as err:
            return self._error(err.code, err.description, err.parameters)
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        out: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            for k, v in (await request.json()).items():
                # like a form field, a string value may hold a JSON-serialized object (PTB sends them so)
                try:
                    out[k] = json.loads(v) if isinstance(v, str) else v
                except ValueError:
                    out[k] = v
            return out
        if request.can_read_body:
            form = await request.post()
            for k, v in form.items():
                if hasattr(v, "file"):
                    content = v.file.read()
                    out[k] = {"filename": v.filename, "size": len(content), "content": content}
                    continue
                try:
                    out[k] = json.loads(v)  # PTB JSON-encodes every non-string value
                except (ValueError, TypeError):
                    out[k] = v
        return out

    def _error(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        if method in ("getUpdates", "getMe", "setMyCommands", "deleteWebhook", "setWebhook"):
            return None
        if self.fault_fn:
            f = self.fault_fn(method, params)
            if f:
                return f
        if self.fault_rate and self.rng.random() < self.fault_rate:
            return self.rng.choice(self.fault_kinds)
        return None

    # ------------------------------------------------------------------ rate accounting
    def _account(self, chat_id: str) -> None:
        now = time.monotonic()
        g = self._global_times
        g.append(now)
        while g and now - g[0] >= 1.0:
            g.popleft()
        if len(g) > self.global_limit:
            self.violations["global"] += 1
            if self.enforce_limits:
                g.pop()
                raise _ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        group = chat_id.startswith("-")
        window, limit = (60.0, self.group_limit) if group else (1.0, self.chat_limit)
        c = self._chat_times[chat_id]
        c.append(now)
        while c and now - c[0] >= window:
            c.popleft()
        if len(c) > limit:
            self.violations["group" if group else "chat"] += 1
            if self.enforce_limits:
                c.pop()
                raise _ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})

    def _record(self, method: str, params: dict[str, Any], text: str = "") -> dict[str, Any]:
        chat_id = str(params.get("chat_id"))
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if method in SEND_METHODS:
            self._account(chat_id)
        mid = next(self._message_ids)
        sent = Sent(method, chat_id, text, params, mid)
        self.sent.append(sent)
        if self.on_send is not None:
            self.on_send(sent)
        for w in self._waiters:
            w.set()
        return self._message(chat_id, mid, text, params)

    def _message(self, chat_id: str, mid: int, text: str, params: dict[str, Any]) -> dict[str, Any]:
        cid = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        msg: dict[str, Any] = {
            "message_id": mid,
            "date": int(time.time()),
            "chat": {"id": cid, "type": "supergroup" if str(chat_id).startswith("-") else "private"},
            "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
        }
        if text:
            msg["text"] = text
        if params.get("message_thread_id"):
            msg["message_thread_id"] = int(params["message_thread_id"])
            msg["is_topic_message"] = True
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        return msg

    # ------------------------------------------------------------------ Bot API methods
    def m_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def m_setMyCommands(self, p: dict[str, Any]) -> bool:
        scope = p.get("scope") or {"type": "default"}
        key = scope.get("type", "default") + (f":{scope['chat_id']}" if "chat_id" in scope else "")
        self.commands[key] = p.get("commands", [])
        return True

    def m_deleteWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    def m_setWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = p
        return True

    def m_getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    async def m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset") or 0)
        if offset:
            self.confirmed = max(self.confirmed, offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(p.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while not self.updates and time.monotonic() < deadline and not self._stopping:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=min(0.5, max(0.01, deadline - time.monotonic())))
            except asyncio.TimeoutError:
                pass
        limit = int(p.get("limit") or 100)
        return self.updates[:limit]

    def m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        text = str(p.get("text", ""))
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        if p.get("parse_mode") == "HTML":
            _check_html(text)
        self._check_thread(p)
        return self._record("sendMessage", p, text)

    def m_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:
        self._check_thread(p)
        msg = self._record("sendPhoto", p, str(p.get("caption") or ""))
        msg["photo"] = [{"file_id": str(p.get("photo")), "file_unique_id": "u", "width": 1, "height": 1}]
        return msg

    def m_sendDocument(self, p: dict[str, Any]) -> dict[str, Any]:
        self._check_thread(p)
        msg = self._record("sendDocument", p, str(p.get("caption") or ""))
        doc = p.get("document")
        msg["document"] = {"file_id": "doc" if isinstance(doc, dict) else str(doc), "file_unique_id": "d",
                           "file_name": doc.get("filename", "") if isinstance(doc, dict) else ""}
        return msg

    def m_sendMediaGroup(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        self._check_thread(p)
        media = p.get("media") or []
        return [self._record("sendMediaGroup", dict(p, item=m), "") for m in media]

    def m_sendSticker(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._record("sendSticker", p, "")

    def m_sendLocation(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._record("sendLocation", p, "")

    def m_sendVoice(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._record("sendVoice", p, "")

    def m_sendVideo(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._record("sendVideo", p, "")

    def m_copyMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._record("copyMessage", p, "")
        return {"message_id": msg["message_id"]}

    def m_sendChatAction(self, p: dict[str, Any]) -> bool:
        return True

    def m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        self.callback_answers.append(str(p.get("callback_query_id")))
        return True

    def m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        self.edits.append((str(p.get("chat_id")), int(p.get("message_id", 0)), str(p.get("text", ""))))
        return self._message(str(p.get("chat_id")), int(p.get("message_id", 0)), str(p.get("text", "")), p)

    def m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._message(str(p.get("chat_id")), int(p.get("message_id", 0)), "", p)

    def m_createForumTopic(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.forum_chats is not None and str(p.get("chat_id")) not in self.forum_chats:
            raise _ApiError(400, "Bad Request: the chat is not a forum")
        name = str(p.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise _ApiError(400, "Bad Request: invalid forum topic name specified")
        tid = next(self._thread_ids)
        topic = {"message_thread_id": tid, "name": str(p.get("name")), "icon_color": int(p.get("icon_color") or 0x6FB9F0),
                 "chat_id": str(p.get("chat_id")), "closed": False, "at": time.monotonic()}
        self.topics[tid] = topic
        self.calls.append(("_topic_created", topic))
        return {k: topic[k] for k in ("message_thread_id", "name", "icon_color")}

    def m_editForumTopic(self, p: dict[str, Any]) -> bool:
        topic = self._topic(p)
        if p.get("name") is not None and str(p.get("name")) == topic["name"]:
            raise _ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic["name"] = str(p.get("name"))
        return True

    def m_closeForumTopic(self, p: dict[str, Any]) -> bool:
        self._topic(p)["closed"] = True
        return True

    def m_reopenForumTopic(self, p: dict[str, Any]) -> bool:
        self._topic(p)["closed"] = False
        return True

    def m_getFile(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"file_id": p.get("file_id"), "file_unique_id": "f", "file_size": 10, "file_path": "photos/x.jpg"}

    def _topic(self, p: dict[str, Any]) -> dict[str, Any]:
        tid = int(p.get("message_thread_id") or 0)
        if tid not in self.topics:
            raise _ApiError(400, "Bad Request: message thread not found")
        return self.topics[tid]

    def _check_thread(self, p: dict[str, Any]) -> None:
        tid = p.get("message_thread_id")
        if tid not in (None, "") and int(tid) not in self.topics:
            raise _ApiError(400, "Bad Request: message thread not found")
        if tid not in (None, "") and self.topics[int(tid)]["closed"] and self.closed_topics_reject:
            raise _ApiError(400, "Bad Request: TOPIC_CLOSED")

    def delete_topic(self, thread_id: int) -> None:
        """An officer deletes a forum topic in the Telegram app."""
        self.topics.pop(int(thread_id), None)

    # ------------------------------------------------------------------ the user side (tests drive these)
    def _user(self, user_id: int, name: str, username: str | None) -> dict[str, Any]:
        u: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
        if username:
            u["username"] = username
        return u

    def make_message(self, chat_id: int, text: str = "", *, user_id: int | None = None, name: str = "Nông Dân",
                     username: str | None = None, reply_to: int | None = None, thread_id: int | None = None,
                     photo: str | None = None, document: str | None = None,
                     reply_photo: str | None = None) -> dict[str, Any]:
        user_id = user_id if user_id is not None else chat_id
        mid = next(self._message_ids)
        msg: dict[str, Any] = {
            "message_id": mid,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup",
                     **({"is_forum": True} if chat_id < 0 else {})},
            "from": self._user(user_id, name, username),
        }
        if text:
            msg["caption" if (photo or document) else "text"] = text
            if text.startswith("/"):
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if photo:
            msg["photo"] = [{"file_id": photo, "file_unique_id": photo + "u", "width": 90, "height": 90}]
        if document:
            msg["document"] = {"file_id": document, "file_unique_id": document + "u", "file_name": "bao-cao.pdf",
                               "mime_type": "application/pdf"}
        if reply_to is not None:
            msg["reply_to_message"] = {"message_id": reply_to, "date": int(time.time()),
                                       "chat": msg["chat"], "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name")}}
            if reply_photo:
                msg["reply_to_message"]["photo"] = [{"file_id": reply_photo, "file_unique_id": reply_photo + "u",
                                                     "width": 90, "height": 90}]
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        return {"update_id": next(self._update_ids), "message": msg}

    def make_callback(self, chat_id: int, data: str, *, user_id: int | None = None, message_id: int = 1,
                      thread_id: int | None = None, name: str = "Nông Dân") -> dict[str, Any]:
        user_id = user_id if user_id is not None else chat_id
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                                   "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name")}, "text": "…"}
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return {"update_id": next(self._update_ids),
                "callback_query": {"id": f"cb{next(self._message_ids)}", "from": self._user(user_id, name, None),
                                   "chat_instance": "ci", "data": data, "message": message}}

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (polling mode)."""
        self.updates.append(update)
        self._new_update.set()
        return update

    # ------------------------------------------------------------------ assertions
    def to(self, chat_id: int | str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]

    async def wait_text(self, chat_id: int | str, needle: str, timeout: float = 10.0) -> Sent:
        hits = await self.wait_for(lambda s: s.chat_id == str(chat_id) and needle.lower() in s.text.lower(), timeout)
        return hits[0]


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        self.code, self.description, self.parameters = code, description, parameters
        super().__init__(description)


_ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "strong", "em", "ins", "strike", "del", "tg-spoiler",
                 "blockquote", "span"}


def _check_html(text: str) -> None:
    """Reject what Telegram rejects: unknown tags, unbalanced tags, a bare '<' or '&'."""
    import re

    stack: list[str] = []
    for m in re.finditer(r"<(/?)([a-zA-Z-]*)[^>]*>|<|&(?!(?:lt|gt|amp|quot|#\d+);)", text):
        token = m.group(0)
        if token in ("<", "&") or not m.group(2):
            raise _ApiError(400, "Bad Request: can't parse entities: unsupported start tag or bare character")
        tag = m.group(2).lower()
        if tag not in _ALLOWED_TAGS:
            raise _ApiError(400, f"Bad Request: can't parse entities: unsupported start tag \"{tag}\"")
        if m.group(1):
            if not stack or stack.pop() != tag:
                raise _ApiError(400, "Bad Request: can't parse entities: unmatched end tag")
        else:
            stack.append(tag)
    if stack:
        raise _ApiError(400, "Bad Request: can't parse entities: can't find end tag")
