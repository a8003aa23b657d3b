"""What both Zalo adapters share: rate limits, secret redaction and throttled operator alerts.

Final send failures carry a Vietnamese reason in `SendResult.error` (handlers/texts_zalo.py), flagged with
`CHAT_UNREACHABLE` when the citizen cannot be reached at all (the OA reply window has passed); the tickets
feature shows that reason to the officers when their answer cannot arrive (handlers/ticketing.py).
"""
from __future__ import annotations

import logging
import time
from typing import Any

from bot import logs
from bot.outbox import Limit


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
