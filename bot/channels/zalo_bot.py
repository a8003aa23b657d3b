"""Zalo Bot Platform (bot.zaloplatforms.com): `POST {base}/bot<TOKEN>/<method>` with JSON, on the app's aiohttp session.

No SDK: the PyPI wrappers are not fit for production (see docs/zalo.md). Replies are `{ok, result}` or
`{ok: false, error_code, description}`. The token sits in the URL path, so it never goes into a log line or
a stored error: only `ZaloBotClient` builds URLs, and every error text is redacted.

Receiving: the webhook `POST /zalo/webhook` (secret header checked in constant time; body wrapped `{ok, result}`
or flat; each event stored once, keyed on event_name + message_id, before Zalo gets its 200), or long polling
with `getUpdates` (one update per call; `ok:false` with 408 = nothing new) for development.
Events: text, image (`photo_url`, legacy `photo`), sticker, voice (`voice_url`, an .aac kept by reference: the
bot cannot listen, officers can), protected users (`unsupported`); a message kind not known yet is answered as
unreadable rather than ignored (counted in ntm_zalo_events_total).
Sending: plain text in parts of at most 2000 characters (the core splits), photos by URL (`sendPhoto`).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import unicodedata
from typing import TYPE_CHECKING, Any, Callable

import aiohttp
from aiohttp import web

from bot.channels import zalo_texts as texts_zalo
from bot.channels.zalo_common import (
    Rejected,
    ThrottledAlert,
    load_json,
    rate_limits,
    read_body,
    redact,
    secret_matches,
    serve_webhook,
)
from bot.kernel import metrics
from bot.kernel.channel import (
    CHANNELS,
    Caps,
    ChannelAdapter,
    ChannelSpec,
    SendResult,
    cancel_quietly,
    caps_of,
    split_text,
    strip_markup,
)
from bot.kernel.messages import ZALO, Attachment, Inbound
from bot.kernel.outbox import Limit

if TYPE_CHECKING:
    from bot.kernel.channel import Host

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
SECRET_HEADER = "X-Bot-Api-Secret-Token"
EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_UNSUPPORTED = "message.unsupported.received"
EVENT_VOICE = "message.voice.received"  # live captures: `voice_url` (.aac), message_type "CHAT_VOICE" (zalo.md §7)
NO_UPDATE = 408  # getUpdates: nothing arrived within the timeout
PERMANENT_CODES = {400, 404}  # bad request / not found: sending again will not help
# 403 is documented by Zalo as "internal server error" (sic): transient, like 408 and 5xx.


class ZaloBotError(Exception):
    def __init__(self, code: int | None, description: str, retry_after: float | None = None):
        self.code, self.description, self.retry_after = code, description, retry_after
        super().__init__(f"{code}: {description}" if code is not None else description)


class ZaloBotClient:
    """The Bot API over one shared aiohttp session. Errors come back as `ZaloBotError`, already redacted."""

    def __init__(self, session: Callable[[], aiohttp.ClientSession], base_url: str, token: str, timeout: float = 10.0):
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def redact(self, text: str) -> str:
        return redact(text, self.token)

    async def call(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        url = f"{self.base_url}/bot{self.token}/{method}"
        try:
            async with self._session().post(
                url, json=params or {}, timeout=aiohttp.ClientTimeout(total=timeout or self.timeout)
            ) as resp:
                status, raw = resp.status, await resp.read()
        except asyncio.TimeoutError:
            raise ZaloBotError(None, f"{method}: timeout") from None
        except aiohttp.ClientError as err:
            raise ZaloBotError(None, f"{method}: {type(err).__name__}: {self.redact(str(err))}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ZaloBotError(status if status >= 400 else None, f"{method}: HTTP {status}, not a Bot API answer")
        if data.get("ok") is True:
            return data.get("result")
        try:
            code: int | None = int(data.get("error_code"))  # type: ignore[arg-type]  # None or a non-number raises, handled below
        except (TypeError, ValueError):
            code = status if status >= 400 else None
        params_ = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        retry = params_.get("retry_after")
        description = self.redact(str(data.get("description") or f"HTTP {status}"))[:300]
        raise ZaloBotError(code, f"{method}: {description}", float(retry) if isinstance(retry, (int, float)) else None)


# ---------------------------------------------------------------- inbound
def unwrap(body: Any) -> dict[str, Any]:
    """The documented body is `{ok, result: {event_name, message}}`; live deliveries are often flat."""
    if not isinstance(body, dict):
        raise ValueError("not an object")
    if "event_name" not in body and isinstance(body.get("result"), dict):
        body = body["result"]
    return body


def to_inbound(update: dict[str, Any]) -> Inbound | None:
    """The channel-neutral view of one Zalo Bot update; None for events we acknowledge but do not act on.
    Raises ValueError for something that is not an update."""
    event = update.get("event_name")
    msg = update.get("message")
    if not isinstance(event, str) or not event or not isinstance(msg, dict):
        raise ValueError("not a Zalo Bot update")
    chat = msg.get("chat") if isinstance(msg.get("chat"), dict) else {}
    sender = msg.get("from") if isinstance(msg.get("from"), dict) else {}
    chat_id = _ident(chat.get("id")) or _ident(sender.get("id"))
    if not chat_id:
        raise ValueError("no chat id")
    if sender.get("is_bot") is True:
        return None
    message_id = _ident(msg.get("message_id"))
    if message_id:
        key = f"{event}:{message_id}"
    else:  # undocumented, but never let two different events collapse into one
        key = f"{event}:h{hashlib.sha256(json.dumps(update, sort_keys=True, default=str).encode()).hexdigest()[:40]}"
    base: dict[str, Any] = {
        "channel": ZALO,
        "chat_id": chat_id,
        "user_id": _ident(sender.get("id")) or chat_id,
        "display_name": _text(sender.get("display_name")) or _text(sender.get("first_name")),
        "chat_type": "group" if str(chat.get("chat_type") or "").upper() == "GROUP" else "private",
        "message_id": message_id or None,
        "event_key": key[:128],
    }
    if event == EVENT_TEXT:
        return Inbound(**base, text=_text(msg.get("text")))
    if event == EVENT_IMAGE:
        url = msg.get("photo_url") or msg.get("photo")  # live field first, documented one as fallback
        attachments = (Attachment("photo", str(url)),) if url else ()
        return Inbound(**base, text=_text(msg.get("caption")), attachments=attachments)
    if event == EVENT_STICKER:
        ref = msg.get("sticker") or msg.get("url") or ""
        return Inbound(**base, attachments=(Attachment("sticker", str(ref)),) if ref else ())
    if event == EVENT_VOICE:  # kept by reference like a photo; the bot cannot listen, officers can
        url = _url(msg.get("voice_url")) or _url(msg.get("url")) or _url(msg.get("voice"))
        mime = "audio/aac" if url.split("?", 1)[0].lower().endswith(".aac") else ""
        return Inbound(**base, text=_text(msg.get("caption")), attachments=(Attachment("voice", url, mime=mime),) if url else ())
    if event == EVENT_UNSUPPORTED:  # protected users: Zalo withholds the content
        return Inbound(**base, unsupported=True)
    if event.startswith("message.") and event.endswith(".received"):
        # A kind of message we do not know yet (Zalo adds them: voice came late): the citizen still gets a polite
        # answer (an empty message: "gõ bằng chữ giúp tôi"), never silence. Its content is not read or logged.
        log.info("zalo: unknown message event %s answered as unreadable", event[:64])
        metrics.ZALO_EVENTS.labels(ZALO, "unknown_message").inc()
        return Inbound(**base)
    log.info("zalo: ignoring event %s", event[:64])
    return None


def _url(value: Any) -> str:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2048 else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ident(value: Any) -> str:
    """An id as Zalo sends them: a string (or a number) of at most 64 visible characters; anything else (an
    object, a list, true) is no id at all."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value) if -(10**20) < value < 10**20 else ""
    if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable() and not any(c.isspace() for c in value):
        return value
    return ""


