# Over 400 lines: the Zalo OA client, token store and adapter; left whole while another branch edits it.
"""Zalo Official Account API v3: signed webhook in, consultation ("tư vấn") messages out, OAuth v4 tokens.

Receiving: `POST /zalo-oa/webhook`, header `X-ZEvent-Signature: mac=<hex>` with
mac = sha256_hex(ID + raw body + timestamp + SECRET) — plain SHA-256, not HMAC, over the bytes as received.
Sources disagree on ID (app id | OA id) and SECRET (OA secret key | app secret), so every configured
combination is tried in constant time and the one that matched is logged. Events are stored once (key:
`message.msg_id`; follow events: follower + timestamp) before Zalo gets its 200. IDs and timestamps stay strings.

Sending: `POST {base}/v3.0/oa/message/cs` with header `access_token`. Errors come with HTTP 200 and a non-zero
`error` in the body. An OA may answer only within 7 days of the citizen's last interaction (`chat.last_seen_at`);
later answers fail for good with a Vietnamese reason, which the officers see (the tickets feature tells them).

Tokens: access token ~25 h, refresh token single-use and rotating. One row per app (`zalo_oa_token`); a refresh
takes a lease on that row (atomic conditional UPDATE, so one refresher across processes and instances),
calls OAuth, and commits the new pair before anyone uses it. Refresh on -216/-220 and ahead of expiry.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import os
import re
import socket
import time
import unicodedata
import uuid
from typing import TYPE_CHECKING, Any, Callable

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from sqlmodel import Session, select

from bot.channels import zalo_texts as texts_zalo
from bot.channels.zalo_common import Rejected, ThrottledAlert, load_json, rate_limits, read_body, redact, serve_webhook
from bot.config import split_list
from bot.kernel import logs, metrics
from bot.kernel.channel import (
    CHANNELS,
    CHAT_UNREACHABLE,
    Caps,
    ChannelAdapter,
    ChannelSpec,
    SendResult,
    cancel_quietly,
    caps_of,
    split_text,
    strip_markup,
)
from bot.kernel.messages import ZALO_OA, Attachment, Inbound, clip
from bot.kernel.outbox import Limit
from bot.storage.models import Chat
from bot.storage.zalo import ZaloOAToken

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.kernel.channel import Host

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
SIGNATURE_HEADER = "X-ZEvent-Signature"
REFRESH_LEASE = dt.timedelta(seconds=60)
OAUTH_TIMEOUT = 20.0  # well inside the lease: nobody else may refresh while our call may still succeed
REFRESH_COOLDOWN = 30.0  # after a failed refresh, queued messages do not each call OAuth again
DEFAULT_EXPIRES_IN = 90000  # seconds (25 h), documented as the string "90000"
FREE_WINDOW = dt.timedelta(hours=48)
FUTURE_SKEW = 300.0  # seconds an event may be dated ahead of our clock

TOKEN_ERRORS = {-216, -220}  # access token invalid / expired: refresh and try again
OPERATOR_ERRORS = {  # configuration or billing: keep messages queued, tell the operator
    -209: "app not activated", -212: "app has not registered this API", -219: "app removed or disabled",
    -221: "OA must be verified", -223: "OA has not authorised this API", -224: "OA package upgrade needed",
    -240: "API version shut down", -242: "bad appsecret_proof", -320: "app not linked to a Zalo Cloud Account",
    -321: "Zalo Cloud Account out of money",
}
CONTENT_ERRORS = {  # the message itself is refused for good: sending it again cannot help
    -210: texts_zalo.REASON_OVER_LIMIT, -248: texts_zalo.REASON_VIOLATION,
}
QUOTA_ERRORS = {-32: 30.0, -211: None, -218: None}  # rate limit / out of quota: transient (seconds to pause)


# ---------------------------------------------------------------- signatures
def mac(ident: str, raw: bytes, timestamp: str, secret: str) -> str:
    return hashlib.sha256(ident.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


def signature_candidates(settings: "Settings", raw: bytes) -> list[tuple[str, str, str]]:
    """(variant name, id, secret) for every configured combination. The OA id, when not configured, is read from
    the raw bytes (`oa_id`, or the recipient's id): the body is only parsed once the MAC is verified."""
    ids = {"app_id": [settings.zalo_oa_app_id], "oa_id": [settings.zalo_oa_id] if settings.zalo_oa_id else
           _fields(raw, _OA_ID_RE)}
    secrets = {"oa_secret_key": settings.zalo_oa_secret_key, "app_secret": settings.zalo_oa_app_secret}
    out = []
    for id_name in split_list(settings.zalo_oa_mac_ids):
        for secret_name in split_list(settings.zalo_oa_mac_secrets):
            for ident in ids.get(id_name, []):
                secret = secrets.get(secret_name, "")
                if ident and secret:
                    out.append((f"{id_name}+{secret_name}", ident, secret))
    return out


# Fields the MAC needs, read from the raw bytes before anything is parsed: a few candidates at most (a forged
# body with many costs nothing but a few hashes; the parsed body must then agree with the one that matched).
_TIMESTAMP_RE = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')
_OA_ID_RE = re.compile(rb'"(?:oa_id|id)"\s*:\s*"?(\d{1,30})"?')
MAX_CANDIDATES = 4


def _fields(raw: bytes, pattern: "re.Pattern[bytes]") -> list[str]:
    out: list[str] = []
    for m in pattern.finditer(raw[:MAX_BODY]):
        value = m.group(1).decode()
        if value not in out:
            out.append(value)
        if len(out) >= MAX_CANDIDATES:
            break
    return out


def verify_signature(raw: bytes, header: str, timestamps: list[str] | str,
                     candidates: list[tuple[str, str, str]]) -> tuple[str, str] | None:
    """(variant, timestamp) whose MAC equals the header (every candidate compared, in constant time), or None."""
    given = header.strip()
    if given[:4].lower() == "mac=":
        given = given[4:]
    given_b = given.strip().lower().encode("utf-8", "replace")
    matched = None
    for timestamp in [timestamps] if isinstance(timestamps, str) else timestamps:
        for name, ident, secret in candidates:
            if hmac.compare_digest(mac(ident, raw, timestamp, secret).encode(), given_b) and matched is None:
                matched = (name, timestamp)
    return matched


def _is_id(v: str) -> bool:
    """Zalo user ids are strings of digits (kept as strings: they exceed 2**53)."""
    return 0 < len(v) <= 64 and v.isascii() and v.isdigit()


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ("" if v is None or isinstance(v, (dict, list)) else str(v))


# ---------------------------------------------------------------- inbound
ATTACHMENT_KINDS = {"image": "photo", "gif": "photo", "sticker": "sticker", "file": "document", "audio": "audio",
                    "video": "video", "voice": "voice"}


def parse_event(body: dict[str, Any]) -> tuple[str, Any] | None:
    """("inbound", Inbound) | ("unfollow", user id) | None for events we acknowledge and ignore.
    Raises ValueError for something that is not a usable event."""
    event = body.get("event_name")
    if not isinstance(event, str) or not event:
        raise ValueError("no event_name")
    timestamp = _str(body.get("timestamp"))
    if event in ("follow", "unfollow"):
        follower = _str((body.get("follower") or {}).get("id")) if isinstance(body.get("follower"), dict) else ""
        if not _is_id(follower):
            raise ValueError("no follower id")
        if event == "unfollow":
            return ("unfollow", follower)
        # Following counts as an interaction: greet with the menu (a stable key: redeliveries are ignored).
        return ("inbound", Inbound(ZALO_OA, follower, follower, text="/start", event_key=f"follow:{follower}:{timestamp}"[:128]))
    if event.startswith("anonymous_send_"):
        # Someone writing without sharing their Zalo identity. Zalo's SDK answers them through the v2 API
        # (anonymous_id + conversation_id), which is shut down (-240); the v3 CS message takes a user_id only, so
        # the bot cannot answer and does not pretend to: acknowledged, counted, nothing stored (docs/zalo.md).
        metrics.ZALO_EVENTS.labels(ZALO_OA, "anonymous_unanswered").inc()
        log.info("zalo oa: %s from an anonymous user; the OA API v3 cannot answer it (counted, not stored)", event[:64])
        return None
    if event == "user_submit_info":
        # The answer to a request_user_info form (name, phone, address): the bot never asks for one, and personal
        # data it did not ask for is neither stored nor logged.
        metrics.ZALO_EVENTS.labels(ZALO_OA, "submit_info_dropped").inc()
        log.info("zalo oa: user_submit_info received and dropped (the bot sends no information forms)")
        return None
    if not event.startswith("user_send_"):
        log.debug("zalo oa: ignoring event %s", event[:64])
        return None  # delivery/read receipts, OA echoes, follow-up events the bot does not act on
    sender = body.get("sender") if isinstance(body.get("sender"), dict) else {}
    msg = body.get("message") if isinstance(body.get("message"), dict) else None
    user = _str(sender.get("id"))
    if not _is_id(user) or msg is None:
        raise ValueError("no sender or message")
    msg_id = _str(msg.get("msg_id"))[:100]
    key = f"msg:{msg_id}" if msg_id else f"{event}:{user}:{timestamp}"
    text = _str(msg.get("text"))
    attachments: list[Attachment] = []
    for a in msg.get("attachments") or []:
        if not isinstance(a, dict):
            continue
        kind, payload = _str(a.get("type")), a.get("payload") if isinstance(a.get("payload"), dict) else {}
        if kind == "location":
            point = _coordinates(payload)
            if point is not None:
                # message.text of a shared location is the place's name, not something the citizen typed
                attachments.append(Attachment("location", point, clip(text, 200)))
        elif kind == "link":
            url = _str(payload.get("url"))
            text = f"{text} {url}".strip() if url and url not in text else text
        elif kind in ATTACHMENT_KINDS:
            ref = _str(payload.get("url")) or _str(payload.get("id"))
            if ref:
                attachments.append(Attachment(ATTACHMENT_KINDS[kind], ref, _str(payload.get("name"))[:200]))
    if event == "user_send_location":
        text = ""  # the place's name (kept on the location), never read as typed words
    return ("inbound", Inbound(
        ZALO_OA, user, user, text=text, attachments=tuple(attachments),
        reply_to=_str(msg.get("quote_msg_id")) or None, message_id=msg_id or None, event_key=key[:128],
    ))


def _coordinates(payload: dict[str, Any]) -> str | None:
    """"lat,lon" of a shared location: `coordinates.latitude/longitude` as strings ("10.7923119", what live
    events carry) or numbers, or `lat`/`long` (one interface in public code); None unless both are in range."""
    c = payload.get("coordinates") if isinstance(payload.get("coordinates"), dict) else {}
    try:
        lat = float(_str(c.get("latitude", c.get("lat"))))
        lon = float(_str(c.get("longitude", c.get("long", c.get("lng")))))
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return f"{lat},{lon}"


# ---------------------------------------------------------------- token storage (one transaction each)
def seed_tokens(session: Session, app_id: str, access: str, refresh: str, now: dt.datetime) -> bool:
    """First start: the tokens from the settings. Afterwards the database copy wins."""
    from bot.storage.dialect import insert_ignore

    if not (access or refresh):
        return False
    return insert_ignore(session, ZaloOAToken.__table__, {
        "app_id": app_id, "access_token": access, "refresh_token": refresh, "expires_at": None, "version": 0,
        "refresh_count": 0, "updated_at": now,
    }, ["app_id"])


def replace_tokens(session: Session, app_id: str, access: str, refresh: str, now: dt.datetime) -> None:
    """Operator re-consented (new pair from the OAuth flow): overwrite, bump the version."""
    row = session.get(ZaloOAToken, app_id) or ZaloOAToken(app_id=app_id)
    row.access_token, row.refresh_token, row.expires_at = access, refresh, None
    row.version = (row.version or 0) + 1
    row.refresh_owner = row.refresh_lease_until = None
    row.last_error, row.updated_at = None, now
    session.add(row)


def load_token(session: Session, app_id: str) -> ZaloOAToken | None:
    row = session.get(ZaloOAToken, app_id)
    if row is not None:
        session.expunge(row)
    return row


def claim_refresh(session: Session, app_id: str, seen_version: int, owner: str, now: dt.datetime,
                  lease: dt.timedelta) -> tuple[str, str]:
    """Take the refresh lease if nobody refreshed since `seen_version` and nobody holds it.
    -> ("claimed", refresh_token) | ("refreshed", "") | ("busy", "") | ("missing", "")"""
    t = ZaloOAToken.__table__
    res = session.execute(
        sa.update(t)
        .where(t.c.app_id == app_id, t.c.version == seen_version,
               sa.or_(t.c.refresh_lease_until.is_(None), t.c.refresh_lease_until < now))
        .values(refresh_owner=owner, refresh_lease_until=now + lease)
    )
    row = session.get(ZaloOAToken, app_id)
    if row is None:
        return ("missing", "")
    if res.rowcount == 1:
        return ("claimed", row.refresh_token)
    return ("refreshed", "") if row.version != seen_version else ("busy", "")


def store_refreshed(session: Session, app_id: str, owner: str, access: str, refresh: str, expires_at: dt.datetime,
                    now: dt.datetime) -> int:
    """Persist the new pair (committed before anyone uses it). Returns the new version."""
    row = session.get(ZaloOAToken, app_id)
    assert row is not None
    if row.refresh_owner != owner:
        log.warning("zalo oa: refresh lease was lost during the call; storing the new pair anyway (it is the valid one)")
    row.access_token = access
    row.refresh_token = refresh or row.refresh_token
    row.expires_at = expires_at
    row.version += 1
    row.refresh_owner = row.refresh_lease_until = None
    row.refreshed_at = row.updated_at = now
    row.refresh_count += 1
    row.last_error = None
    session.add(row)
    return row.version


def release_refresh(session: Session, app_id: str, owner: str, error: str, now: dt.datetime) -> None:
    t = ZaloOAToken.__table__
    session.execute(sa.update(t).where(t.c.app_id == app_id, t.c.refresh_owner == owner)
                    .values(refresh_owner=None, refresh_lease_until=None, last_error=error[:500], updated_at=now))


def last_seen(session: Session, chat_id: str) -> dt.datetime | None:
    return session.exec(select(Chat.last_seen_at).where(Chat.channel == ZALO_OA, Chat.chat_id == chat_id)).first()


class OAuthError(Exception):
    pass


class OATokens:
    """The current access token, refreshed by one process at a time; the database row is the truth."""

    def __init__(self, app: "Host"):
        s = app.settings
        self.app = app
        self.app_id = s.zalo_oa_app_id
        self.secret = s.zalo_oa_app_secret
        self.url = s.zalo_oauth_base_url.rstrip("/") + "/v4/oa/access_token"
        self.ahead = dt.timedelta(minutes=s.zalo_oa_refresh_ahead_minutes)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:96]
        self._lock = asyncio.Lock()
        self.alert = ThrottledAlert(log)
        self.refresh_calls = 0  # OAuth calls made by this process
        self._retry_at = 0.0  # monotonic time before which a failed refresh is not tried again

    def now(self) -> dt.datetime:
        return self.app.services.clock()

    async def seed(self) -> None:
        s = self.app.settings
        if await self.app.db.run(seed_tokens, self.app_id, s.zalo_oa_access_token, s.zalo_oa_refresh_token, self.now()):
            log.info("zalo oa: tokens seeded from the settings")

    async def get(self) -> tuple[str, int]:
        """(access token, version); refreshed first if it is missing or about to expire."""
        row = await self.app.db.run(load_token, self.app_id)
        if row is None:
            return "", -1
        logs.add_secret(row.access_token)  # the database copy (refreshed, rotated) is redacted like the settings'
        logs.add_secret(row.refresh_token)
        if not row.access_token or (row.expires_at is not None and row.expires_at - self.now() < self.ahead):
            fresh = await self.refresh(row.version)
            if fresh is not None:
                return fresh
        return row.access_token, row.version

    async def refresh(self, seen_version: int) -> tuple[str, int] | None:
        """Make sure the token is newer than `seen_version`: refresh it ourselves, or wait for whoever is."""
        async with self._lock:  # one refresher per process; the lease makes it one across processes
            if time.monotonic() < self._retry_at:
                row = await self.app.db.run(load_token, self.app_id)  # another process may have fixed it
                return (row.access_token, row.version) if row and row.version != seen_version else None
            waited = 0.0
            while True:
                state, refresh_token = await self.app.db.run(
                    claim_refresh, self.app_id, seen_version, self.owner, self.now(), REFRESH_LEASE)
                if state == "claimed":
                    break
                if state == "refreshed":
                    row = await self.app.db.run(load_token, self.app_id)
                    return (row.access_token, row.version) if row else None
                if state == "missing" or waited > REFRESH_LEASE.total_seconds() + OAUTH_TIMEOUT:
                    return None
                await asyncio.sleep(0.1)
                waited += 0.1
            try:
                access, new_refresh, expires_in = await self._call_oauth(refresh_token)
            except OAuthError as err:
                self._retry_at = time.monotonic() + REFRESH_COOLDOWN
                await self.app.db.run(release_refresh, self.app_id, self.owner, str(err), self.now())
                self.alert("refresh", "Zalo OA token refresh failed: %s. Messages stay queued. If the refresh token "
                           "is no longer valid, an OA admin must grant access again (docs/zalo.md) and the new "
                           "tokens be stored with `ntm-bot zalo oa-tokens`.", err)
                return None
            now = self.now()
            logs.add_secret(access)
            logs.add_secret(new_refresh)
            version = await self.app.db.run(
                store_refreshed, self.app_id, self.owner, access, new_refresh, now + dt.timedelta(seconds=expires_in), now)
            log.info("zalo oa: access token refreshed (version %d, valid %d s)", version, expires_in)
            return access, version

    async def _call_oauth(self, refresh_token: str) -> tuple[str, str, int]:
        if not self.secret or not refresh_token:
            raise OAuthError("ZALO_OA_APP_SECRET or the refresh token is missing")
        self.refresh_calls += 1
        form = {"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"}
        try:
            async with self.app.http.post(self.url, data=form, headers={"secret_key": self.secret},
                                          timeout=aiohttp.ClientTimeout(total=OAUTH_TIMEOUT)) as resp:
                status, raw = resp.status, await resp.read()
        except asyncio.TimeoutError:
            raise OAuthError("timeout") from None
        except aiohttp.ClientError as err:
            raise OAuthError(f"{type(err).__name__}: {self._redact(str(err), refresh_token)}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise OAuthError(f"HTTP {status}, not JSON")
        access, new_refresh = _str(data.get("access_token")), _str(data.get("refresh_token"))
        if not access:
            detail = data.get("error_description") or data.get("message") or data.get("error_name") or ""
            raise OAuthError(f"error {data.get('error')}: {self._redact(str(detail), refresh_token)}"[:300])
        try:
            expires_in = int(str(data.get("expires_in") or DEFAULT_EXPIRES_IN))
        except ValueError:
            expires_in = DEFAULT_EXPIRES_IN
        return access, new_refresh, expires_in

    def _redact(self, text: str, *more: str) -> str:
        return redact(text, self.secret, *more)


# ---------------------------------------------------------------- the adapter
class CSError(Exception):
    def __init__(self, code: int | None, message: str):
        self.code, self.message = code, message
        super().__init__(f"{code}: {message}" if code is not None else message)


class ZaloOAChannel(ChannelAdapter):
    name = ZALO_OA

    def __init__(self, app: "Host"):
        s = app.settings
        self.app = app
        self.settings = s
        self.tokens = OATokens(app)
        self.cs_url = s.zalo_oa_api_base_url.rstrip("/") + "/v3.0/oa/message/cs"
        self.window = dt.timedelta(hours=s.zalo_oa_reply_window_hours)
        self.max_len = caps_of(ZALO_OA).max_len
        self.alert = ThrottledAlert(log)
        self._variants_seen: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._secrets: Callable[[], tuple[str, ...]] = lambda: (s.zalo_oa_app_secret, s.zalo_oa_secret_key)

    # ---------------------------------------------------------- lifecycle
    async def start(self) -> None:
        await self.tokens.seed()
        self._task = self.app.spawn("zalo-oa-tokens", self._keep_fresh)

    async def stop(self) -> None:
        await cancel_quietly(self._task)

    async def _keep_fresh(self) -> None:
        """Refresh ahead of expiry even when nothing is sent (a refresh token unused for 3 months dies)."""
        while True:
            try:
                await self.tokens.get()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep trying
                log.exception("zalo oa: token check failed")
            await asyncio.sleep(max(5.0, self.settings.zalo_oa_token_check_minutes * 60))

    # ---------------------------------------------------------- receiving
    def routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/zalo-oa/webhook", self.webhook)]

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /zalo-oa/webhook: verify the MAC over the raw body, then parse it, check it is fresh, store the event
        once, answer at once (zalo_common.serve_webhook: 503 while stopping or over the cap, 4xx counted)."""
        return await serve_webhook(request, self.app, ZALO_OA, self._webhook)

    async def _webhook(self, request: web.Request) -> web.Response:
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not header or not (self.settings.zalo_oa_secret_key or self.settings.zalo_oa_app_secret):
            raise Rejected(403, "signature", "forbidden")
        raw = await read_body(request, MAX_BODY)
        matched = verify_signature(raw, header, _fields(raw, _TIMESTAMP_RE), signature_candidates(self.settings, raw))
        if matched is None:
            raise Rejected(403, "signature", "forbidden")
        variant, timestamp = matched
        body = load_json(raw, parse_int=str, parse_float=str)  # big ids and timestamps stay exact strings
        if not isinstance(body, dict) or _str(body.get("timestamp")) != timestamp:
            raise Rejected(400, "malformed", "bad event")  # signed, but not over the event's own timestamp
        self._check_fresh(timestamp)
        if variant not in self._variants_seen:
            self._variants_seen.add(variant)
            log.info("zalo oa webhook: signature verified with variant %s", variant)
        try:
            action = parse_event(body)
        except ValueError:
            raise Rejected(400, "malformed", "bad event") from None
        if action is not None:
            what, value = action
            if what == "inbound":
                await self.app.submit(value)
            elif what == "unfollow":
                await self.app.set_blocked(ZALO_OA, value, True)
        return web.json_response({"error": 0})

    def _check_fresh(self, timestamp: str) -> None:
        """A signed event is only as good as its age: one dated outside ZALO_OA_EVENT_MAX_AGE_HOURS (or from the
        future) is a replay of old bytes. Fresh ones are de-duplicated by their stored key, which is kept at least
        that long (retention keeps processed events 2 days at least; /xoadulieu blanks them, keeping the key)."""
        now_ms = self.app.services.clock().timestamp() * 1000
        age_s = (now_ms - int(timestamp)) / 1000
        if age_s > self.settings.zalo_oa_event_max_age_hours * 3600 or age_s < -FUTURE_SKEW:
            raise Rejected(400, "stale", "stale event")

    # ---------------------------------------------------------- sending
    def limits(self, msg: dict[str, Any]) -> list[Limit]:
        s = self.settings
        return rate_limits("zalo_oa", msg["chat_id"], s.zalo_oa_chat_burst, s.zalo_oa_chat_rate, s.zalo_oa_rate)

    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        if payload.get("kind") == "callback_answer":
            return SendResult(True)
        op = (payload.get("extra") or {}).get("op")
        if op:
            return SendResult(False, permanent=True, error=f"Zalo OA không hỗ trợ thao tác {op}")
        # The reply window: only within 7 days of the citizen's last interaction.
        seen = await self.app.db.run(last_seen, chat_id)
        now = self.app.services.clock()
        if seen is None:
            return _unreachable(texts_zalo.REASON_NO_INTERACTION)
        if now - seen > self.window:
            return _unreachable(texts_zalo.REASON_WINDOW.format(days=int(self.window.total_seconds() // 86400)))
        if now - seen > FREE_WINDOW:
            log.info("zalo oa: message to %s is outside the free 48 h window (billable)", chat_id)
        text = strip_markup(unicodedata.normalize("NFC", payload.get("text") or "")).strip()
        bodies: list[dict[str, Any]] = []
        for a in payload.get("attachments") or []:
            ref = str(a.get("ref") or "")
            if a.get("kind") == "photo" and ref.startswith(("https://", "http://")):
                bodies.append({"attachment": {"type": "template", "payload": {
                    "template_type": "media", "elements": [{"media_type": "image", "url": ref}]}}})
            else:
                log.warning("zalo oa: attachment %s not sendable (only photo URLs); sending the text only", a.get("kind"))
        bodies += [{"text": part} for part in split_text(text, self.max_len)]
        first_id: str | None = None
        try:
            for message in bodies:
                mid = await self._send_cs({"recipient": {"user_id": chat_id}, "message": message})
                first_id = first_id or mid
        except CSError as err:
            return self._failure(err)
        return SendResult(True, message_id=first_id)

    async def _send_cs(self, body: dict[str, Any]) -> str | None:
        token, version = await self.tokens.get()
        if not token:
            self.alert("no-token", "Zalo OA has no access token: set ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN "
                       "(docs/zalo.md) and restart, or run `ntm-bot zalo oa-tokens`. Messages stay queued.")
            raise CSError(None, "no access token")
        try:
            return await self._post_cs(body, token)
        except CSError as err:
            if err.code not in TOKEN_ERRORS:
                raise
        fresh = await self.tokens.refresh(version)
        if fresh is None:
            raise CSError(-216, "access token rejected and the refresh failed")
        return await self._post_cs(body, fresh[0])

    async def _post_cs(self, body: dict[str, Any], token: str) -> str | None:
        try:
            async with self.app.http.post(self.cs_url, json=body, headers={"access_token": token},
                                          timeout=aiohttp.ClientTimeout(total=self.settings.zalo_oa_read_timeout)) as resp:
                status, raw = resp.status, await resp.read()
        except asyncio.TimeoutError:
            raise CSError(None, "timeout") from None
        except aiohttp.ClientError as err:
            raise CSError(None, f"{type(err).__name__}: {redact(str(err), token, *self._secrets())}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise CSError(None, f"HTTP {status}, not JSON")
        try:
            code = int(data.get("error", 0 if status == 200 else status))
        except (TypeError, ValueError):
            code = status
        if code != 0:
            raise CSError(code, redact(str(data.get("message") or ""), token, *self._secrets())[:300])
        result = data.get("data") if isinstance(data.get("data"), dict) else {}
        return _str(result.get("message_id")) or None

    def _failure(self, err: CSError) -> SendResult:
        code, error = err.code, str(err)[:400]
        if code == -230:
            return _unreachable(texts_zalo.REASON_WINDOW_API)
        if code == -232:
            return _unreachable(texts_zalo.REASON_NO_INTERACTION)
        if code in (-213, -227):
            return SendResult(False, blocked=True, error=f"{texts_zalo.REASON_NOT_FOLLOWER} ({error})")
        if code in CONTENT_ERRORS:  # this message will never go (zalo.md §7); the chat itself is still reachable
            return SendResult(False, permanent=True, error=CONTENT_ERRORS[code].format(detail=error))
        if code in (-201, -233, -244, -100):
            permanent = texts_zalo.REASON_PERMANENT.format(detail=error)
            return SendResult(False, permanent=True, error=permanent, extra={CHAT_UNREACHABLE: code == -244})
        if code in QUOTA_ERRORS:
            return SendResult(False, retry_after=QUOTA_ERRORS[code], error=error)
        if code in OPERATOR_ERRORS or code in TOKEN_ERRORS:
            self.alert(str(code), "Zalo OA refuses to send (%s: %s). Messages stay queued until this is fixed.",
                       code, OPERATOR_ERRORS.get(code, err.message))
        elif code is not None and code < 0:
            log.warning("zalo oa: unexpected error %s; will retry", error)
        return SendResult(False, error=error)


def _unreachable(reason: str) -> SendResult:
    return SendResult(False, permanent=True, error=reason, extra={CHAT_UNREACHABLE: True})


CHANNELS.register(ChannelSpec(
    ZALO_OA, Caps(buttons=False, max_len=2000, markup=False), title="Zalo OA", configured=lambda s: bool(s.zalo_oa_app_id),
    factory=ZaloOAChannel, audience=True,
    broadcast_rate=lambda s: s.zalo_broadcast_rate))
