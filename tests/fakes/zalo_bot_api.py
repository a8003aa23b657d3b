"""A local fake of the Zalo Bot Platform API over real HTTP on 127.0.0.1, written from
/work/shared/reference/zalo.md §1 (bot.zaloplatforms.com docs as copied in [BOTDOC-B], OpenClaw's live client).

- `POST|GET /bot<TOKEN>/<method>`, params as JSON, form or query; answers `{ok: true, result}` or
  `{ok: false, error_code, description}` (HTTP status = error_code, like the live API's 4xx; our client reads
  the JSON either way).
- getMe, getUpdates (ONE update per call, not a list; `ok:false` 408 when nothing arrives within `timeout`;
  refused while a webhook is set — the docs say the two are exclusive, the exact error is not documented),
  setWebhook (HTTPS url, secret_token 8–256), deleteWebhook, getWebhookInfo, sendMessage (text 1–2000
  characters), sendPhoto (photo URL, caption ≤ 2000), sendSticker, sendChatAction (result is just `ok`).
- Fault injection (`fault_fn(method, params)` -> ("429"|"401"|"403"|"500"|"timeout", seconds)).
- The user side: build events (`text`, `image`, `sticker`, `voice`, `unsupported`), `push` them for polling or
  `post_webhook` them to our server, with or without the secret header. Bodies are FLAT (`{event_name, message}`)
  as live captures show (zalo.md §7); `wrap=True` sends the `{ok, result}` form a docs copy shows. Shapes from
  live captures: `date` a 13-digit ms epoch, ids 20-hex-char strings, images `photo_url` + `caption` with
  `message_type: "CHAT_PHOTO"`, voice notes `voice_url` (.aac) with `message_type: "CHAT_VOICE"`.
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import json
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from tests.fakes.recording import Recording, post_status
from tests.fakes.server import LocalServer

MAX_TEXT = 2000
Fault = tuple[str, float]


@dataclass
class Sent:
    method: str
    chat_id: str
    text: str
    params: dict[str, Any]
    message_id: str
    at: float = field(default_factory=time.monotonic)


class ApiError(Exception):
    def __init__(self, code: int, description: str):
        self.code, self.description = code, description
        super().__init__(description)


class FakeZaloBot(Recording, LocalServer):
    LABEL = "Zalo message"

    def __init__(self, token: str = "8123456789012345678:zAlOsEcReT-abcdefghijKLMNOP_0123456789"):
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.me = {"id": self.bot_id, "account_name": "Bot NTM An Giang", "account_type": "BASIC", "can_join_groups": False}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[Sent] = []
        self.updates: collections.deque[dict[str, Any]] = collections.deque()
        self.webhook: dict[str, Any] = {"url": "", "updated_at": 0}
        self.fault_fn: Callable[[str, dict[str, Any]], Fault | None] | None = None
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self.rejected: list[tuple[str, int, str]] = []  # (method, code, description) of refused calls
        self.bad_token_calls = 0
        self._ids = itertools.count(1)
        self._new = asyncio.Event()
        self._waiters: list[asyncio.Event] = []
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.port = 0

    # ------------------------------------------------------------------ server
    client_max_size = 10 * 1024 * 1024

    def setup(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    async def stop(self) -> None:
        self._stopping = True
        self._new.set()
        await LocalServer.stop(self)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        if request.match_info["token"] != self.token:
            self.bad_token_calls += 1
            return self._error(401, "Unauthorized")
        self.calls.append((method, params))
        fault = self.fault_fn(method, params) if self.fault_fn else None
        if fault:
            kind, value = fault
            self.faults_injected[kind] += 1
            if kind == "timeout":
                await asyncio.sleep(value)
                return self._error(408, "Request timeout")
            descriptions = {"429": "Quota exceeded", "401": "Unauthorized", "403": "Internal server error",
                            "500": "Internal Server Error", "400": "Bad request", "404": "Not found"}
            return self._error(int(kind), descriptions.get(kind, "error"))
        handler = getattr(self, f"m_{method}", None)  # method names are case-sensitive
        if handler is None:
            return self._error(400, "Invalid API name")
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as err:
            self.rejected.append((method, err.code, err.description))
            return self._error(err.code, err.description)
        if method == "sendChatAction":
            return web.json_response({"ok": True})
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        out: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.read()
            if body:
                out.update(json.loads(body))
        elif request.can_read_body:
            out.update(dict(await request.post()))
        return out

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)

    # ------------------------------------------------------------------ methods
    def m_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.me

    async def m_getUpdates(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.webhook.get("url"):
            raise ApiError(400, "Webhook is active; getUpdates is not available")
        timeout = float(p.get("timeout") or 30)
        deadline = time.monotonic() + timeout
        while not self.updates and not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ApiError(408, "Request timeout")
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), timeout=min(0.5, remaining))
            except asyncio.TimeoutError:
                pass
        if not self.updates:
            raise ApiError(408, "Request timeout")
        return self.updates.popleft()  # one update, taken for good (no offset/ack on this API)

    def m_setWebhook(self, p: dict[str, Any]) -> dict[str, Any]:
        url, secret = str(p.get("url") or ""), str(p.get("secret_token") or "")
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise ApiError(400, "url must be HTTPS")
        if not 8 <= len(secret) <= 256:
            raise ApiError(400, "secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": int(time.time() * 1000)}
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    def m_deleteWebhook(self, p: dict[str, Any]) -> dict[str, Any]:
        self.webhook = {"url": "", "updated_at": int(time.time() * 1000)}
        return {"url": "", "updated_at": self.webhook["updated_at"]}

    def m_getWebhookInfo(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url", ""), "updated_at": self.webhook.get("updated_at", 0)}

    def _check_text(self, text: str, what: str) -> None:
        n = len(unicodedata.normalize("NFC", text))
        if not 1 <= n <= MAX_TEXT:
            raise ApiError(400, f"{what} must be 1-{MAX_TEXT} characters (got {n})")

    def m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        text = str(p.get("text") or "")
        self._check_text(text, "text")
        return self._record("sendMessage", p, text)

    def m_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:
        photo = str(p.get("photo") or "")
        if not photo.startswith(("https://", "http://")):
            raise ApiError(400, "photo must be an image URL")
        caption = p.get("caption")
        if caption is not None:
            self._check_text(str(caption), "caption")
        return self._record("sendPhoto", p, str(caption or ""))

    def m_sendSticker(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("sticker"):
            raise ApiError(400, "sticker is required")
        return self._record("sendSticker", p, "")

    def m_sendChatAction(self, p: dict[str, Any]) -> bool:
        if p.get("action") != "typing":
            raise ApiError(400, "unsupported action")
        self._chat(p)
        return True

    def _chat(self, p: dict[str, Any]) -> str:
        chat_id = str(p.get("chat_id") or "")
        if not chat_id:
            raise ApiError(400, "chat_id is required")
        return chat_id

    def _record(self, method: str, p: dict[str, Any], text: str) -> dict[str, Any]:
        chat_id = self._chat(p)
        mid = secrets.token_hex(16)
        self.sent.append(Sent(method, chat_id, text, p, mid))
        for w in self._waiters:
            w.set()
        return {"message_id": mid, "date": int(time.time() * 1000)}

    # ------------------------------------------------------------------ the user side
    def event(self, event_name: str, chat_id: str, *, user_id: str | None = None, name: str = "Nông Dân",
              chat_type: str = "PRIVATE", **fields: Any) -> dict[str, Any]:
        """A webhook/getUpdates update: `{event_name, message}` (flat)."""
        message: dict[str, Any] = {
            "from": {"id": user_id or chat_id, "display_name": name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "message_id": secrets.token_hex(16),
            "date": int(time.time() * 1000),
        }
        message.update(fields)
        return {"event_name": event_name, "message": message}

    def text(self, chat_id: str, text: str, **kw: Any) -> dict[str, Any]:
        return self.event("message.text.received", chat_id, text=text, **kw)

    def image(self, chat_id: str, url: str, caption: str = "", *, legacy: bool = False, **kw: Any) -> dict[str, Any]:
        """`photo_url` is what the live API sends; `legacy=True` uses the documented `photo` field."""
        fields: dict[str, Any] = {"photo" if legacy else "photo_url": url, "message_type": "CHAT_PHOTO"}
        if caption:
            fields["caption"] = caption
        return self.event("message.image.received", chat_id, **fields, **kw)

    def sticker(self, chat_id: str, sticker: str = "bfe458bf64fa8da4d4eb", **kw: Any) -> dict[str, Any]:
        return self.event("message.sticker.received", chat_id, sticker=sticker,
                          url=f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker}", **kw)

    def voice(self, chat_id: str, url: str | None = None, **kw: Any) -> dict[str, Any]:
        """A voice note, as a live capture shows it: `voice_url` to an .aac file on Zalo's CDN."""
        url = url or f"https://voice-aac-dl.zdn.vn/{secrets.token_hex(8)}/{secrets.token_hex(16)}.aac"
        return self.event("message.voice.received", chat_id, voice_url=url, message_type="CHAT_VOICE", **kw)

    def unsupported(self, chat_id: str, **kw: Any) -> dict[str, Any]:
        """A protected user (child, …): Zalo withholds the content."""
        return self.event("message.unsupported.received", chat_id, **kw)

    @staticmethod
    def wrapped(update: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "result": update}

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        self.updates.append(update)
        self._new.set()
        return update

    @staticmethod
    async def post_webhook(url: str, update: Any = None, *, secret: str | None = None, raw: bytes | None = None,
                           wrap: bool = False) -> int:
        """POST an update as Zalo does (flat; `wrap=True`: the documented `{ok, result}`); returns our HTTP status."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Bot-Api-Secret-Token"] = secret
        body = raw if raw is not None else json.dumps(FakeZaloBot.wrapped(update) if wrap else update).encode()
        return await post_status(url, body, headers)

    # ------------------------------------------------------------------ assertions
    def to(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]

    async def wait_text(self, chat_id: str, needle: str, timeout: float = 10.0) -> Sent:
        hits = await self.wait_for(lambda s: s.chat_id == str(chat_id) and needle.lower() in s.text.lower(), timeout)
        return hits[0]
