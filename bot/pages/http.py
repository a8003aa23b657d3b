"""What every public page needs from HTTP: who is asking (behind the reverse proxy) and how often."""
from __future__ import annotations

import collections
import ipaddress
import time
from typing import Callable

from aiohttp import web

from bot.kernel import websec


class AddressLimiter:
    """A token bucket per client address: `burst` pages at once, then `per_minute`. Memory is bounded (the
    least recently seen addresses are forgotten first). Per process, like the bot's flood control."""

    def __init__(self, per_minute: float = 30, burst: int = 30, max_addresses: int = 50_000,
                 clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.max = per_minute / 60.0, burst, max_addresses
        self.clock = clock
        self._buckets: collections.OrderedDict[str, tuple[float, float]] = collections.OrderedDict()

    def take(self, address: str) -> float:
        """0 if this request may go ahead; otherwise the seconds to wait."""
        now = self.clock()
        tokens, at = self._buckets.pop(address, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        if not wait:
            tokens -= 1
        self._buckets[address] = (tokens, now)
        if len(self._buckets) > self.max:
            self._buckets.popitem(last=False)
        return wait


def client_address(request: web.Request) -> str:
    """The citizen's address: the peer's, or, when the peer is the reverse proxy on this machine (the deployment
    the docs describe: nginx or Caddy in front, the bot on 127.0.0.1), the last X-Forwarded-For hop, which is
    the address the proxy itself saw (anything before it was written by the client and proves nothing)."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and websec.from_local_proxy(request):
        last = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return peer
    return peer
