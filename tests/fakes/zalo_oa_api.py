"""A local fake of the Zalo Official Account API v3 and OAuth v4 over real HTTP on 127.0.0.1, written from
/work/shared/reference/zalo.md §2 (Zalo's SDKs [JSDK-*][PHPSDK-*], Chatwoot's integration [CW-*], [SPEC26]).

- `POST /v3.0/oa/message/cs` with header `access_token`: `{recipient: {user_id}, message: {text | attachment}}`.
  Every answer is HTTP 200; errors are in the body: `{error: <negative>, message}` (-216 invalid token,
  -220 expired token, -230 no interaction within 7 days, -213 not following, -201 bad parameter such as text
  over 2000 characters, -32 rate limit).
- `POST /v4/oa/access_token` (the OAuth host): form body `refresh_token, app_id, grant_type=refresh_token`,
  header `secret_key`. Refresh tokens are single-use and rotate: each refresh returns a new pair and kills the
  old refresh token. Returns `expires_in` as the string "90000". Refresh calls are COUNTED. The error shape
  (`error`, `error_name`, `error_description`) follows [CW-SEND]; the exact OAuth error numbers are not in the
  reference (any non-zero error is treated the same by the bot).
- Webhook events as Zalo sends them (`app_id`, `user_id_by_app`, `event_name`, `sender`, `recipient`,
  `message.msg_id`, `timestamp` a 13-digit millisecond STRING): text, image, location (coordinates as strings,
  the place's name in message.text), file, sticker, audio, link, anonymous, submit-info, receipts, follow
  (the shapes of zalo.md §7), and their signature `X-ZEvent-Signature: mac=sha256_hex(app_id + body + timestamp
  + OA secret key)` ([JSDK-MAC][CW-JOB]); `variant` picks the other readings (oa_id, app secret).
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from tests.fakes.recording import Recording, post_status
from tests.fakes.server import LocalServer

MAX_TEXT = 2000
ERROR_MESSAGES = {  # what the API says with these codes (zalo.md §2.8, §7)
    -32: "Request exceeds the rate limit", -200: "Send message failed", -210: "Parameter exceeds the limit",
    -211: "Out of quota", -244: "User has been restricted", -248: "Message violates platform standards",
}
Fault = tuple[str, float]


@dataclass
class Sent:
    user_id: str
    text: str
    body: dict[str, Any]
    message_id: str
    access_token: str
    at: float = field(default_factory=time.monotonic)

    @property
    def image_url(self) -> str | None:
        att = (self.body.get("message") or {}).get("attachment") or {}
        elements = (att.get("payload") or {}).get("elements") or [{}]
        return elements[0].get("url")


class FakeZaloOA(Recording, LocalServer):
    LABEL = "OA message"
    RECIPIENT = "user_id"

    def __init__(self, app_id: str | None = None, oa_id: str = "4318765432109876543"):
        # Ids are big numbers Zalo sends as strings; unique per fake (tests share a PostgreSQL database).
        self.app_id = app_id or "29" + "".join(secrets.choice("0123456789") for _ in range(17))
        self.oa_id = oa_id
        self.app_secret = "AppSecret-" + secrets.token_urlsafe(12)
        self.oa_secret_key = "OaSecretKey-" + secrets.token_urlsafe(12)
        self.valid_access: set[str] = set()
        self.expired_access: set[str] = set()
        self.refresh_token = ""  # the one refresh token that works now
        self.used_refresh_tokens: list[str] = []
        self.refresh_calls = 0  # every call to the OAuth endpoint
        self.refresh_ok = 0
        self.refresh_delay = 0.0
        self.cs_calls: list[tuple[str, dict[str, Any]]] = []  # (access_token, body) of every CS call
        self.sent: list[Sent] = []
        self.window_closed: set[str] = set()  # users who last interacted more than 7 days ago (-230)
        self.not_following: set[str] = set()  # -213
        # Content Zalo refuses for good: needle in the text -> error (-248 violates platform standards, -210 a
        # parameter over its limit). Checked like the platform does, on every send, before anything is delivered.
        self.refuse: dict[str, int] = {}
        self.fault_fn: Callable[[dict[str, Any]], Fault | None] | None = None
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self._ids = itertools.count(1)
        self._waiters: list[asyncio.Event] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ server
    client_max_size = 1024 * 1024  # aiohttp's default

    def setup(self, app: web.Application) -> None:
        app.router.add_post("/v3.0/oa/message/cs", self._cs)
        app.router.add_post("/v4/oa/access_token", self._oauth)

    @property
    def base_url(self) -> str:
        """Serves both the API host and the OAuth host."""
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await LocalServer.stop(self)

    def issue_tokens(self) -> tuple[str, str]:
        """A fresh pair, as the OAuth consent flow would hand it to the operator."""
        access, refresh = "AT-" + secrets.token_urlsafe(24), "RT-" + secrets.token_urlsafe(24)
        self.valid_access.add(access)
        self.refresh_token = refresh
        return access, refresh

    def expire(self, token: str) -> None:
        """The access token ran out (-220)."""
        self.valid_access.discard(token)
        self.expired_access.add(token)

    # ------------------------------------------------------------------ CS messages
    @staticmethod
    def _body(error: int, message: str, data: dict[str, Any] | None = None) -> web.Response:
        out: dict[str, Any] = {"error": error, "message": message}
        if data is not None:
            out["data"] = data
        return web.json_response(out, status=200)  # errors arrive with HTTP 200

    async def _cs(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("access_token", "")
        try:
            body = await request.json()
        except ValueError:
            return self._body(-201, "Invalid parameter: body is not JSON")
        self.cs_calls.append((token, body))
        fault = self.fault_fn(body) if self.fault_fn else None
        if fault:
            kind, value = fault
            self.faults_injected[kind] += 1
            if kind == "timeout":
                await asyncio.sleep(value)
            elif kind == "500":
                return web.Response(status=502, text="<html>Bad Gateway</html>")
            else:
                return self._body(int(kind), ERROR_MESSAGES.get(int(kind), "injected error"))
        if token in self.expired_access:
            return self._body(-220, "Access token has expired")
        if token not in self.valid_access:
            return self._body(-216, "Access token is invalid")
        user = str(((body.get("recipient") or {}).get("user_id")) or "")
        message = body.get("message") or {}
        if not user:
            return self._body(-201, "Invalid parameter: recipient.user_id")
        if user in self.not_following:
            return self._body(-213, "User has not followed OA")
        if user in self.window_closed:
            return self._body(-230, "User has not interacted with the OA in the past 7 days")
        text = message.get("text")
        att = message.get("attachment")
        if text is None and att is None:
            return self._body(-201, "Invalid parameter: message is empty")
        for needle, code in self.refuse.items():
            if needle in str(text or ""):
                return self._body(code, ERROR_MESSAGES.get(code, "refused"))
        if text is not None and not 1 <= len(str(text)) <= MAX_TEXT:
            return self._body(-201, f"Invalid parameter: text must be 1-{MAX_TEXT} characters")
        if att is not None:
            payload = att.get("payload") or {}
            elements = payload.get("elements") or []
            if att.get("type") != "template" or payload.get("template_type") != "media" or not elements \
                    or not (elements[0].get("url") or elements[0].get("attachment_id")):
                return self._body(-201, "Invalid parameter: attachment")
        mid = secrets.token_hex(16)
        self.sent.append(Sent(user, str(text or ""), body, mid, token))
        for w in self._waiters:
            w.set()
        return self._body(0, "Success", {"message_id": mid, "user_id": user})

    # ------------------------------------------------------------------ OAuth v4
    async def _oauth(self, request: web.Request) -> web.StreamResponse:
        self.refresh_calls += 1
        form = await request.post()
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if request.headers.get("secret_key") != self.app_secret:
            return web.json_response({"error": -14012, "error_name": "Invalid secret key",
                                      "error_description": "secret_key is invalid"})
        if form.get("app_id") != self.app_id:
            return web.json_response({"error": -14002, "error_name": "Invalid app id", "error_description": "app_id is invalid"})
        if form.get("grant_type") != "refresh_token":
            return web.json_response({"error": -14005, "error_name": "Invalid grant type", "error_description": "grant_type"})
        given = str(form.get("refresh_token") or "")
        if not given or given != self.refresh_token:
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                      "error_description": "Refresh token is invalid or already used"})
        self.used_refresh_tokens.append(given)
        access, refresh = self.issue_tokens()  # rotates: the old refresh token is dead now
        self.refresh_ok += 1
        return web.json_response({"access_token": access, "refresh_token": refresh, "expires_in": "90000"})

    # ------------------------------------------------------------------ webhook side
    def _event(self, event_name: str, user_id: str, message: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "app_id": self.app_id,
            "user_id_by_app": f"9{user_id[-12:]}",
            "event_name": event_name,
            "timestamp": str(int(time.time() * 1000) + next(self._ids) % 10),  # ms epoch, 13 digits, as Zalo
        }
        if message is not None:
            ev.update({"sender": {"id": user_id}, "recipient": {"id": self.oa_id}, "message": message})
        ev.update(extra)
        return ev

    def text_event(self, user_id: str, text: str, msg_id: str | None = None) -> dict[str, Any]:
        return self._event("user_send_text", user_id, {"text": text, "msg_id": msg_id or secrets.token_hex(16)})

    def image_event(self, user_id: str, url: str, caption: str = "") -> dict[str, Any]:
        msg: dict[str, Any] = {"msg_id": secrets.token_hex(16),
                               "attachments": [{"type": "image", "payload": {"url": url, "thumbnail": url}}]}
        if caption:
            msg["text"] = caption
        return self._event("user_send_image", user_id, msg)

    def _attachment_event(self, event_name: str, user_id: str, kind: str, payload: dict[str, Any],
                          text: str | None = None) -> dict[str, Any]:
        msg: dict[str, Any] = {"msg_id": secrets.token_hex(16), "attachments": [{"type": kind, "payload": payload}]}
        if text is not None:
            msg["text"] = text
        return self._event(event_name, user_id, msg)

    def location_event(self, user_id: str, latitude: str = "10.3759416", longitude: str = "105.4185406",
                       place: str = "Cơm Coffee New Sky") -> dict[str, Any]:
        """A shared location as live events carry it: coordinates as STRINGS, the place's name in message.text."""
        return self._attachment_event("user_send_location", user_id, "location",
                                      {"coordinates": {"latitude": latitude, "longitude": longitude}}, text=place)

    def file_event(self, user_id: str, url: str, name: str = "don-kien-nghi.pdf", size: int = 48213) -> dict[str, Any]:
        """payload {size (a string), name, checksum, type, url} (zalo.md §7)."""
        return self._attachment_event("user_send_file", user_id, "file", {
            "size": str(size), "name": name, "checksum": secrets.token_hex(16), "type": name.rsplit(".", 1)[-1],
            "url": url})

    def sticker_event(self, user_id: str, sticker_id: str = "bfe458bf64fa8da4d4eb") -> dict[str, Any]:
        return self._attachment_event("user_send_sticker", user_id, "sticker", {
            "id": sticker_id, "url": f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker_id}"})

    def audio_event(self, user_id: str, url: str | None = None) -> dict[str, Any]:
        return self._attachment_event("user_send_audio", user_id, "audio", {
            "url": url or f"https://voice-aac-dl.zdn.vn/{secrets.token_hex(8)}/{secrets.token_hex(16)}.aac"})

    def link_event(self, user_id: str, url: str, title: str = "", description: str = "") -> dict[str, Any]:
        return self._attachment_event("user_send_link", user_id, "link", {
            "url": url, "title": title, "description": description, "thumbnail": ""}, text=url)

    def anonymous_event(self, anonymous_id: str | None = None, text: str = "Cho tôi hỏi") -> dict[str, Any]:
        """Someone writing without sharing their identity: an anonymous id and a conversation id (Zalo's SDK
        answered them through the v2 API, now shut down)."""
        return self._event("anonymous_send_text", anonymous_id or secrets.token_hex(12),
                           {"text": text, "msg_id": secrets.token_hex(16), "conversation_id": secrets.token_hex(12)})

    def submit_info_event(self, user_id: str, name: str, phone: str, address: str = "") -> dict[str, Any]:
        """The answer to a request_user_info form (personal data)."""
        return self._event("user_submit_info", user_id, None, sender={"id": user_id}, recipient={"id": self.oa_id},
                           info={"name": name, "phone": phone, "address": address, "city": "An Giang",
                                 "district": "", "ward": ""})

    def receipt_event(self, user_id: str, seen: bool = False) -> dict[str, Any]:
        """Delivery/read receipts: here the SENDER is the OA."""
        ev = self._event("user_seen_message" if seen else "user_received_message", user_id,
                         {"msg_ids": [secrets.token_hex(16)]})
        ev["sender"], ev["recipient"] = {"id": self.oa_id}, {"id": user_id}
        return ev

    def follow_event(self, user_id: str, follow: bool = True) -> dict[str, Any]:
        return self._event("follow" if follow else "unfollow", user_id, None, oa_id=self.oa_id,
                           follower={"id": user_id}, source="oa_profile")

    def sign(self, raw: bytes, timestamp: str, variant: str = "app_id+oa_secret_key") -> str:
        id_name, secret_name = variant.split("+")
        ident = {"app_id": self.app_id, "oa_id": self.oa_id}[id_name]
        secret = {"oa_secret_key": self.oa_secret_key, "app_secret": self.app_secret}[secret_name]
        return "mac=" + hashlib.sha256(ident.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()

    async def post_webhook(self, url: str, event: dict[str, Any] | None = None, *, raw: bytes | None = None,
                           variant: str = "app_id+oa_secret_key", signature: str | None = None,
                           signed: bool = True) -> int:
        """POST an event as Zalo does (signed over the exact bytes sent); returns our server's HTTP status."""
        body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-ZEvent-Signature"] = signature
        elif signed:
            headers["X-ZEvent-Signature"] = self.sign(body, str((event or {}).get("timestamp", "")), variant)
        return await post_status(url, body, headers)

    # ------------------------------------------------------------------ assertions
    def to(self, user_id: str) -> list[Sent]:
        return [s for s in self.sent if s.user_id == str(user_id)]

    async def wait_text(self, user_id: str, needle: str, timeout: float = 10.0) -> Sent:
        hits = await self.wait_for(lambda s: s.user_id == str(user_id) and needle.lower() in s.text.lower(), timeout)
        return hits[0]
