"""Flood control before anything is stored.

Per chat: at most `limit` messages in any `period` seconds are stored and answered. The first message over
the limit gets ONE polite "slow down" (queued in the outbox like any reply); the rest of the burst is
acknowledged to the platform but not stored, so a stuck key or a script cannot fill the database.

Per channel: at most `channel_per_second` updates per second are accepted by this process; beyond that the
webhook answers 503 and the platform redelivers later (Telegram and Zalo retry), so a flood of distinct
(fake) users slows the bot down instead of filling the disk.

Windows live in this process's memory: with several instances behind a load balancer the per-chat limit is
per instance (at most N × limit overall), which still bounds a flood.
"""
from __future__ import annotations

import collections
import time
from typing import Callable


class RecentKeys:
    """The platform keys of the last `size` events this process took in: a redelivery (Telegram resends an update
    until it gets a 200, possibly many times) is recognised before flood control counts it."""

    def __init__(self, size: int = 50_000):
        self.size = size
        self._keys: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._keys

    def add(self, key: tuple[str, str]) -> None:
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)


class FloodGuard:
    """Sliding windows per chat and per channel. Not thread-safe: used from the event loop only."""

    def __init__(self, limit: int, period: float, channel_per_second: int,
                 clock: Callable[[], float] = time.monotonic, max_chats: int = 100_000):
        self.limit, self.period, self.channel_per_second = limit, period, channel_per_second
        self.clock = clock
        self.max_chats = max_chats
        self._chats: dict[str, collections.deque[float]] = {}
        self._warned: dict[str, float] = {}  # chat -> when the "slow down" notice went out
        self._channels: dict[str, collections.deque[float]] = {}
        self._last_sweep = clock()

    def channel_ok(self, channel: str) -> bool:
        """False when this channel is over its per-second cap (answer 503: the platform retries)."""
        if self.channel_per_second <= 0:
            return True
        now = self.clock()
        q = self._channels.setdefault(channel, collections.deque())
        while q and now - q[0] >= 1.0:
            q.popleft()
        if len(q) >= self.channel_per_second:
            return False
        q.append(now)
        return True

    def check(self, key: str) -> str:
        """"ok" (store it), "warn" (drop it, send the one notice) or "drop" (drop it silently)."""
        if self.limit <= 0:
            return "ok"
        now = self.clock()
        q = self._chats.get(key)
        if q is None:
            q = self._chats[key] = collections.deque()
            self._sweep(now)
        while q and now - q[0] >= self.period:
            q.popleft()
        if len(q) < self.limit:
            q.append(now)
            if len(q) == 1:  # the window had emptied: a new burst may be warned again
                self._warned.pop(key, None)
            return "ok"
        warned = self._warned.get(key)
        if warned is not None and now - warned < self.period:
            return "drop"
        self._warned[key] = now
        return "warn"

    def refund(self, key: str) -> None:
        """The last message counted for this chat turned out to be a redelivery: it does not count."""
        q = self._chats.get(key)
        if q:
            q.pop()

    def _sweep(self, now: float) -> None:
        """Forget idle chats now and then so memory stays bounded."""
        if len(self._chats) < self.max_chats and now - self._last_sweep < 300:
            return
        self._last_sweep = now
        for k in [k for k, q in self._chats.items() if not q or now - q[-1] >= self.period]:
            del self._chats[k]
            self._warned.pop(k, None)
