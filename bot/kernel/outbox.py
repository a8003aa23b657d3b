# Over 400 lines: the outbox worker, its rate limiter and its recording are one delivery loop; the limiter could move to its own module.
"""Deliver queued messages: at the platforms' rates, in order per chat, retried until they arrive.

A row is claimed by setting it to `sending` with a lease, in its own committed transaction; the send
happens outside any transaction; the outcome is recorded afterwards. A crash between the send and the
record leaves the row `sending`; when the lease expires it is sent again. That is the in-flight window:
at most the messages being sent at the moment of a crash may arrive twice, none is lost.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import functools
import heapq
import itertools
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.kernel import metrics
from bot.kernel.channel import ChannelAdapter, SendResult
from bot.kernel.messages import utcnow
from bot.kernel.registry import REGISTRY
from bot.storage.db import Database
from bot.storage.models import Chat, OutboxMessage

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=120)
MAX_BACKOFF = 600.0
TAKEOVER_EVERY = 2.0  # seconds between checks for claims of instances that no longer run

# Hooks run in the transaction that records an outcome: (session, row, result). Features use them to
# react (store a created forum topic id, tell staff a message could not be delivered, …). The running
# app's `Services` (settings, clock) are in `session.info["services"]`. A hook says which messages it
# needs to see (`when`, on the payload): the successful sends no hook wants are recorded in bulk.
OutcomeHook = Callable[[Session, OutboxMessage, SendResult], None]


def on_outcome(when: Callable[[dict[str, Any]], bool] | None = None) -> Callable[[OutcomeHook], OutcomeHook]:
    """`@on_outcome(when=lambda payload: …)`: call the hook for every outcome of the messages it selects
    (all messages without `when`); registered with the default registry."""
    def register(fn: OutcomeHook) -> OutcomeHook:
        REGISTRY.add_outcome_hook(fn, when)
        return fn
    return register


def record_sent(session: Session, sent: list[tuple[int, dt.datetime, str | None]]) -> None:
    """`record_outcome` for successful sends no hook wants: (id, when, platform message id), one statement."""
    if sent:
        session.execute(_MARK_SENT, [{"mid": i, "at": at, "pmid": pmid} for i, at, pmid in sent])


_o = OutboxMessage.__table__
_MARK_SENT = (
    sa.update(_o).where(_o.c.id == sa.bindparam("mid"), sa.or_(_o.c.status == "sending", _o.c.status == "pending"))
    .values(status="sent", attempts=_o.c.attempts + 1, lease_until=None, sent_at=sa.bindparam("at"),
            platform_message_id=sa.bindparam("pmid"), last_error=None)
)


# ------------------------------------------------------------------ rate limits
# Who gets the next free slot when several sends wait for the same window: lower goes first, so replies
# to people chatting overtake a running broadcast (which also leaves part of the rate unused, see
# BROADCAST_TELEGRAM_RATE).
PRIORITY_CONVERSATION = 0
PRIORITY_BROADCAST = 10
_seq = itertools.count()


class SlidingWindow:
    """At most `limit` events in any `period` seconds (exact, unlike a token bucket's bursts).

    Waiters are served by priority, then in arrival order. An event taken with `hold=True` counts as
    happening *now* until `done()` is called (when the platform has answered): the platform counts a
    message when it arrives, which is between the two, so no stall on the way (garbage collection, a slow
    network) can make two sends a window apart arrive closer than that.
    """

    def __init__(self, limit: int, period: float):
        self.limit, self.period = limit, period
        self.events: collections.deque[list[Any]] = collections.deque()  # [time, in flight]
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None

    def _prune(self, now: float) -> None:
        while self.events and not self.events[0][1] and now - self.events[0][0] >= self.period:
            self.events.popleft()

    async def acquire(self, priority: int = PRIORITY_CONVERSATION, hold: bool = False) -> list[Any]:
        now = time.monotonic()
        self._prune(now)
        if not self._waiters and len(self.events) < self.limit:
            event = [now, hold]
            self.events.append(event)
            return event
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        event = [0.0, hold]
        heapq.heappush(self._waiters, (priority, next(_seq), fut))
        fut.event = event  # type: ignore[attr-defined]  # the waiter's future carries its event (asyncio.Future has no slot for it)
        self._dispatch()
        await fut
        return event

    def done(self, event: list[Any]) -> None:
        """The send that took this event is over: it counts from now on, and expires a period later."""
        if event[1]:
            event[0], event[1] = time.monotonic(), False
            self._dispatch()

    def _dispatch(self) -> None:
        now = time.monotonic()
        self._prune(now)
        while self._waiters and len(self.events) < self.limit:
            _, _, fut = heapq.heappop(self._waiters)
            if fut.done():  # the waiter was cancelled
                continue
            event = fut.event  # type: ignore[attr-defined]  # set when the future was queued
            event[0] = now
            self.events.append(event)
            fut.set_result(None)
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        if self._waiters and self._timer is None and not self.events[0][1]:  # (in flight: done() dispatches)
            delay = self.events[0][0] + self.period - now + 0.0005
            self._timer = asyncio.get_running_loop().call_later(max(delay, 0.0), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    def idle(self) -> bool:
        if self._waiters or any(e[1] for e in self.events):
            return False
        return not self.events or time.monotonic() - self.events[-1][0] >= self.period


class Pacer:
    """Evenly spaced events: consecutive ones at least 3/4 `interval` apart, `interval` apart on average.

    Virtual scheduling: a wake-up that is late by less than a quarter interval (the usual event-loop
    jitter) is caught up, so it does not push every later event back and the long-run rate stays the
    configured one; a later one moves the schedule instead of causing a burst.
    """

    def __init__(self, interval: float):
        self.interval = interval
        self.tolerance = interval / 4
        self.tat = 0.0  # theoretical time of the next event
        self.lock = asyncio.Lock()  # one caller at a time, in arrival order

    async def acquire(self, priority: int = PRIORITY_CONVERSATION, hold: bool = False) -> None:
        async with self.lock:
            now = time.monotonic()
            at = max(self.tat, now - self.tolerance)
            self.tat = at + self.interval
            if at > now:
                await asyncio.sleep(at - now)
                late = time.monotonic() - at
                if late > self.tolerance:  # the next one may not crowd in behind a late one
                    self.tat += late - self.tolerance

    def idle(self) -> bool:
        return not self.lock.locked() and time.monotonic() - self.tat >= self.interval


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    period: float
    smooth: bool = False  # pace evenly (limit/period per second) instead of allowing bursts within the window


class RateLimiter:
    """Named windows created on demand, plus per-channel pauses after a 429. One instance per app: the
    outbox and the broadcast sender share it, so the bot as a whole stays within each platform limit."""

    def __init__(self) -> None:
        self.windows: dict[str, SlidingWindow | Pacer] = {}
        self.paused_until: dict[str, float] = {}
        self._last_cleanup = time.monotonic()

    async def acquire(self, channel: str, limits: Iterable[Limit], priority: int = PRIORITY_CONVERSATION) -> None:
        """Wait for a slot in every window (the send is counted from now)."""
        await self._take(channel, list(limits), priority, hold=False)

    @contextlib.asynccontextmanager
    async def sending(self, channel: str, limits: Iterable[Limit], priority: int = PRIORITY_CONVERSATION) -> AsyncIterator[None]:
        """`async with limiter.sending(...): await adapter.send(...)`: the send holds its slots until it is over."""
        held = await self._take(channel, list(limits), priority, hold=True)
        try:
            yield
        finally:
            for window, event in held:
                window.done(event)

    async def _take(self, channel: str, limits: list[Limit], priority: int, hold: bool) -> list[tuple[SlidingWindow, list[Any]]]:
        while True:
            # Wait out a pause first: a slot taken before sleeping through it would be stamped a second
            # early, and every sender held by the pause would then go at once.
            pause = self.paused_for(channel)
            if pause > 0:
                await asyncio.sleep(pause)
            held: list[tuple[SlidingWindow, list[Any]]] = []
            for lim in limits:  # narrow (per chat) first, then broad (whole bot)
                window = self.windows.get(lim.key)
                if window is None:
                    window = self.windows[lim.key] = Pacer(lim.period / lim.limit) if lim.smooth else SlidingWindow(lim.limit, lim.period)
                event = await window.acquire(priority, hold)
                if isinstance(window, SlidingWindow) and hold:
                    held.append((window, event))
            if self.paused_for(channel) <= 0:
                break
            for window, event in held:  # a 429 came in while we waited: these count as used; take fresh ones
                window.done(event)
        self._cleanup()
        return held

    def paused(self, channel: str) -> bool:
        return self.paused_until.get(channel, 0.0) > time.monotonic()

    def pause(self, channel: str, seconds: float) -> None:
        self.paused_until[channel] = max(self.paused_until.get(channel, 0.0), time.monotonic() + seconds)

    def paused_for(self, channel: str) -> float:
        return max(0.0, self.paused_until.get(channel, 0.0) - time.monotonic())

    def _cleanup(self) -> None:
        """Forget idle per-chat windows (at most once a second, once there are 512), so memory stays flat
        however many chats a broadcast reaches."""
        now = time.monotonic()
        if len(self.windows) < 512 or (now - self._last_cleanup < 1.0 and len(self.windows) < 8192):
            return
        self._last_cleanup = now
        for key in [k for k, w in self.windows.items() if w.idle()]:
            del self.windows[key]


# ------------------------------------------------------------------ database side
def _due(channels: list[str], now: dt.datetime) -> Any:
    """Due rows that may be sent now: at most the oldest unsent one per chat (so a chat keeps its order)."""
    o = OutboxMessage.__table__
    p = o.alias("p")
    earlier_unsent = (
        sa.select(sa.literal(1))
        .where(p.c.chat_key == o.c.chat_key, p.c.id < o.c.id, p.c.status.in_(("pending", "sending")))
        .exists()
    )
    return sa.and_(o.c.status == "pending", o.c.next_attempt_at <= now, o.c.channel.in_(channels), ~earlier_unsent)


def claim_due(session: Session, channels: list[str], limit: int, now: dt.datetime,
              lease: dt.timedelta = LEASE, owner: str | None = None) -> list[dict[str, Any]]:
    """Claim due messages (committed `sending` + lease), sharing the work between instances.

    PostgreSQL: rows locked by another instance's claim are skipped (SKIP LOCKED), and the UPDATE re-checks
    `status = 'pending'`, so a row claimed and committed by another instance meanwhile is not taken twice.
    """
    o = OutboxMessage.__table__
    if not channels:
        return []
    stmt = sa.select(o.c.id).where(_due(channels, now)).order_by(o.c.priority, o.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=o)
    ids = [r[0] for r in session.execute(stmt)]
    if not ids:
        return []
    rows = session.execute(
        sa.update(o)
        .where(o.c.id.in_(ids), o.c.status == "pending")
        .values(status="sending", lease_until=now + lease, claimed_by=owner)
        .returning(o.c.id, o.c.channel, o.c.chat_id, o.c.chat_key, o.c.kind, o.c.priority, o.c.payload, o.c.attempts, o.c.created_at)
    ).mappings()
    return sorted((dict(r) for r in rows), key=lambda r: (r["priority"], r["id"]))


def has_due(session: Session, channels: list[str], now: dt.datetime) -> bool:
    o = OutboxMessage.__table__
    return bool(channels) and session.execute(sa.select(o.c.id).where(_due(channels, now)).limit(1)).first() is not None


def release(session: Session, msg_id: int, now: dt.datetime) -> None:
    """Give a claimed row back unsent (its lease would expire before we could send it)."""
    o = OutboxMessage.__table__
    session.execute(sa.update(o).where(o.c.id == msg_id, o.c.status == "sending")
                    .values(status="pending", lease_until=None, claimed_by=None, next_attempt_at=now))


def reclaim_expired(session: Session, now: dt.datetime) -> int:
    """Rows left `sending` by a crashed sender go back to the queue once their lease is over."""
    o = OutboxMessage.__table__
    res = session.execute(
        sa.update(o).where(o.c.status == "sending", o.c.lease_until < now)
        .values(status="pending", lease_until=None, claimed_by=None)
    )
    return res.rowcount or 0


def take_over(session: Session, me: str, in_flight: set[int], now: dt.datetime, lease: dt.timedelta,
              dead: Callable[[str], bool]) -> int:
    """Rows `sending` for an instance that no longer runs (SIGKILL, OOM) go back to the queue at once, not when
    their lease runs out: after a crash the restarted bot answers within seconds. So do rows claimed by this
    instance that it is not sending (a claim committed while its answer was lost with the connection), once
    claimed 10 s ago. They were in flight: each may be sent twice, none is lost (`bot.kernel.liveness`)."""
    o = OutboxMessage.__table__
    owners = [r[0] for r in session.execute(sa.select(o.c.claimed_by).where(o.c.status == "sending").distinct())]
    n = 0
    for owner in owners:
        if owner and owner != me and dead(owner):
            res = session.execute(sa.update(o).where(o.c.status == "sending", o.c.claimed_by == owner)
                                  .values(status="pending", lease_until=None, claimed_by=None))
            n += res.rowcount or 0
            log.warning("outbox: %d message(s) claimed by %s, which no longer runs, taken over", res.rowcount or 0, owner)
    if me in owners:
        old = now + lease - dt.timedelta(seconds=10)
        ids = [r[0] for r in session.execute(sa.select(o.c.id).where(
            o.c.status == "sending", o.c.claimed_by == me, o.c.lease_until < old))]
        orphans = [i for i in ids if i not in in_flight]
        if orphans:
            session.execute(sa.update(o).where(o.c.id.in_(orphans), o.c.status == "sending")
                            .values(status="pending", lease_until=None, claimed_by=None))
            log.warning("outbox: %d claim(s) of this instance were not being sent; back in the queue", len(orphans))
            n += len(orphans)
    return n


def record_outcome(session: Session, msg_id: int, result: SendResult, now: dt.datetime, max_age: dt.timedelta,
                   services: Any) -> None:
    session.info["services"] = services  # outcome hooks read the app's settings and clock here
    row = session.get(OutboxMessage, msg_id)
    if row is None or row.status not in ("sending", "pending"):
        return  # already settled (another instance re-sent it after our lease ran out)
    row.attempts += 1
    row.lease_until = None
    if result.ok:
        row.status = "sent"
        row.sent_at = now
        row.platform_message_id = result.message_id
        row.last_error = None
    elif result.new_chat_id:
        _move_chat(session, row, result.new_chat_id)
        row.status = "pending"
        row.next_attempt_at = now
    elif result.blocked:
        row.status = "blocked"
        row.last_error = result.error[:500]
        chat = session.exec(select(Chat).where(Chat.channel == row.channel, Chat.chat_id == row.chat_id)).first()
        if chat is not None and chat.blocked_at is None:
            chat.blocked_at = now
            session.add(chat)
    elif result.permanent:
        row.status = "failed"
        row.last_error = result.error[:500]
        log.warning("outbox %s to %s:%s failed for good: %s", row.id, row.channel, row.chat_id, result.error)
    else:
        row.last_error = (result.error or "transient error")[:500]
        if now - row.created_at > max_age:
            row.status = "dead"
            log.error("outbox %s to %s:%s gave up after %s attempts", row.id, row.channel, row.chat_id, row.attempts)
        else:
            delay = result.retry_after if result.retry_after is not None else backoff(row.attempts)
            row.status = "pending"
            row.next_attempt_at = now + dt.timedelta(seconds=delay)
    session.add(row)
    for hook, when in services.registry.outcome_hooks:
        if when is None or when(row.payload or {}):
            hook(session, row, result)


def backoff(attempts: int) -> float:
    """1 s, 2 s, 4 s … up to 10 minutes, with jitter so retries of many messages spread out."""
    return min(MAX_BACKOFF, 2.0 ** min(max(attempts - 1, 0), 10)) * random.uniform(0.8, 1.2)


def _move_chat(session: Session, row: OutboxMessage, new_chat_id: str) -> None:
    o = OutboxMessage.__table__
    session.execute(
        sa.update(o)
        .where(o.c.channel == row.channel, o.c.chat_id == row.chat_id, o.c.status == "pending")
        .values(chat_id=new_chat_id, chat_key=f"{row.channel}:{new_chat_id}")
    )
    row.chat_id = new_chat_id
    row.chat_key = f"{row.channel}:{new_chat_id}"


# ------------------------------------------------------------------ the worker
class OutboxWorker:
    def __init__(
        self,
        db: Database,
        adapters: dict[str, ChannelAdapter],
        limits: Callable[[dict[str, Any]], list[Limit]],
        concurrency: int = 16,
        max_age: dt.timedelta = dt.timedelta(hours=72),
        clock: Callable[[], dt.datetime] = utcnow,
        lease: dt.timedelta = LEASE,
        services: Any = None,
        owner: str | None = None,
    ):
        from bot.kernel import liveness

        self.db = db
        self.lease = lease
        self.owner = owner or liveness.new_owner()  # written on every claim (takeover after a crash)
        self.in_flight: set[int] = set()  # ids this instance is sending now
        self.services = services  # handed to outcome hooks (session.info["services"])
        self.adapters = adapters
        self.limits = limits  # claimed message -> rate limits to respect
        self.concurrency = concurrency
        self.max_age = max_age
        self.clock = clock
        self.limiter = RateLimiter()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._starved = False  # the worker waits for a free slot (not for due messages)
        self.sent = 0
        # Where outcomes go: a group-commit recorder (the pipeline) or one transaction per send.
        self.recorder: Callable[[dict[str, Any], SendResult, dt.datetime], None] | None = None

    def kick(self) -> None:
        self._wake.set()

    def dispatch(self, msgs: list[dict[str, Any]]) -> None:
        """Send messages already claimed elsewhere (the pipeline claims fresh replies in their own commit)."""
        for msg in msgs:
            self.in_flight.add(msg["id"])
            task = asyncio.create_task(self._send_when_free(msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send_when_free(self, msg: dict[str, Any]) -> None:
        await self._slots.acquire()
        try:
            await self._send(msg)
        finally:
            self._slot_freed()

    def _slot_freed(self) -> None:
        """A send is over. The worker needs waking only if it was waiting for a slot: a message that becomes
        due (the next one of the chat) is announced by whoever records the outcome."""
        self._slots.release()
        if self._starved:
            self._wake.set()

    async def run(self) -> None:
        from bot.kernel import liveness

        last_reclaim = last_takeover = 0.0
        dead = functools.partial(liveness.owner_dead, me=self.owner)
        while not self._stopping:
            if time.monotonic() - last_takeover > TAKEOVER_EVERY:
                last_takeover = time.monotonic()
                if await self.db.run(take_over, self.owner, set(self.in_flight), self.clock(), self.lease, dead):
                    self._wake.set()
            if time.monotonic() - last_reclaim > 15:
                last_reclaim = time.monotonic()
                await self.db.run(reclaim_expired, self.clock())
            free = max(0, self.concurrency - len(self._tasks))
            batch: list[dict[str, Any]] = []
            channels = [c for c in self.adapters if not self.limiter.paused(c)]
            if free > 0 and channels:
                batch = await self.db.run(claim_due, channels, free, self.clock(), self.lease, self.owner)
            for msg in batch:
                self.in_flight.add(msg["id"])
                await self._slots.acquire()
                task = asyncio.create_task(self._send(msg))
                self._tasks.add(task)
                task.add_done_callback(self._done)
            if batch and len(batch) == free:
                continue  # more may be waiting
            self._starved = free == 0
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed()
        if task.cancelled():
            return
        if task.exception():
            log.error("outbox send task crashed", exc_info=task.exception())

    async def _send(self, msg: dict[str, Any]) -> None:
        try:
            await self._send_one(msg)
        finally:
            self.in_flight.discard(msg["id"])

    async def _send_one(self, msg: dict[str, Any]) -> None:
        adapter = self.adapters[msg["channel"]]
        claimed = time.monotonic()
        async with self.limiter.sending(msg["channel"], self.limits(msg)):
            if time.monotonic() - claimed > self.lease.total_seconds() / 2:
                # waited long for a rate window or a 429 pause: the lease may run out mid-send and another
                # instance would send it too; hand it back instead.
                await self.db.run(release, msg["id"], self.clock())
                self._wake.set()
                return
            try:
                result = await adapter.send(msg["chat_id"], msg["payload"])
            except Exception as err:  # adapters should report, not raise; treat a raise as transient
                log.exception("adapter %s raised", msg["channel"])
                result = SendResult(ok=False, error=f"{type(err).__name__}: {err}")
        if result.retry_after:
            self.limiter.pause(msg["channel"], result.retry_after)
        if result.ok:
            self.sent += 1
            metrics.SENT.labels(msg["channel"]).inc()
        else:
            metrics.SEND_ERRORS.labels(msg["channel"], metrics.error_code(result)).inc()
        if self.recorder is not None:
            self.recorder(msg, result, self.clock())
        else:
            await self.db.run(record_outcome, msg["id"], result, self.clock(), self.max_age, self.services)
            self._wake.set()  # the chat's next message may be due now

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until nothing is being sent (used on shutdown and by the terminal chat)."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def drain_due(self, timeout: float) -> None:
        """Send what is due now (shutdown): until nothing due is left or in flight, or the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._tasks:
                try:
                    if not await self.db.run(has_due, list(self.adapters), self.clock()):
                        return
                except Exception:
                    log.exception("outbox drain failed")
                    return
            self.kick()
            await asyncio.sleep(0.02)

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        await self.drain(timeout)
        for t in list(self._tasks):
            t.cancel()