# ---------------------------------------------------------------- the adapter
class ZaloBotChannel(ChannelAdapter):
    name = ZALO

    def __init__(self, app: "Host"):
        s = app.settings
        self.app = app
        self.settings = s
        self.client = ZaloBotClient(lambda: app.http, s.zalo_bot_api_base_url, s.zalo_bot_token, s.zalo_bot_read_timeout)
        self.max_len = caps_of(ZALO).max_len
        self.alert = ThrottledAlert(log)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def redact(self, text: str) -> str:
        return self.client.redact(text)

    # ---------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._task = self.app.spawn("zalo-bot", self._run)

    async def stop(self) -> None:
        self._stopping = True
        await cancel_quietly(self._task)

    async def _run(self) -> None:
        await self.check_setup()
        if self.settings.zalo_bot_effective_mode == "polling":
            await self.poll()

    async def check_setup(self) -> None:
        """Say in the log who we are and whether Zalo delivers to the mode we run in (never blocks start)."""
        try:
            me = await self.client.call("getMe")
            log.info("Zalo bot: %s", (me or {}).get("account_name", "?") if isinstance(me, dict) else "?")
            info = await self.client.call("getWebhookInfo")
        except ZaloBotError as err:
            self._log_error(err, "getMe/getWebhookInfo")
            return
        url = (info or {}).get("url", "") if isinstance(info, dict) else ""
        mode = self.settings.zalo_bot_effective_mode
        if mode == "polling" and url:
            log.error("Zalo: a webhook is registered (%s), so getUpdates receives nothing. On a development machine "
                      "use a separate bot and run `ntm-bot zalo delete-webhook`; never poll with the production token.",
                      url)
        elif mode == "webhook" and url != self.settings.zalo_bot_webhook_url:
            log.warning("Zalo: the registered webhook is %r, not ZALO_BOT_WEBHOOK_URL; run `ntm-bot zalo set-webhook`",
                        url)

    # ---------------------------------------------------------- receiving
    async def poll(self) -> None:
        """Long polling: one update per getUpdates call, stored before the next call."""
        timeout = max(1, int(self.settings.zalo_bot_poll_timeout))
        delay = 1.0
        while not self._stopping:
            try:
                result = await self.client.call("getUpdates", {"timeout": str(timeout)}, timeout=timeout + 10)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except ZaloBotError as err:
                if err.code == NO_UPDATE:
                    continue
                self._log_error(err, "getUpdates")
                if err.code == 401:
                    wait = self.settings.zalo_bot_unauthorized_pause
                elif err.code == 429:
                    wait = err.retry_after or self.settings.zalo_bot_retry_after
                else:
                    wait, delay = delay, min(delay * 2, 30.0)
                await asyncio.sleep(wait)
                continue
            for update in result if isinstance(result, list) else [result]:
                if isinstance(update, dict):
                    await self.accept(update)

    async def accept(self, update: dict[str, Any]) -> None:
        """Store one polled update; the database being down delays it, never drops it (it was already taken
        from Zalo, which has no acknowledgement)."""
        try:
            inbound = to_inbound(unwrap(update))
        except ValueError:
            log.warning("zalo: getUpdates returned something that is not an update; skipped")
            return
        if inbound is None:
            return
        delay = 0.5
        while True:
            try:
                await self.app.submit(inbound)
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # keep it until the database is back
                log.exception("zalo: storing update %s failed; retrying in %.1fs", inbound.event_key, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/zalo/webhook", self.webhook)]

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /zalo/webhook: check the secret, store the event once, answer at once (zalo_common.serve_webhook:
        503 while stopping or over the cap, 4xx counted by reason)."""
        return await serve_webhook(request, self.app, ZALO, self._webhook)

    async def _webhook(self, request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER, ""), self.settings.zalo_bot_webhook_secret):
            raise Rejected(403, "secret", "forbidden")
        raw = await read_body(request, MAX_BODY)
        try:
            inbound = to_inbound(unwrap(load_json(raw)))
        except ValueError:
            raise Rejected(400, "malformed", "bad update") from None
        if inbound is not None:
            await self.app.submit(inbound)
        return web.json_response({"ok": True})

    # ---------------------------------------------------------- sending
    def limits(self, msg: dict[str, Any]) -> list[Limit]:
        s = self.settings
        return rate_limits("zalo", msg["chat_id"], s.zalo_bot_chat_burst, s.zalo_bot_chat_rate, s.zalo_bot_rate)

    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        if payload.get("kind") == "callback_answer":
            return SendResult(True)  # no buttons on Zalo: nothing to acknowledge
        op = (payload.get("extra") or {}).get("op")
        if op:
            return SendResult(False, permanent=True, error=f"Zalo Bot không hỗ trợ thao tác {op}")
        text = strip_markup(unicodedata.normalize("NFC", payload.get("text") or "")).strip()
        photos = []
        for a in payload.get("attachments") or []:
            ref = str(a.get("ref") or "")
            if a.get("kind") == "photo" and ref.startswith(("https://", "http://")):
                photos.append(ref)
            else:  # Zalo takes photos by public URL only; platform file ids from other channels cannot go
                log.warning("zalo: attachment %s not sendable on Zalo (only photo URLs); sending the text only", a.get("kind"))
        first_id: str | None = None
        try:
            for i, url in enumerate(photos):
                params: dict[str, Any] = {"chat_id": chat_id, "photo": url}
                if i == 0 and text and len(text) <= self.max_len:
                    params["caption"], text = text, ""
                first_id = first_id or _message_id(await self.client.call("sendPhoto", params))
            for part in split_text(text, self.max_len):  # the core already split; this only guards
                first_id = first_id or _message_id(await self.client.call("sendMessage", {"chat_id": chat_id, "text": part}))
        except ZaloBotError as err:
            return self._failure(err)
        return SendResult(True, message_id=first_id)

    def _failure(self, err: ZaloBotError) -> SendResult:
        code, error = err.code, str(err)[:500]
        if code == 429:
            return SendResult(False, retry_after=err.retry_after or self.settings.zalo_bot_retry_after, error=error)
        if code == 401:
            self._log_error(err, "send")
            return SendResult(False, retry_after=self.settings.zalo_bot_unauthorized_pause, error=error)
        if code in PERMANENT_CODES:
            return SendResult(False, permanent=True, error=texts_zalo.REASON_PERMANENT.format(detail=error))
        if code not in (None, 403, 408) and not 500 <= code < 600:
            log.warning("zalo: unexpected error %s; will retry", error)
        return SendResult(False, error=error)

    def _log_error(self, err: ZaloBotError, what: str) -> None:
        if err.code == 401:
            self.alert("401", "Zalo rejected ZALO_BOT_TOKEN (401 Unauthorized) on %s: the token was reset or is wrong. "
                       "Messages stay queued; put the new token from Zalo Bot Creator in ZALO_BOT_TOKEN and restart.", what)
        else:
            log.warning("zalo %s failed: %s", what, err)

    # ---------------------------------------------------------- operator commands
    async def set_webhook(self, url: str, secret: str) -> Any:
        return await self.client.call("setWebhook", {"url": url, "secret_token": secret})

    async def delete_webhook(self) -> Any:
        return await self.client.call("deleteWebhook")

    async def webhook_info(self) -> Any:
        return await self.client.call("getWebhookInfo")


def _message_id(result: Any) -> str | None:
    if isinstance(result, dict) and result.get("message_id") is not None:
        return str(result["message_id"])
    return None


CHANNELS.register(ChannelSpec(
    ZALO, Caps(buttons=False, max_len=2000, markup=False), title="Zalo", configured=lambda s: bool(s.zalo_bot_token), factory=ZaloBotChannel,
    audience=True,
    broadcast_rate=lambda s: s.zalo_broadcast_rate))
