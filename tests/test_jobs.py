"""Periodic jobs run once per occurrence, however many instances share the database."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.kernel.jobs import Job, Scheduler
from bot.kernel.registry import Services
from bot.storage.db import Database
from tests.conftest import make_settings


class Clock:
    def __init__(self, t: dt.datetime):
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_two_schedulers_run_each_occurrence_once(engine, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'j.sqlite3'}" if engine == "sqlite" else request.getfixturevalue("pg_url")
    clock = Clock(dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.timezone.utc))  # 07:30 in An Giang
    runs: list[str] = []

    def count(session, services):
        runs.append(services.clock().isoformat())

    jobs = {"daily": Job("daily", count, daily_at=dt.time(8, 0)), "often": Job("often", count, every=dt.timedelta(minutes=5))}
    dbs = [Database(url), Database(url)]
    dbs[0].migrate()
    services = Services(settings=make_settings(tmp_path), kb_ref=lambda: None, clock=clock)
    scheds = [Scheduler(db, services, jobs=jobs) for db in dbs]

    await asyncio.gather(*(s.run_due() for s in scheds))
    assert sum(s.runs.get("often", 0) for s in scheds) == 1  # first occurrence: exactly one instance
    assert sum(s.runs.get("daily", 0) for s in scheds) == 0  # not yet 08:00 local time

    clock.t += dt.timedelta(minutes=31)  # 08:01 local
    await asyncio.gather(*(s.run_due() for s in scheds))
    await asyncio.gather(*(s.run_due() for s in scheds))
    assert sum(s.runs.get("daily", 0) for s in scheds) == 1
    assert sum(s.runs.get("often", 0) for s in scheds) == 2
    for db in dbs:
        db.dispose()


async def test_failing_job_is_retried_later_not_in_a_loop(tmp_path):
    clock = Clock(dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
    calls = []

    def boom(session, services):
        calls.append(1)
        raise RuntimeError("boom")

    db = Database(f"sqlite:///{tmp_path / 'f.sqlite3'}")
    db.migrate()
    s = Scheduler(db, Services(settings=make_settings(tmp_path), kb_ref=lambda: None, clock=clock),
                  jobs={"b": Job("b", boom, every=dt.timedelta(minutes=5))})
    await s.run_due()
    await s.run_due()
    assert len(calls) == 1
    clock.t += dt.timedelta(seconds=61)
    await s.run_due()
    assert len(calls) == 2
    db.dispose()
