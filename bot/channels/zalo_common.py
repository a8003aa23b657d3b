"""What both Zalo adapters share: rate limits, secret redaction and throttled operator alerts.

Final send failures carry a Vietnamese reason in `SendResult.error` (bot/channels/zalo_texts.py), flagged with
`CHAT_UNREACHABLE` when the citizen cannot be reached at all (the OA reply window has passed); the tickets
feature shows that reason to the officers when their answer cannot arrive (bot/features/tickets/service.py).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import aiohttp
from aiohttp import web

from bot.kernel import logs, metrics
from bot.kernel.channel import Busy
from bot.kernel.outbox import Limit

if TYPE_CHECKING:
    from bot.kernel.channel import Host

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
BODY_TIMEOUT = 10.0  # seconds to receive a webhook body once the headers are in (slow uploads are cut off)
APP_KEY = web.AppKey("ntm_app", object)  # the App, on its aiohttp application (for settings)


def rate_limits(channel: str, chat_id: str, chat_burst: int, chat_rate: float, rate: float) -> list[Limit]:
    """Per chat (a short burst, then `chat_rate`/s) and for the whole bot (`rate`/s); Zalo publishes no numbers."""
    burst = max(1, chat_burst)
    n = max(1, round(rate))
    return [
        Limit(f"{channel}:chat:{chat_id}", burst, burst / max(chat_rate, 0.001)),
        Limit(f"{channel}:all", n, n / max(rate, 0.001)),
    ]


def redact(text: str, *secrets: str) -> str:
    """Remove our secrets (and anything shaped like a bot token or phone number) from text for logs/errors."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<token>")
    return logs.redact(text)


class ThrottledAlert:
    """Log an operator alert at ERROR once per period (then at DEBUG), so a dead token does not flood logs."""

    def __init__(self, logger: logging.Logger, period: float = 600.0):
        self.log, self.period = logger, period
        self._last: dict[str, float] = {}

    def __call__(self, key: str, msg: str, *args: Any) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) >= self.period:
            self._last[key] = now
            self.log.error(msg, *args)
            return True
        self.log.debug(msg, *args)
        return False


# ---------------------------------------------------------------- webhooks (one helper for both Zalo adapters)
class Rejected(Exception):
    """A webhook request refused with a 4xx: counted in ntm_webhook_rejected_total{channel, reason}."""

    def __init__(self, status: int, reason: str, text: str = ""):
        self.status, self.reason, self.text = status, reason, text or reason.replace("_", " ")
        super().__init__(f"{status} {reason}")


def secret_matches(given: str, secret: str) -> bool:
    """Constant-time comparison of a header with a configured secret. Header bytes that are not valid UTF-8
    (aiohttp hands them over as surrogates) compare unequal instead of raising."""
    return bool(secret) and hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8", "replace"))


async def read_body(request: web.Request, limit: int = MAX_BODY, timeout: float | None = None) -> bytes:
    """The raw body, at most `limit` bytes, received within `timeout` seconds; an upload the client aborts is a
    400, not an ERROR in the log (nobody authenticated has sent anything yet)."""
    if request.content_length is not None and request.content_length > limit:
        raise Rejected(413, "too_large")
    if timeout is None:
        settings = getattr(request.app.get(APP_KEY), "settings", None)
        timeout = getattr(settings, "http_body_seconds", BODY_TIMEOUT)
    try:
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Rejected(413, "too_large") from None
    except TimeoutError:
        raise Rejected(408, "slow_body") from None
    except (aiohttp.ClientPayloadError, ConnectionError, asyncio.IncompleteReadError):
        raise Rejected(400, "aborted") from None
    if len(raw) > limit:
        raise Rejected(413, "too_large")
    return raw


def load_json(raw: bytes, **kwargs: Any) -> Any:
    """json.loads for untrusted bytes: malformed, not UTF-8 or nested too deep (RecursionError) is a 400."""
    try:
        return json.loads(raw, **kwargs)
    except (ValueError, RecursionError):
        raise Rejected(400, "malformed") from None


_LOGGED = {"secret": "bad secret", "signature": "bad signature", "stale": "stale event (a replay of old bytes?)"}


async def serve_webhook(request: web.Request, app: "Host", channel: str,
                        handle: Callable[[web.Request], Awaitable[web.Response]]) -> web.Response:
    """Run a Zalo webhook handler the way the Telegram one runs: 503 (the platform delivers again later) while
    the bot is stopping or the channel is over its cap, 4xx for what `handle` rejects, counted by reason."""

    if not app.accepting:
        return web.Response(status=503, text="shutting down", headers={"Retry-After": "5"})
    try:
        return await handle(request)
    except Rejected as r:
        metrics.WEBHOOK_REJECTED.labels(channel, r.reason).inc()
        if r.reason in _LOGGED:
            log.warning("%s webhook: %s from %s", channel, _LOGGED[r.reason], request.remote)
        return web.Response(status=r.status, text=r.text)
    except Busy:
        return web.Response(status=503, text="busy", headers={"Retry-After": "1"})
