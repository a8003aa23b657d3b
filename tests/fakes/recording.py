"""What every fake platform shares: the messages it received from the bot, and waiting for them."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import aiohttp


class Recording:
    """Mixin: `self.sent` (objects with `.text` and the attribute named by `RECIPIENT`) and `self._waiters`
    (events set whenever something is recorded)."""

    LABEL = "message"
    RECIPIENT = "chat_id"
    sent: list[Any]
    _waiters: list[asyncio.Event]

    async def wait_for(self, pred: Callable[[Any], bool], timeout: float = 10.0, count: int = 1) -> list[Any]:
        """Wait until `count` sent messages satisfy pred; returns them."""
        deadline = time.monotonic() + timeout
        ev = asyncio.Event()
        self._waiters.append(ev)
        try:
            while True:
                hits = [s for s in self.sent if pred(s)]
                if len(hits) >= count:
                    return hits
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    last = [(getattr(s, self.RECIPIENT), s.text[:60]) for s in self.sent[-5:]]
                    raise AssertionError(f"timed out waiting for {count} {self.LABEL}(s); got {len(hits)}. "
                                         f"Last sent: {last}")
                ev.clear()
                try:
                    await asyncio.wait_for(ev.wait(), timeout=min(remaining, 0.2))
                except asyncio.TimeoutError:
                    pass
        finally:
            self._waiters.remove(ev)


async def post_status(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST as the platform would deliver a webhook; the HTTP status our server answered."""
    async with aiohttp.ClientSession() as s:
        async with s.post(url, data=body, headers=headers) as r:
            await r.read()
            return r.status
