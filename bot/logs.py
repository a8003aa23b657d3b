"""Logging: plain or JSON lines; bot tokens, webhook secrets and phone numbers never reach a log.

Redaction happens when a record is *created* (a log record factory), so every handler sees the clean
text: ours, aiohttp's access and error logs, PTB's, pytest's caplog, and exception tracebacks (the
Telegram token sits in every Bot API URL, and a failed request's traceback may quote it).
"""
from __future__ import annotations

import json
import logging
import re
import sys
import threading

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")
_TG_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")  # Telegram bot token shape
_URL_TOKEN = re.compile(r"/bot[^/\s]+/")  # …/bot<TOKEN>/method (Telegram and Zalo Bot Platform)

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def add_secret(value: str | None) -> None:
    """Redact this exact string wherever it appears (configured tokens, webhook secrets, app secrets)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<secret>")
    text = _URL_TOKEN.sub("/bot<token>/", text)
    text = _TG_TOKEN.sub("<token>", text)
    return _PHONE.sub("<phone>", text)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Clean a record in place: its message (with args merged) and its traceback text."""
    if getattr(record, "_redacted", False):
        return record
    try:
        msg = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: keep what we can
        msg = str(record.msg)
    clean = redact(msg)
    if clean != msg or record.args:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._redacted = True  # type: ignore[attr-defined]
    return record


def install_record_factory() -> None:
    """Make every LogRecord of the process redacted at birth (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        base = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            return redact_record(base(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True


class RedactingFilter(logging.Filter):
    """Belt and braces for handlers that see records made before the factory was installed."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if record.exc_info or record.exc_text:
            out["exc"] = redact(record.exc_text or self.formatException(record.exc_info))  # type: ignore[arg-type]
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", json_logs: bool = False, access_log: bool = False, path: str | None = None) -> None:
    """Logs to stderr, or appended to the file at `path` (the terminal chat: the chat window is the person's,
    the operator's log lines go to a file)."""
    install_record_factory()
    handler: logging.Handler = logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_logs else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "telegram", "alembic", "aiogram"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if access_log else logging.WARNING)
