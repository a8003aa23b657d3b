"""The web chat adapter: the outbox is the source of truth, the browser reads it.

    browser ── POST /chat/send ──► App.submit (stored, committed) ──► 200 "sent" ──► router ──► outbox (web:<id>)
    browser ◄── GET /chat/events (Server-Sent Events) ◄── history query ◄── wake-up ◄── WebChannel.send

`send` does not carry the text anywhere: the outbox row already holds it. Sending means "this row may be shown
now" (it is `sending`, then `sent`), and it wakes the browsers of that identity connected to this instance; on
PostgreSQL it also NOTIFYs the other instances (LISTEN/NOTIFY), whose connected browsers then read the same row.
A browser that was closed reads everything on its next visit; one that lost a notification finds the row on its
next periodic look (WEB_POLL_SECONDS). Nothing is kept only in memory.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from typing import Any

import sqlalchemy as sa

from bot.channels.web.identity import Identity, load_or_create_secret
from bot.kernel.channel import ChannelAdapter, Host, SendResult, cancel_quietly
from bot.kernel.messages import WEB
from bot.storage.models import InboundEvent, OutboxMessage

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "ntm_web"
SHOWN = ("sending", "sent")  # outbox rows a browser may show: claimed for delivery, in the chat's order
HISTORY = 100  # messages of each direction shown on a new visit
LOOKBACK = 20  # outbox ids re-read below the cursor (a row committed late, out of id order)
START_KEY = "start:"  # the greeting asked for on a first visit: not shown as the citizen's words


class Hub:
    """Browsers connected to this instance, by identity: each open stream waits on its own event."""

    def __init__(self) -> None:
        self.streams: dict[str, set[asyncio.Event]] = {}
        self.closing = False

    def subscribe(self, sid: str) -> asyncio.Event:
        ev = asyncio.Event()
        self.streams.setdefault(sid, set()).add(ev)
        return ev

    def unsubscribe(self, sid: str, ev: asyncio.Event) -> None:
        group = self.streams.get(sid)
        if group is not None:
            group.discard(ev)
            if not group:
                del self.streams[sid]

    def count(self, sid: str | None = None) -> int:
        if sid is not None:
            return len(self.streams.get(sid, ()))
        return sum(len(g) for g in self.streams.values())

    def wake(self, sid: str) -> None:
        for ev in self.streams.get(sid, ()):
            ev.set()

    def close(self) -> None:
        self.closing = True
        for group in self.streams.values():
            for ev in group:
                ev.set()


class RateLimiter:
    """At most `limit` events per `period` seconds per key (sliding window), in this process."""

    def __init__(self, limit: int, period: float):
        self.limit, self.period = limit, period
        self.events: dict[str, deque[float]] = {}
        self._swept = time.monotonic()

    def allow(self, key: str, cost: int = 1) -> bool:
        now = time.monotonic()
        if now - self._swept > self.period:
            self._sweep(now)
        q = self.events.setdefault(key, deque())
        while q and now - q[0] >= self.period:
            q.popleft()
        if len(q) + cost > self.limit:
            return False
        q.extend([now] * cost)
        return True

    def _sweep(self, now: float) -> None:
        self._swept = now
        for key in [k for k, q in self.events.items() if not q or now - q[-1] >= self.period]:
            del self.events[key]


class WebChannel(ChannelAdapter):
    name = WEB

    def __init__(self, app: "Host"):
        self.app = app
        self.route_table: list[tuple[str, str, Any]] = []  # filled by `routes.build_routes`
        self.settings = s = app.settings
        self.hub = Hub()
        self._identity: Identity | None = None
        self._identity_lock = asyncio.Lock()
        self.per_session = RateLimiter(s.web_session_rate, 60.0)
        self.per_address = RateLimiter(s.web_address_rate, 60.0)
        self.new_sessions = RateLimiter(s.web_new_sessions_per_address, 3600.0)
        self.uploads = RateLimiter(s.web_uploads_per_hour, 3600.0)
        self.lookups = RateLimiter(20, 600.0)  # lookup attempts per address in 10 minutes (guessing secrets)
        self.is_pg = not app.db.is_sqlite
        self._listener: asyncio.Task[None] | None = None
        self._notifier: Any = None
        self._to_notify: set[str] = set()  # identities delivered to since the last NOTIFY (sent in one statement)
        self._notify_wake = asyncio.Event()
        self._notify_task: asyncio.Task[None] | None = None
        self._reader: Any = None  # a pool of its own for the browsers' reads (see `read`)

    # ---------------------------------------------------------- identity
    async def identity(self) -> Identity:
        if self._identity is None:
            async with self._identity_lock:
                if self._identity is None:
                    secret = self.settings.web_secret or await self.app.db.run(load_or_create_secret)
                    self._identity = Identity(secret, self.settings.web_session_days)
        return self._identity

    async def read(self, fn: Any, *args: Any) -> Any:
        """Run a read-only fn(session, …) for a browser on connections of its own: the streams' reads never queue
        behind the bot's writes (on SQLite the app has a single database thread, and WAL lets readers run beside
        the writer)."""
        if self._reader is None:
            from bot.storage.db import Database

            self._reader = Database(self.app.db.url, workers=2)
        return await self._reader.run(fn, *args)

    # ---------------------------------------------------------- lifecycle
    async def start(self) -> None:
        await self.identity()
        if self.is_pg:
            self._listener = self.app.spawn("web-listen", self._listen)
            self._notify_task = self.app.spawn("web-notify", self._notify_loop)

    def close_streams(self) -> None:
        self.hub.close()

    def routes(self) -> list[tuple[str, str, Any]]:
        return self.route_table

    async def stop(self) -> None:
        self.hub.close()
        if self._to_notify and self._notifier is not None:
            await self._notify_batch()  # what was delivered last still reaches the other instances' browsers
        await cancel_quietly(self._listener)
        await cancel_quietly(self._notify_task)
        if self._notifier is not None:
            try:
                await self._notifier.close()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self._notifier = None
        if self._reader is not None:
            self._reader.dispose()
            self._reader = None

    def _conninfo(self) -> str:
        url = sa.engine.make_url(self.app.db.url)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def _listen(self) -> None:
        """Wake this instance's browsers when another instance delivered to them (PostgreSQL LISTEN)."""
        import psycopg

        conn = await psycopg.AsyncConnection.connect(self._conninfo(), autocommit=True)
        try:
            await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            async for note in conn.notifies():
                self.hub.wake(note.payload)
        finally:
            await conn.close()

    async def _notify_loop(self) -> None:
        """NOTIFY the other instances, many identities per round trip: sends never wait for it."""
        while True:
            await self._notify_wake.wait()
            self._notify_wake.clear()
            await self._notify_batch()

    async def _notify_batch(self) -> None:
        import psycopg

        batch, self._to_notify = sorted(self._to_notify), set()
        if not batch:
            return
        try:
            if self._notifier is None or self._notifier.closed:
                self._notifier = await psycopg.AsyncConnection.connect(self._conninfo(), autocommit=True)
            await self._notifier.execute("SELECT pg_notify(%s, sid) FROM unnest(%s::text[]) AS sid", (NOTIFY_CHANNEL, batch))
        except Exception as err:  # noqa: BLE001 - the other instances' browsers still poll
            log.warning("web: NOTIFY failed (%s); other instances will see the replies on their next look",
                        type(err).__name__)
            self._notifier = None

    # ---------------------------------------------------------- sending
    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        if payload.get("kind") == "callback_answer":
            return SendResult(True)
        if payload.get("kind") == "broadcast":  # not kept in the outbox, so a browser could never read it
            return SendResult(False, permanent=True, error="kênh web không nhận tin phát hành (theo dõi qua Zalo, Telegram)")
        self.hub.wake(chat_id)
        if self.is_pg:
            self._to_notify.add(chat_id)
            self._notify_wake.set()
        return SendResult(True)


