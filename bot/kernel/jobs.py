"""Periodic jobs that run once, however many instances share the database.

A job is claimed with one atomic UPDATE on its `job_run` row (due and not leased by someone else), so on
SQLite and PostgreSQL alike exactly one instance runs each occurrence. If that instance dies mid-run,
the lease expires and another instance picks the job up.

    @job("overdue-reminder", daily_at=dt.time(8, 0))
    def remind_overdue(session, services): ...

    @job("draft-expiry", every=dt.timedelta(minutes=5))
    def expire_drafts(session, services): ...
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from bot.kernel.messages import utcnow
from bot.kernel.registry import LOCAL_TZ, REGISTRY, Job

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=10)


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"

    name: str = Field(primary_key=True, max_length=64)
    next_run_at: dt.datetime
    last_run_at: Optional[dt.datetime] = None
    locked_by: Optional[str] = Field(default=None, max_length=96)
    locked_until: Optional[dt.datetime] = None


JobFn = Callable[[Session, Any], None]


def job(name: str, *, every: dt.timedelta | None = None, daily_at: dt.time | None = None) -> Callable[[JobFn], JobFn]:
    if (every is None) == (daily_at is None):
        raise ValueError("a job needs exactly one of every= or daily_at=")

    def register(fn: JobFn) -> JobFn:
        REGISTRY.add_job(Job(name, fn, every, daily_at))
        return fn

    return register


def claim(session: Session, j: Job, owner: str, now: dt.datetime, dead: Callable[[str], bool] = lambda o: False) -> bool:
    """True if this instance may run the job now (it is due and nobody else holds it, or its holder no longer
    runs: a job is not held up for the 10-minute lease by a crashed instance)."""
    t = JobRun.__table__
    if session.get(JobRun, j.name) is None:
        from bot.storage.dialect import insert_ignore

        first = j.next_after(now) if j.daily_at else now
        insert_ignore(session, t, {"name": j.name, "next_run_at": first}, ["name"])
    free = sa.or_(t.c.locked_until.is_(None), t.c.locked_until < now)
    holder = session.execute(sa.select(t.c.locked_by).where(t.c.name == j.name)).scalar()
    if holder and holder != owner and dead(holder):
        free = sa.or_(free, t.c.locked_by == holder)
    res = session.execute(
        sa.update(t)
        .where(t.c.name == j.name, t.c.next_run_at <= now, free)
        .values(locked_by=owner, locked_until=now + LEASE)
    )
    return res.rowcount == 1


def finish(session: Session, j: Job, owner: str, now: dt.datetime) -> None:
    t = JobRun.__table__
    session.execute(
        sa.update(t)
        .where(t.c.name == j.name, t.c.locked_by == owner)
        .values(locked_by=None, locked_until=None, last_run_at=now, next_run_at=j.next_after(now))
    )


def retry_later(session: Session, j: Job, owner: str, now: dt.datetime) -> None:
    """A failed run is tried again in a minute, not in a tight loop."""
    t = JobRun.__table__
    session.execute(
        sa.update(t)
        .where(t.c.name == j.name, t.c.locked_by == owner)
        .values(locked_by=None, locked_until=None, next_run_at=now + dt.timedelta(minutes=1))
    )


class Scheduler:
    def __init__(self, db: Any, services: Any, jobs: dict[str, Job] | None = None, tick: float = 5.0,
                 owner: str | None = None):
        from bot.kernel import liveness

        self.db = db
        self.services = services
        self.jobs = jobs if jobs is not None else services.registry.jobs
        self.tick = tick
        self.owner = owner or liveness.new_owner()
        self._dead = lambda holder: liveness.owner_dead(holder, self.owner)
        self.runs: dict[str, int] = {}

    async def run_due(self) -> None:
        """Claim (committed lease), run (own transaction), reschedule — for every due job."""
        for j in list(self.jobs.values()):
            now = self.services.clock()
            try:
                if not await self.db.run(claim, j, self.owner, now, self._dead):
                    continue
            except Exception:
                log.exception("job %s: claim failed", j.name)
                continue
            try:
                await self.db.run(j.fn, self.services)
                await self.db.run(finish, j, self.owner, now)
                self.runs[j.name] = self.runs.get(j.name, 0) + 1
            except Exception:  # one failing job must not stop the others
                log.exception("job %s failed; retrying in a minute", j.name)
                try:
                    await self.db.run(retry_later, j, self.owner, now)
                except Exception:  # the database is away too: the lease lets it run again later
                    log.exception("job %s: could not reschedule", j.name)

    async def run(self) -> None:
        while True:
            await self.run_due()
            await asyncio.sleep(self.tick)


__all__ = ["LOCAL_TZ", "Job", "JobRun", "Scheduler", "job", "utcnow"]
