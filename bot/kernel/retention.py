"""Retention: what the core keeps about citizens' messages, and for how long.

Daily at 03:00 (Asia/Ho_Chi_Minh), once across instances:
- processed inbound events (the citizen's message text, name, username) older than RETENTION_INBOUND_DAYS
  are deleted. Only their unique key matters after processing, and only for Telegram's redelivery window
  (a day), so at least 2 days are kept whatever the setting;
- delivered (or given-up) outbox messages older than RETENTION_OUTBOX_DAYS keep their row (status, times,
  platform message id: features map replies to them) but lose their text, buttons and attachments;
- unanswered questions (the KB team's work list) older than RETENTION_UNANSWERED_DAYS are deleted.
Feature modules (tickets) keep their own retention jobs for their own tables.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from bot.kernel.jobs import job
from bot.storage.models import Conversation, InboundEvent, KeyValue, OutboxMessage, UnansweredQuestion

log = logging.getLogger(__name__)

BATCH = 5000
OUTBOX_CURSOR = "retention_outbox_cursor"
PRUNED = {"pruned": True}
FINAL = ("sent", "blocked", "failed", "dead")


def prune_inbound(session: Session, now: dt.datetime, days: int) -> int:
    i = InboundEvent.__table__
    cut = now - dt.timedelta(days=max(2, days))
    total = 0
    while True:
        ids = [r[0] for r in session.execute(
            sa.select(i.c.id).where(i.c.status.in_(("done", "failed")), i.c.received_at < cut).order_by(i.c.id).limit(BATCH)
        )]
        if not ids:
            return total
        session.execute(sa.delete(i).where(i.c.id.in_(ids)))
        total += len(ids)


def prune_outbox(session: Session, now: dt.datetime, days: int) -> int:
    """Blank the payloads of settled rows, oldest first, never past a row still waiting to be sent."""
    o = OutboxMessage.__table__
    cut = now - dt.timedelta(days=max(1, days))
    cursor_row = session.get(KeyValue, OUTBOX_CURSOR) or KeyValue(key=OUTBOX_CURSOR, value={"id": 0})
    cursor = int((cursor_row.value or {}).get("id", 0))
    total = 0
    while True:
        rows = session.execute(
            sa.select(o.c.id, o.c.status, o.c.kind).where(o.c.id > cursor, o.c.created_at < cut).order_by(o.c.id).limit(BATCH)
        ).all()
        done = [r for r in _until_unsettled(rows)]
        for r in done:
            session.execute(sa.update(o).where(o.c.id == r.id).values(payload={"kind": r.kind, **PRUNED}))
        if done:
            cursor = done[-1].id
            total += len(done)
        if len(done) < len(rows) or len(rows) < BATCH:
            break
    cursor_row.value = {"id": cursor}
    cursor_row.updated_at = now
    session.add(cursor_row)
    return total


def _until_unsettled(rows: list[Any]) -> list[Any]:
    out = []
    for r in rows:
        if r.status not in FINAL:
            break
        out.append(r)
    return out


def prune_unanswered(session: Session, now: dt.datetime, days: int) -> int:
    u = UnansweredQuestion.__table__
    res = session.execute(sa.delete(u).where(u.c.created_at < now - dt.timedelta(days=max(1, days))))
    return res.rowcount or 0


def prune_conversations(session: Session, now: dt.datetime, hours: float) -> int:
    """Group conversation rows (one per person and topic) left idle longer than a draft lives, or empty."""
    c = Conversation.__table__
    res = session.execute(sa.delete(c).where(sa.or_(c.c.state.is_(None), c.c.state_at.is_(None),
                                                    c.c.state_at < now - dt.timedelta(hours=hours))))
    return res.rowcount or 0


@job("retention", daily_at=dt.time(3, 0))
def retention(session: Session, services: Any) -> None:
    s, now = services.settings, services.clock()
    n_in = prune_inbound(session, now, s.retention_inbound_days)
    n_out = prune_outbox(session, now, s.retention_outbox_days)
    n_un = prune_unanswered(session, now, s.retention_unanswered_days)
    prune_conversations(session, now, s.draft_expire_hours)
    log.info("retention: %d inbound events deleted, %d outbox texts erased, %d unanswered questions deleted",
             n_in, n_out, n_un)