# ------------------------------------------------------------------ reading what a browser shows
def _iso(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.isoformat()
    return ""


def _photos(attachments: Any) -> tuple[list[str], int]:
    """Our own uploads as page-relative addresses (the page loads nothing from elsewhere); a count of the rest."""
    shown, others = [], 0
    for a in attachments or []:
        ref = str(a.get("ref") or "") if isinstance(a, dict) else ""
        marker = ref.find("/chat/media/")
        if a.get("kind") == "photo" and marker >= 0:
            shown.append(ref[marker:])
        elif a.get("kind") != "location":
            others += 1
    return shown, others


def _located(attachments: Any) -> bool:
    return any(isinstance(a, dict) and a.get("kind") == "location" for a in attachments or [])


def read_messages(session: Any, sid: str, after_in: int, after_out: int, seen_out: set[int] | None = None,
                  first: bool = False, key: str = "") -> tuple[list[dict[str, Any]], int, int]:
    """What the browser of `sid` has not shown yet: its own messages (stored inbound events) and the bot's
    (outbox rows claimed for delivery), in the order they happened. Returns (messages, in cursor, out cursor)."""
    from bot.channels.web.lookup import receipt_secret

    chat_key = f"{WEB}:{sid}"
    i, o = InboundEvent.__table__, OutboxMessage.__table__
    q_in = sa.select(i.c.id, i.c.event_key, i.c.payload, i.c.received_at).where(i.c.chat_key == chat_key, i.c.id > after_in)
    q_out = sa.select(o.c.id, o.c.payload, o.c.created_at, o.c.kind).where(
        o.c.chat_key == chat_key, o.c.status.in_(SHOWN), o.c.id > max(0, after_out - (LOOKBACK if seen_out is not None else 0)))
    if first:
        ins = list(reversed(session.execute(q_in.order_by(i.c.id.desc()).limit(HISTORY)).all()))
        outs = list(reversed(session.execute(q_out.order_by(o.c.id.desc()).limit(HISTORY)).all()))
    else:
        ins = session.execute(q_in.order_by(i.c.id).limit(200)).all()
        outs = session.execute(q_out.order_by(o.c.id).limit(200)).all()
    items: list[tuple[str, int, dict[str, Any]]] = []
    for r in ins:
        after_in = max(after_in, r.id)
        p = r.payload or {}
        if p.get("erased") or str(r.event_key).startswith(START_KEY):
            continue
        photos, others = _photos(p.get("attachments"))
        items.append((_iso(r.received_at), 0, {
            "id": f"i{r.id}", "who": "me", "key": r.event_key, "text": p.get("text") or "",
            "callback": p.get("callback") or "", "photos": photos, "files": others,
            "location": _located(p.get("attachments")), "at": _iso(r.received_at)}))
    for r in outs:
        if seen_out is not None and r.id in seen_out:
            continue
        after_out = max(after_out, r.id)
        if seen_out is not None:
            seen_out.add(r.id)
        p = r.payload or {}
        if p.get("pruned") or (p.get("extra") or {}).get("op"):
            continue
        photos, others = _photos(p.get("attachments"))
        text = p.get("text") or ""
        if not (text or photos or others):
            continue
        message = {"id": f"o{r.id}", "who": "bot", "text": text, "buttons": p.get("buttons") or [],
                   "photos": photos, "files": others, "at": _iso(r.created_at)}
        if key and (lookup := receipt_secret(session, key, sid, text)) is not None:
            message["lookup"] = lookup  # the receipt of a report from this browser: its lookup secret with it
        items.append((_iso(r.created_at), 1, message))
    items.sort(key=lambda t: (t[0], t[1]))
    return [m for _, _, m in items], after_in, after_out
