"""Engine, transactions and migrations.

All database work is plain synchronous SQLAlchemy inside one transaction (`Database.run`), executed off
the event loop: on SQLite by a single thread (SQLite has one writer; one thread means no lock waits), on
PostgreSQL by a small pool.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_ID = 0x4E544D  # "NTM": advisory lock taken while migrating PostgreSQL


def _json(value: Any) -> str:
    # Vietnamese text as it is, not as \uXXXX escapes (6 bytes per accented letter instead of 2–3; replies ≈ 32% smaller).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (None for in-memory or non-SQLite URLs), as SQLAlchemy reads the URL:
    "sqlite://" is in-memory, a query ("?mode=ro") is not part of the path."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file::memory:") or parsed.query.get("mode") == "memory":
        return None
    return path


def make_engine(url: str, pool_size: int = 8) -> Engine:
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, json_serializer=_json)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, json_serializer=_json)


def _is_retryable(err: Exception) -> bool:
    """Serialization failures / deadlocks (PostgreSQL) and a busy SQLite database are worth one more try."""
    if isinstance(err, OperationalError) and "locked" in str(err).lower():
        return True
    if isinstance(err, DBAPIError):
        code = getattr(getattr(err, "orig", None), "sqlstate", None)
        return code in ("40001", "40P01")
    return False


class _TakeTurns:
    """Transactions of every bot instance on one SQLite file take turns on an OS file lock next to the
    database (`<file>.lock`), instead of polling SQLite's busy lock (sleeps of up to 100 ms) or failing when
    another instance wrote after this transaction read. Re-entrant within a process; a process that dies
    releases it. CLI commands do not take it (a long export must not hold the bot up): they rely on SQLite's
    own lock as before."""

    def __init__(self, path: str):
        import fcntl

        self._flock, self._ex, self._un = fcntl.flock, fcntl.LOCK_EX, fcntl.LOCK_UN
        self._fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._local = threading.RLock()
        self._depth = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            if self._depth == 0:
                self._flock(self._fd, self._ex)  # blocks without the GIL
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._flock(self._fd, self._un)

    def close(self) -> None:
        os.close(self._fd)


class Database:
    def __init__(self, url: str, workers: int | None = None, take_turns: bool = False):
        """`take_turns`: on SQLite, serialise transactions with other instances on the same file (the bot)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgres")
        if workers is None:
            workers = 1 if self.is_sqlite else 4
        self.engine = make_engine(url, pool_size=max(workers, 2))
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")
        path = _sqlite_file(url)
        self._turns = _TakeTurns(path) if take_turns and path and os.name == "posix" else None

    def _turn(self) -> contextlib.AbstractContextManager[Any]:
        return self._turns.held() if self._turns is not None else contextlib.nullcontext()

    # -- transactions
    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._turn(), Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(session, …) in one transaction, retrying transient conflicts a few times."""
        for attempt in range(5):
            try:
                with self.session() as s:
                    return fn(s, *args, **kwargs)
            except Exception as err:  # re-raised unless retryable
                if attempt < 4 and _is_retryable(err):
                    time.sleep(0.05 * (attempt + 1))
                    continue
                raise
        raise AssertionError("unreachable")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call` off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self.call, fn, *args, **kwargs))

    # -- schema
    def migrate(self) -> None:
        """Bring the schema to the newest revision (safe with several instances on PostgreSQL)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._turn(), self.engine.connect() as conn:  # SQLite instances starting together: one at a time
            if self.is_postgres:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_ID})
                conn.commit()
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
                conn.commit()
            finally:
                if self.is_postgres:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_ID})
                    conn.commit()

    def dispose(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
        if self._turns is not None:
            self._turns.close()
