"""Group commit for the hot path: many database operations, one transaction.

Under load, the bot's cost is not the work itself but one transaction per step per message (store the
update, process it, claim the reply, record the send). The pipeline collects what arrives while the previous
transaction runs and does it all in the next one:

    ingest(inbound)   store the update (dedup); then run every pending event of its chat through the router,
                      in order, and claim the first reply of each chat for sending right away
    record(id, res)   record a send's outcome

Guarantees are the ones of the step-by-step path: an update is acknowledged to the platform only after the
transaction that stored it commits (processing may be in the same commit); replies are queued in that same
transaction; a claimed reply carries a lease, so a crash before its outcome is recorded means it is sent again
(the in-flight window), never lost. A failure while processing one chat rolls back only that chat's work (a
savepoint); its events stay pending for the inbox worker.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session

from bot.kernel import inbox
from bot.kernel.channel import SendResult
from bot.kernel.messages import Inbound
from bot.storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.kernel.channel import ChannelAdapter
    from bot.kernel.inbox_worker import InboxWorker
    from bot.kernel.outbox import OutboxWorker
    from bot.kernel.registry import Services
    from bot.storage.db import Database


class PipelineHost(Protocol):
    """What the pipeline uses of the running process (`bot.app.App`)."""

    db: "Database"
    services: "Services"
    inbox: "InboxWorker"
    outbox: "OutboxWorker"
    adapters: "dict[str, ChannelAdapter]"

log = logging.getLogger(__name__)
MAX_BATCH = 256
LINGER = 0.004  # seconds a transaction waits for company under load
LINGER_AFTER = 0.05  # "under load": the previous transaction ended less than this ago


@dataclass
class _Ingest:
    inbound: Inbound
    future: "asyncio.Future[bool]"


@dataclass
class _Record:
    msg_id: int
    result: SendResult
    at: dt.datetime
    chat_key: str | None = None
    plain: bool = False  # a success no outcome hook wants: recorded in bulk (outbox.record_sent)


@dataclass
class BatchResult:
    inserted: list[bool]
    claimed: list[dict[str, Any]]  # replies claimed for this process to send now
    unprocessed: list[str]  # chat keys whose processing failed here (left to the inbox worker)
    processed: int
    more_to_send: bool  # queued messages the outbox worker must claim (not claimed here, or freed by a send)


def apply_batch(session: Session, inbounds: list[Inbound], records: list[_Record], services: Any,
                channels: list[str], lease: dt.timedelta, max_age: dt.timedelta, owner: str | None = None) -> BatchResult:
    """One transaction: record outcomes, store updates, process their chats, claim the new replies."""
    from bot.kernel.outbox import record_outcome, record_sent

    session.info["outbox_new"] = 0
    others = [r for r in records if not r.plain]
    # Load the rows in one query and keep them referenced (the session's identity map holds objects weakly):
    # record_outcome then finds each one without a query.
    loaded = list(session.execute(sa.select(OutboxMessage).where(OutboxMessage.id.in_([r.msg_id for r in others]))).scalars()) if others else []
    for r in others:
        record_outcome(session, r.msg_id, r.result, r.at, max_age, services)
    record_sent(session, [(r.msg_id, r.at, r.result.message_id) for r in records if r.plain])
    inserted = inbox.ingest_many(session, inbounds)
    keys = list(dict.fromkeys(inbox.chat_key(i.channel, i.chat_id) for i, ok in zip(inbounds, inserted) if ok))
    created: list[OutboxMessage] = []
    unprocessed: list[str] = []
    processed = 0
    if keys:
        try:
            with session.begin_nested():  # handler errors are caught per event; this catches the rest
                processed = inbox.process_chats(session, keys, services, created=created)
        except Exception:  # the updates stay stored and pending: the inbox worker retries them
            log.exception("fast path failed for %d chats; left to the inbox worker", len(keys))
            created, unprocessed, processed = [], keys, 0
    claimed = claim_created(session, created, channels, services.clock(), lease, owner) if created else []
    more = session.info.get("outbox_new", 0) > len(claimed)  # split answers, other channels, hooks' messages
    if not more and records:  # a finished send lets the next message of its chat go
        keys = list({r.chat_key for r in records if r.chat_key} | {row.chat_key for row in loaded})
        more = session.execute(_ANY_PENDING, {"keys": keys}).first() is not None
    del loaded
    return BatchResult(inserted, claimed, unprocessed, processed, more)


def claim_created(session: Session, rows: list[OutboxMessage], channels: list[str], now: dt.datetime,
                  lease: dt.timedelta, owner: str | None = None) -> list[dict[str, Any]]:
    """Claim the replies just queued, where each is the oldest unsent message of its chat (order kept)."""
    session.flush()
    mine = [r for r in rows if r.channel in channels and r.status == "pending" and r.next_attempt_at <= now]
    if not mine:
        return []
    first = dict(session.execute(_FIRST_UNSENT, {"keys": list({r.chat_key for r in mine})}).all())
    chosen = [r for r in mine if first.get(r.chat_key) == r.id]
    if not chosen:
        return []
    session.execute(_CLAIM, {"ids": [r.id for r in chosen], "until": now + lease, "owner": owner})
    return [
        {"id": r.id, "channel": r.channel, "chat_id": r.chat_id, "chat_key": r.chat_key, "kind": r.kind, "priority": r.priority,
         "payload": r.payload, "attempts": r.attempts, "created_at": r.created_at}
        for r in sorted(chosen, key=lambda r: (r.priority, r.id))
    ]


_o = OutboxMessage.__table__
_FIRST_UNSENT = (  # built once (see inbox._INGEST)
    sa.select(_o.c.chat_key, sa.func.min(_o.c.id))
    .where(_o.c.chat_key.in_(sa.bindparam("keys", expanding=True)), _o.c.status.in_(("pending", "sending")))
    .group_by(_o.c.chat_key)
)
_CLAIM = sa.update(_o).where(_o.c.id.in_(sa.bindparam("ids", expanding=True)), _o.c.status == "pending").values(
    status="sending", lease_until=sa.bindparam("until"), claimed_by=sa.bindparam("owner"))
_ANY_PENDING = sa.select(_o.c.id).where(_o.c.chat_key.in_(sa.bindparam("keys", expanding=True)), _o.c.status == "pending").limit(1)


class Pipeline:
    def __init__(self, app: PipelineHost, max_batch: int = MAX_BATCH, linger: float = LINGER):
        self.app = app
        self.max_batch = max_batch
        self.linger = linger
        self._last_end = 0.0
        self._ingests: list[_Ingest] = []
        self._records: list[_Record] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0

    async def ingest(self, inbound: Inbound) -> bool:
        """Store (and, in the same commit, process) an update. True if new, False for a redelivery."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._ingests.append(_Ingest(inbound, fut))
        self._idle.clear()
        self._wake.set()
        return await fut

    def record(self, msg: dict[str, Any], result: SendResult, at: dt.datetime) -> None:
        plain = result.ok and not self.app.services.registry.hooked(msg.get("payload") or {})
        self._records.append(_Record(msg["id"], result, at, msg.get("chat_key"), plain))
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._ingests or self._records:
                # Under load (the last transaction ended a moment ago), wait a little for more to arrive: a
                # transaction costs about as much as processing several updates, and the event loop needs the
                # GIL meanwhile. A lone message after a quiet spell goes at once.
                busy = time.monotonic() - self._last_end < LINGER_AFTER
                if busy and len(self._ingests) + len(self._records) < self.max_batch // 4:
                    await asyncio.sleep(self.linger)
                await self._flush_once()
                self._last_end = time.monotonic()
            self._idle.set()

    async def _flush_once(self) -> None:
        app = self.app
        ingests, self._ingests = self._ingests[: self.max_batch], self._ingests[self.max_batch :]
        records, self._records = self._records[: self.max_batch * 4], self._records[self.max_batch * 4 :]
        channels = list(app.adapters)
        args = ([i.inbound for i in ingests], records, app.services, channels, app.outbox.lease, app.outbox.max_age,
                app.outbox.owner)
        try:
            res = await app.db.run(apply_batch, *args)
        except Exception as err:  # fall back to one transaction per update, nothing skipped
            log.exception("batch failed; storing %d updates one by one", len(ingests))
            await self._fallback(ingests, records, err)
            return
        self.batches += 1
        for op, ok in zip(ingests, res.inserted):
            if not op.future.done():
                op.future.set_result(ok)
        for key in res.unprocessed:
            app.inbox.schedule(key)
        app.inbox.processed += res.processed
        if res.claimed:
            app.outbox.dispatch(res.claimed)
        if res.more_to_send:
            app.outbox.kick()

    async def _fallback(self, ingests: list[_Ingest], records: list[_Record], err: Exception) -> None:
        from bot.kernel.outbox import record_outcome

        app = self.app
        for r in records:
            try:
                await app.db.run(record_outcome, r.msg_id, r.result, r.at, app.outbox.max_age, app.services)
            except Exception:  # the lease makes it resend; never lost
                log.exception("recording outcome of outbox %s failed", r.msg_id)
        for op in ingests:
            try:
                ok = await app.db.run(inbox.ingest, op.inbound)
            except Exception as e:  # the caller answers 5xx; the platform redelivers
                if not op.future.done():
                    op.future.set_exception(e)
                continue
            if not op.future.done():
                op.future.set_result(ok)
            if ok:
                app.inbox.schedule(inbox.chat_key(op.inbound.channel, op.inbound.chat_id))
        app.outbox.kick()

    async def drain(self, timeout: float = 10.0) -> None:
        """Until everything queued has been committed (shutdown, tests)."""
        if not self._idle.is_set():
            self._wake.set()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("pipeline drain timed out with %d updates and %d outcomes queued",
                            len(self._ingests), len(self._records))
