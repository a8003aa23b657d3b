"""The database side of delivering broadcasts: the sender lease, due broadcasts and their recipient rows,
claiming recipients and recording outcomes (one transaction), finishing. Synchronous, on a Session; the async
sender is `bot.features.broadcasts.worker.BroadcastWorker`.

Delivery is at-most-once per recipient: a recipient row is set `sending` in a committed transaction
before its message goes out. Rows still `sending` when a new sender takes over (after a crash) become
`unknown` and are not sent again, so nobody gets a broadcast twice; at most the messages in flight at the
crash (BROADCAST_CONCURRENCY per channel) may be missing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.config import Settings
from bot.features.broadcasts import texts as T
from bot.features.broadcasts.parsing import number
from bot.features.broadcasts.service import (
    FINAL_STATES,
    OPEN_STATES,
    Progress,
    get_subscription,
    progress,
    subscribers_join,
    target_where,
    unsubscribe,
)
from bot.kernel.channel import SendResult
from bot.kernel.messages import Reply, utcnow
from bot.storage import dialect
from bot.storage.broadcast import Broadcast, BroadcastRecipient, BroadcastSender, Subscription
from bot.storage.models import Chat

MATERIALIZE_CHUNK = 2000


# ------------------------------------------------------------------ the sender lease
def acquire_lease(session: Session, owner: str, now_real: dt.datetime, lease: dt.timedelta,
                  dead: Any = lambda owner: False) -> tuple[bool, str | None]:
    """Hold (or renew) the one broadcast-sender lease. Returns (held, previous owner if taken over)."""
    t = BroadcastSender.__table__
    row = session.get(BroadcastSender, "all")
    if row is None:
        row = dialect.ensure_row(session, BroadcastSender, {"name": "all", "owner": None, "lease_until": None}, ["name"])
    previous = row.owner
    takeover = previous not in (None, owner) and dead(previous)
    cond = sa.or_(t.c.owner.is_(None), t.c.owner == owner, t.c.lease_until.is_(None), t.c.lease_until < now_real)
    if takeover:
        cond = sa.or_(cond, t.c.owner == previous)
    res = session.execute(sa.update(t).where(t.c.name == "all", cond).values(owner=owner, lease_until=now_real + lease))
    held = res.rowcount == 1
    return held, (previous if held and previous != owner else None)


def recently_cancelled(session: Session, now: dt.datetime) -> set[int]:
    b_t = Broadcast.__table__
    rows = session.execute(sa.select(b_t.c.id).where(b_t.c.status == "cancelled", b_t.c.cancelled_at >= now - dt.timedelta(days=1)))
    return {r[0] for r in rows}


def release_lease(session: Session, owner: str) -> None:
    t = BroadcastSender.__table__
    session.execute(sa.update(t).where(t.c.name == "all", t.c.owner == owner).values(owner=None, lease_until=None))


def mark_in_flight_unknown(session: Session) -> int:
    """After taking over from a crashed sender: what it was sending may or may not have arrived. Not resent."""
    r = BroadcastRecipient.__table__
    res = session.execute(sa.update(r).where(r.c.state == "sending").values(state="unknown", error="in flight at a crash"))
    return res.rowcount or 0


# ------------------------------------------------------------------ starting: due broadcasts, recipient rows
def activate_due(session: Session, now: dt.datetime, channels: Sequence[str]) -> bool:
    """Scheduled broadcasts whose time has come start sending; recipient rows are created in chunks.
    Returns True if more chunks remain (call again soon)."""
    b_t = Broadcast.__table__
    session.execute(
        sa.update(b_t)
        .where(b_t.c.status == "scheduled", sa.or_(b_t.c.scheduled_at.is_(None), b_t.c.scheduled_at <= now))
        .values(status="sending", started_at=now)
    )
    stmt = select(Broadcast).where(Broadcast.status == "sending", Broadcast.materialized == False).order_by(Broadcast.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # a concurrent cancel waits for this chunk, then skips it too
    pending = session.exec(stmt).first()
    if pending is None:
        return False
    return materialize_chunk(session, pending, channels, now)


def materialize_chunk(session: Session, b: Broadcast, channels: Sequence[str], now: dt.datetime,
                      chunk: int = MATERIALIZE_CHUNK) -> bool:
    """Insert the next `chunk` recipients (subscription id order, resumable by cursor). True if more remain."""
    s, r = Subscription.__table__, BroadcastRecipient.__table__
    conds = target_where(b, channels) + [s.c.id > b.mat_cursor]
    ids = sa.select(s.c.id.label("sid")).select_from(subscribers_join()).where(*conds).order_by(s.c.id).limit(chunk).subquery()
    last = session.execute(sa.select(sa.func.max(ids.c.sid))).scalar()
    if last is None:
        b.materialized = True
        b.total = session.execute(sa.select(sa.func.count()).where(r.c.broadcast_id == b.id)).scalar_one()
        session.add(b)
        return False
    at = sa.literal(utcnow(), type_=r.c.next_attempt_at.type)
    sel = (
        sa.select(sa.literal(b.id), s.c.channel, s.c.chat_id, sa.literal("queued"), sa.literal(0), at)
        .select_from(subscribers_join())
        .where(*conds, s.c.id <= last)
    )
    ins = dialect.insert(session, r).from_select(
        ["broadcast_id", "channel", "chat_id", "state", "attempts", "next_attempt_at"], sel
    ).on_conflict_do_nothing(index_elements=["broadcast_id", "channel", "chat_id"])
    session.execute(ins)
    b.mat_cursor = last
    session.add(b)
    return True


# ------------------------------------------------------------------ sending: claim and record (one transaction)
# Outcomes decided just before sending (the row was claimed, then the situation changed): not sent.
DEFERRED = SendResult(False, error="deferred: quiet window, shutdown or lease lost")  # back to the queue
CANCELLED = SendResult(False, permanent=True, error="cancelled before sending")  # skipped


@dataclass(frozen=True)
class Claimed:
    id: int
    broadcast_id: int
    chat_id: str


def pump(session: Session, channel: str, outcomes: list[tuple[int, SendResult]], free: int,
         max_attempts: int) -> list[Claimed]:
    """Record finished sends, then claim up to `free` queued recipients (committed as `sending` before
    anything is sent). Oldest broadcast first, recipients in id order."""
    now_real = utcnow()
    if outcomes:
        record_outcomes(session, outcomes, now_real, max_attempts)
    if free <= 0:
        return []
    r, b_t, s = BroadcastRecipient.__table__, Broadcast.__table__, Subscription.__table__
    active = sa.select(b_t.c.id).where(b_t.c.status == "sending")
    stmt = (
        sa.select(r.c.id, r.c.broadcast_id, r.c.chat_id, s.c.active)
        .select_from(r.outerjoin(s, sa.and_(s.c.channel == r.c.channel, s.c.chat_id == r.c.chat_id)))
        .where(r.c.channel == channel, r.c.state == "queued", r.c.next_attempt_at <= now_real, r.c.broadcast_id.in_(active))
        .order_by(r.c.broadcast_id, r.c.id)
        .limit(free)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=r)
    rows = session.execute(stmt).all()
    if not rows:
        return []
    gone = [row.id for row in rows if not row.active]  # unsubscribed since the list was made
    take = [row for row in rows if row.active]
    if gone:
        session.execute(sa.update(r).where(r.c.id.in_(gone)).values(state="skipped", error="unsubscribed"))
    if take:
        session.execute(sa.update(r).where(r.c.id.in_([row.id for row in take])).values(state="sending"))
    return [Claimed(row.id, row.broadcast_id, row.chat_id) for row in take]


def record_outcomes(session: Session, outcomes: list[tuple[int, SendResult]], now_real: dt.datetime, max_attempts: int) -> None:
    r, b_t = BroadcastRecipient.__table__, Broadcast.__table__
    live = r.c.state.in_(("sending", "unknown"))
    ok = [rid for rid, res in outcomes if res.ok]
    if ok:
        session.execute(
            sa.update(r).where(r.c.id.in_(ok), live).values(state="sent", sent_at=now_real, attempts=r.c.attempts + 1, error=None)
        )
    for rid, res in outcomes:
        if res.ok:
            continue
        row = session.get(BroadcastRecipient, rid)
        if row is None or row.state not in ("sending", "unknown"):
            continue
        if res == DEFERRED or res == CANCELLED:
            if row.state == "sending":  # "unknown": a new sender took over meanwhile; leave it
                row.state = "queued" if res == DEFERRED else "skipped"
                row.error = None if res == DEFERRED else "cancelled"
                session.add(row)
            continue
        row.attempts += 1
        row.error = (res.error or "transient error")[:300]
        if res.blocked:
            row.state = "blocked"
            unsubscribe(session, row.channel, row.chat_id, now_real, reason="blocked")
            chat = session.exec(select(Chat).where(Chat.channel == row.channel, Chat.chat_id == row.chat_id)).first()
            if chat is not None and chat.blocked_at is None:
                chat.blocked_at = now_real
                session.add(chat)
        elif res.new_chat_id:
            _move_recipient(session, row, res.new_chat_id, now_real)
        elif res.permanent:
            row.state = "failed"
        elif res.retry_after is not None:
            row.state = "queued"
            row.attempts -= 1  # the platform asked us to wait: not the recipient's fault
            row.next_attempt_at = now_real + dt.timedelta(seconds=res.retry_after)
            session.execute(sa.update(b_t).where(b_t.c.id == row.broadcast_id).values(rate_limited=b_t.c.rate_limited + 1))
        elif row.attempts >= max_attempts:
            row.state = "failed"
        else:
            from bot.kernel.outbox import backoff

            row.state = "queued"
            row.next_attempt_at = now_real + dt.timedelta(seconds=backoff(row.attempts))
        session.add(row)


def _move_recipient(session: Session, row: BroadcastRecipient, new_chat_id: str, now_real: dt.datetime) -> None:
    """The chat moved (Telegram group -> supergroup): follow it, once."""
    sub = get_subscription(session, row.channel, row.chat_id)
    taken = get_subscription(session, row.channel, new_chat_id)
    if sub is not None and taken is None:
        sub.chat_id = new_chat_id
        session.add(sub)
    exists = session.exec(select(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == row.broadcast_id, BroadcastRecipient.channel == row.channel,
        BroadcastRecipient.chat_id == new_chat_id)).first()
    if exists is not None:
        row.state = "skipped"
        return
    row.chat_id = new_chat_id
    row.state = "queued"
    row.next_attempt_at = now_real


# ------------------------------------------------------------------ finishing
def finish_done(session: Session, settings: Settings, now: dt.datetime) -> list[int]:
    """Broadcasts with every recipient settled become `done`; their creator is told. Returns their ids."""
    r = BroadcastRecipient.__table__
    finished: list[int] = []
    for b in session.exec(select(Broadcast).where(Broadcast.status == "sending", Broadcast.materialized == True)):
        still = session.execute(
            sa.select(r.c.id).where(r.c.broadcast_id == b.id, r.c.state.in_(OPEN_STATES)).limit(1)
        ).first()
        if still is not None:
            continue
        store_counts(session, b)
        b.status = "done"
        b.finished_at = now
        session.add(b)
        finished.append(b.id)  # type: ignore[arg-type]  # a stored row's id is set
        notify_creator(session, b, T.BC_DONE_NOTICE.format(
            id=b.id, sent=number(b.sent), total=number(b.total), failed=number(b.failed), blocked=number(b.blocked),
            skipped=number(b.skipped), unknown=number(b.unknown),
        ))
    return finished


def store_counts(session: Session, b: Broadcast) -> Progress:
    p = progress(session, b.id)  # type: ignore[arg-type]  # a stored row's id is set
    b.total = max(b.total, p.total)
    for state in FINAL_STATES:
        setattr(b, state, p.counts.get(state, 0))
    session.add(b)
    return p


def notify_creator(session: Session, b: Broadcast, text: str) -> None:
    if not b.creator_channel or not b.creator_chat_id:
        return
    from bot.kernel import inbox

    inbox.deliver(session, Reply(text, channel=b.creator_channel, chat_id=b.creator_chat_id, kind="notice"))
