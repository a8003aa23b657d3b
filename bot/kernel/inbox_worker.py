"""The inbox worker: runs pending inbound events through the kernel (`inbox.process_chat`), one task per chat so
that each chat stays in order, and sweeps for events left pending (crash recovery, other instances' leftovers)."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from bot.kernel import inbox
from bot.kernel.registry import Services
from bot.storage.db import Database

log = logging.getLogger(__name__)


class InboxWorker:
    """Runs pending inbound events through the core, one task per chat so each chat stays in order."""

    def __init__(self, db: Database, services: Services, processed: Callable[[], None], max_parallel: int = 64):
        self.db = db
        self.services = services
        self._on_processed = processed  # events were processed (their replies are queued): wake the outbox
        self._active: set[str] = set()
        self._again: set[str] = set()
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(max_parallel)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.processed = 0

    def schedule(self, key: str) -> None:
        if self._stopping:
            return
        if key in self._active:
            self._again.add(key)  # a new event arrived while this chat is being processed
            return
        self._active.add(key)
        task = asyncio.create_task(self._process(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, key: str) -> None:
        try:
            async with self._limit:
                while True:
                    self._again.discard(key)
                    try:
                        n = await self.db.run(inbox.process_chat, key, self.services)
                    except Exception as err:  # database trouble: count the attempt, retry on the next sweep
                        log.exception("processing %s failed", key)
                        try:
                            await self.db.run(inbox.mark_failed_attempt, key, f"{type(err).__name__}: {err}")
                        except Exception:  # the database is away: the next sweep tries again
                            log.warning("processing %s: could not count the failed attempt", key)
                        break
                    self.processed += n
                    if n:
                        self._on_processed()
                    if key not in self._again:
                        break
        finally:
            self._active.discard(key)

    async def run(self) -> None:
        """Sweep for events left pending (crash recovery, other instances' leftovers)."""
        while not self._stopping:
            try:
                for key in await self.db.run(inbox.pending_chat_keys, 200):
                    self.schedule(key)
            except Exception:  # keep sweeping
                log.exception("inbox sweep failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=2.0)
            except asyncio.TimeoutError:
                pass

    async def drain(self, timeout: float) -> None:
        """Process everything pending (the final sweep on shutdown), for at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                keys = await self.db.run(inbox.pending_chat_keys, 200)
            except Exception:  # the database is gone: nothing more to do here
                log.exception("inbox drain: sweep failed")
                return
            for key in keys:
                self.schedule(key)
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=max(0.0, deadline - time.monotonic()))
            elif not keys:
                return
            else:
                await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 15.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
