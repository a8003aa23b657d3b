"""The broadcast sender: one per instance, started by `App.start`; only the instance holding the sender
lease sends (so two instances never double the platform rate).

    lease ─► activate due broadcasts, create recipient rows in chunks ─► one pump per channel:
        claim ≤ BROADCAST_CONCURRENCY recipients (committed `sending`) ─► shared rate limiter (paced, low
        priority) ─► adapter.send ─► record outcomes and claim the next ones in one transaction

Memory stays flat: the pump only ever holds the rows in flight; the list lives in the database.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from bot.features.broadcasts import delivery, parsing
from bot.features.broadcasts import service as bc
from bot.kernel import liveness
from bot.kernel.channel import ChannelAdapter, SendResult, caps_of
from bot.kernel.messages import utcnow
from bot.kernel.outbox import PRIORITY_BROADCAST, Limit

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.kernel.channel import ChannelAdapter
    from bot.kernel.outbox import OutboxWorker
    from bot.kernel.registry import Services
    from bot.storage.db import Database


class BroadcastHost(Protocol):
    """What the sender uses of the running process (`bot.app.App`)."""

    db: "Database"
    settings: "Settings"
    services: "Services"
    outbox: "OutboxWorker"
    adapters: "dict[str, ChannelAdapter]"

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=30)
RENEW_EVERY = 5.0


class BroadcastWorker:
    def __init__(self, app: BroadcastHost):
        self.app = app
        self.db = app.db
        self.settings = app.settings
        self.concurrency = max(1, app.settings.broadcast_concurrency)
        self.owner = liveness.new_owner()
        self.held = False
        self.poll_interval = 1.0
        self.sent = 0
        self.rate_limited = 0
        self.unknown_after_takeover = 0
        self.loops = 0  # main-loop iterations (tests wait for "ran again, still nothing sent")
        self._stopping = False
        self._wake = asyncio.Event()
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._payloads: dict[tuple[int, str], dict[str, Any]] = {}
        self._cancelled: set[int] = set()  # broadcasts cancelled while rows may be in flight
        # What handlers need to know about sending (counts and previews use the configured channels).
        app.services.extras["broadcast_channels"] = lambda: sorted(c for c in app.adapters if caps_of(c).broadcasts)
        app.services.extras["broadcast_window"] = self.concurrency

    @property
    def limiter(self) -> Any:
        return self.app.outbox.limiter  # the same instance as the outbox: one budget for the whole bot

    def now(self) -> dt.datetime:
        return self.app.services.clock()

    def kick(self) -> None:
        self._wake.set()
        for ev in self._events.values():
            ev.set()

    def owner_dead(self, owner: str) -> bool:
        """True if the lease holder is a process on this host that no longer runs (fast takeover after a crash)."""
        return liveness.owner_dead(owner, self.owner)

    # ---------------------------------------------------------- main loop
    async def run(self) -> None:
        last_lease = 0.0
        while not self._stopping:
            more = False
            try:
                if not self.held or time.monotonic() - last_lease >= RENEW_EVERY:
                    held, previous = await self.db.run(delivery.acquire_lease, self.owner, utcnow(), LEASE, self.owner_dead)
                    last_lease = time.monotonic()
                    if held and previous is not None:
                        n = await self.db.run(delivery.mark_in_flight_unknown)
                        self.unknown_after_takeover += n
                        log.warning("broadcast sender taken over from %s; %d recipient(s) in flight there marked unknown", previous, n)
                    if held != self.held:
                        log.info("broadcast sender lease %s", "acquired" if held else "lost")
                    self.held = held
                if self.held:
                    channels = sorted(self.app.adapters)
                    self._cancelled = await self.db.run(delivery.recently_cancelled, self.now())
                    more = await self.db.run(delivery.activate_due, self.now(), channels)
                    if await self.db.run(delivery.finish_done, self.settings, self.now()):
                        self.app.outbox.kick()
                    for channel in channels:
                        self._ensure_pump(channel)
                    for ev in self._events.values():
                        ev.set()
            except Exception:  # keep going; the database may come back
                log.exception("broadcast loop failed")
            self.loops += 1
            if more:
                await asyncio.sleep(0)
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except asyncio.TimeoutError:
                pass

    def _ensure_pump(self, channel: str) -> None:
        task = self._pumps.get(channel)
        if task is not None and not task.done():
            return
        self._events[channel] = asyncio.Event()
        self._pumps[channel] = asyncio.create_task(self._pump(channel), name=f"broadcast-{channel}")

    # ---------------------------------------------------------- one channel
    async def _pump(self, channel: str) -> None:
        adapter = self.app.adapters[channel]
        ev = self._events[channel]
        inflight: set[int] = set()
        outcomes: list[tuple[int, SendResult]] = []
        drained = False
        while True:
            ev.clear()
            sending = self.held and not self._stopping
            quiet = parsing.in_quiet(self.settings, self.now())
            free = self.concurrency - len(inflight) if sending and not quiet and not drained else 0
            if outcomes or free > 0:
                batch = outcomes[:]
                del outcomes[:]
                try:
                    rows = await self.db.run(delivery.pump, channel, batch, free, self.settings.broadcast_max_attempts)
                except Exception:  # keep the outcomes, try again shortly
                    log.exception("broadcast pump (%s) failed", channel)
                    outcomes[:0] = batch
                    await asyncio.sleep(1.0)
                    continue
                for rid, _ in batch:
                    inflight.discard(rid)
                for row in rows:
                    inflight.add(row.id)
                    asyncio.create_task(self._send(channel, adapter, row, outcomes, ev))
                if free > 0 and len(rows) < free:
                    drained = True
                if rows or batch:
                    continue
            if not sending and not inflight and not outcomes:
                return
            try:
                await asyncio.wait_for(ev.wait(), timeout=self.poll_interval)
            except asyncio.TimeoutError:
                pass
            drained = False

    async def _send(self, channel: str, adapter: ChannelAdapter, row: delivery.Claimed, outcomes: list[tuple[int, SendResult]],
                    ev: asyncio.Event) -> None:
        try:
            payload = await self._payload(row.broadcast_id, channel)
            limits = self._limits(adapter, channel, row.chat_id, payload)
            async with self.limiter.sending(channel, limits, priority=PRIORITY_BROADCAST):
                # The wait for a slot may have been long: look again right before sending.
                if row.broadcast_id in self._cancelled:
                    result = delivery.CANCELLED
                elif self._stopping or not self.held or parsing.in_quiet(self.settings, self.now()):
                    result = delivery.DEFERRED
                else:
                    result = await adapter.send(row.chat_id, payload)
        except Exception as err:  # adapters report; a raise counts as transient
            log.exception("broadcast send via %s raised", channel)
            result = SendResult(False, error=f"{type(err).__name__}: {err}")
        if result.retry_after:
            self.limiter.pause(channel, result.retry_after)
            self.rate_limited += 1
        if result.ok:
            self.sent += 1
        outcomes.append((row.id, result))
        ev.set()

    def _limits(self, adapter: ChannelAdapter, channel: str, chat_id: str, payload: dict[str, Any]) -> list[Limit]:
        rate = max(0.1, parsing.channel_rate(self.settings, channel))
        pace = Limit(f"{channel}:broadcast-pace", 1, 1.0 / rate, smooth=True)
        fn = getattr(adapter, "limits", None)
        return [pace, *(fn({"channel": channel, "chat_id": chat_id, "payload": payload}) if fn else [])]

    async def _payload(self, broadcast_id: int, channel: str) -> dict[str, Any]:
        key = (broadcast_id, channel)
        payload = self._payloads.get(key)
        if payload is None:
            from bot.storage.broadcast import Broadcast

            b = await self.db.run(lambda s: s.get(Broadcast, broadcast_id))
            payload = bc.payload_for(self.settings, b, channel)
            if len(self._payloads) > 64:
                self._payloads.clear()
            self._payloads[key] = payload
        return payload

    # ---------------------------------------------------------- shutdown
    async def stop(self, timeout: float = 15.0) -> None:
        """Finish what is in flight and record it, then hand the lease back."""
        self._stopping = True
        self.kick()
        pumps = [t for t in self._pumps.values() if not t.done()]
        if pumps:
            _, pending = await asyncio.wait(pumps, timeout=timeout)
            if pending:  # keep the lease: whoever takes over marks those rows unknown (never sent twice)
                log.warning("broadcast sends still in flight at shutdown; leaving the lease to expire")
                return
        if self.held:
            try:
                await self.db.run(delivery.release_lease, self.owner)
            except Exception:
                log.exception("releasing the broadcast lease failed")
            self.held = False
