"""Logging: plain or JSON lines; bot tokens and phone numbers never reach a log."""
from __future__ import annotations

import json
import logging
import re
import sys

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")
_TG_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")  # Telegram bot token shape
_URL_TOKEN = re.compile(r"/bot[^/\s]+/")  # …/bot<TOKEN>/method (Telegram and Zalo Bot Platform)


def redact(text: str) -> str:
    text = _URL_TOKEN.sub("/bot<token>/", text)
    text = _TG_TOKEN.sub("<token>", text)
    return _PHONE.sub("<phone>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", json_logs: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "telegram", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
