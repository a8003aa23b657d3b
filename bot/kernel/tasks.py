"""Background tasks, supervised: every long-running loop of the process (workers, pollers, token refreshers)
is spawned here, so that one that raises is logged, restarted after a back-off and reported down meanwhile."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

log = logging.getLogger(__name__)


class Supervisor:
    """A loop that raises is logged, restarted after a back-off (1 s, doubling to 30 s) and reported down
    meanwhile (`/readyz` answers 503 and names it). One transient database error used to end the outbox loop
    for good."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.down: dict[str, str] = {}  # name -> the error that stopped it (while it waits to restart)
        self.restarts: dict[str, int] = {}

    def spawn(self, name: str, fn: Callable[[], Any]) -> "asyncio.Task[None]":
        task = asyncio.create_task(self._supervise(name, fn), name=name)
        self.tasks[name] = task
        return task

    async def _supervise(self, name: str, fn: Callable[[], Any]) -> None:
        """Run fn() until it returns (the loops return only when they are told to stop); restart it if it raises."""
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                await fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the point: log, back off, restart
                if time.monotonic() - started > 60:
                    delay = 1.0  # it ran a good while: a new trouble, not the same one
                self.down[name] = f"{type(err).__name__}: {err}"[:200]
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log.error("background loop %s stopped (%s); restarting in %.0f s", name, self.down[name], delay,
                          exc_info=err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                self.down.pop(name, None)

    async def cancel(self, names: list[str] | None = None) -> None:
        chosen = [t for n, t in self.tasks.items() if names is None or n in names]
        for t in chosen:
            t.cancel()
        await asyncio.gather(*chosen, return_exceptions=True)
