"""The web chat's photos: their erasure (/xoadulieu) and retention; the table is `bot.storage.web.WebUpload`.

Telegram and Zalo keep files on their platforms (we store references); the browser gives us the bytes, so they
live here, in the shared database (any instance can serve them, /xoadulieu deletes them with the rest).
Only re-encoded images are stored (no EXIF, no GPS, no polyglot payload): see `uploads.py`.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.storage.web import WebUpload

if TYPE_CHECKING:
    from collections import Counter

    from sqlmodel import Session

    from bot.kernel.privacy import Subject
    from bot.kernel.registry import Services


def _erase_uploads(session: Session, subject: Subject, now: dt.datetime, services: Services) -> Counter:
    """/xoadulieu from a browser: its photos go (the core erases its messages, the tickets their copies)."""
    from collections import Counter

    done: Counter = Counter()
    if subject.channel == "web":
        t = WebUpload.__table__
        done["photos"] += session.execute(sa.delete(t).where(t.c.chat_id == subject.chat_id)).rowcount or 0
    return done


def prune_uploads(session: Session, now: dt.datetime, days: int) -> int:
    """Photos older than the message retention that no report keeps (one never filed, or whose report lost them
    to /xoadulieu or the contact retention) are deleted; a report's photos stay as long as the report has them."""

    t = WebUpload.__table__
    cut = now - dt.timedelta(days=max(2, days))
    old = [r[0] for r in session.execute(sa.select(t.c.id).where(t.c.created_at < cut).limit(5000))]
    if not old:
        return 0
    kept: set[str] = set()
    m = sa.table("ticket_message", sa.column("attachments", sa.JSON))
    for (attachments,) in session.execute(sa.select(m.c.attachments).where(m.c.attachments.is_not(None))):
        for a in attachments or []:
            ref = str((a or {}).get("ref") or "") if isinstance(a, dict) else ""
            if "/chat/media/" in ref:
                kept.add(ref.rsplit("/", 1)[-1])
    gone = [i for i in old if i not in kept]
    if gone:
        session.execute(sa.delete(t).where(t.c.id.in_(gone)))
    return len(gone)


def _register() -> None:

    from bot.kernel.jobs import job
    from bot.kernel.privacy import eraser

    eraser(_erase_uploads)

    @job("web_uploads_retention", daily_at=dt.time(3, 30))
    def web_uploads_retention(session: Session, services: Services) -> None:
        prune_uploads(session, services.clock(), services.settings.retention_inbound_days)


_register()
