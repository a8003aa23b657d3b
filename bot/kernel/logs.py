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
from typing import Any

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")
_MANY_DIGITS = re.compile(r"\d(?:\D{0,4}\d){7}")  # 8+ digits close together: worth asking phonenumbers
_TG_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")  # Telegram bot token shape
_URL_TOKEN = re.compile(r"/bot[^/\s]+/")  # …/bot<TOKEN>/method (Telegram and Zalo Bot Platform)

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


_secret_re: re.Pattern[str] | None = None


def add_secret(value: str | None) -> None:
    """Redact this string wherever it appears, in any letter case (configured tokens, webhook secrets, app secrets;
    python-telegram-bot lower-cases the error texts it quotes)."""
    global _secret_re
    if value and len(value) >= 6 and value not in _secrets:
        with _lock:
            _secrets.add(value)
            _secret_re = re.compile("|".join(re.escape(x) for x in sorted(_secrets, key=len, reverse=True)), re.IGNORECASE)


# Settings that hold secrets: every one configured is redacted from every log line (and CLI error).
SECRET_SETTINGS = (
    "telegram_bot_token", "telegram_webhook_secret", "zalo_bot_token", "zalo_bot_webhook_secret",
    "zalo_oa_app_secret", "zalo_oa_secret_key", "zalo_oa_access_token", "zalo_oa_refresh_token", "smtp_password",
)


def add_settings_secrets(settings: object) -> None:
    """Register every configured secret of the settings (tokens, webhook secrets, app secrets, passwords; the
    secret half of a Zalo Bot token; the password in DATABASE_URL)."""
    for name in SECRET_SETTINGS:
        value = str(getattr(settings, name, "") or "")
        add_secret(value)
        if name == "zalo_bot_token" and ":" in value:
            add_secret(value.split(":", 1)[1])
    url = str(getattr(settings, "database_url", "") or "")
    if "@" in url and "://" in url:
        try:
            from sqlalchemy.engine import make_url

            add_secret(make_url(url).password)
        except Exception:  # a malformed URL fails elsewhere, loudly
            pass


def _phones(text: str) -> str:
    """Phone numbers in any format people write them ("(+84) 912 345 679", "+84 (912) 345-670", "(091) 234 5678",
    "0296 3123 456"): found with phonenumbers' matcher (VN numbering plan, valid numbers only), plus the plain
    Vietnamese shapes of the regex (which also catch invalid numbers a person may still have typed)."""
    if _MANY_DIGITS.search(text):
        import phonenumbers as pn

        found = [(m.start, m.end) for m in pn.PhoneNumberMatcher(text, "VN", leniency=pn.Leniency.VALID)]
        for start, end in reversed(found):
            text = text[:start] + "<phone>" + text[end:]
    return _PHONE.sub("<phone>", text)


def redact(text: str) -> str:
    if _secret_re is not None:
        text = _secret_re.sub("<secret>", text)
    text = _URL_TOKEN.sub("/bot<token>/", text)
    text = _TG_TOKEN.sub("<token>", text)
    return _phones(text)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Clean a record in place: its message (with args merged) and its traceback text."""
    if getattr(record, "_redacted", False):
        return record
    record._template = record.msg  # what makes lines "the same" (RateLimitFilter)
    try:
        msg = record.getMessage()
    except Exception:  # a bad format string: keep what we can
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
    record._redacted = True
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


class RateLimitFilter(logging.Filter):
    """The same line (logger, level, message template) at most `burst` times per `period` seconds; the rest are
    counted and summed up in the next line that gets through. A flood of identical errors (asyncio's accept()
    failing at the file-descriptor limit: 72,445 lines in 15 s) must not fill the disk or drown the rest."""

    def __init__(self, burst: int = 10, period: float = 10.0, clock: Any = None) -> None:
        super().__init__()
        import time

        self.burst, self.period = burst, period
        self.clock = clock or time.monotonic
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key -> [window start, count, suppressed]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(getattr(record, "_template", record.msg))[:200])
        now = self.clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.period:
                suppressed = int(entry[2]) if entry else 0
                self._seen[key] = [now, 1, 0]
                if len(self._seen) > 10_000:
                    self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.period}
                if suppressed:
                    record.msg = f"{record.getMessage()} (and {suppressed} more like it in the last {self.period:.0f} s)"
                    record.args = ()
                return True
            entry[1] += 1
            if entry[1] <= self.burst:
                return True
            entry[2] += 1
            return False


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
            out["exc"] = redact(record.exc_text or self.formatException(record.exc_info))  # type: ignore[arg-type]  # exc_info is set whenever exc_text is not
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", json_logs: bool = False, access_log: bool = False, path: str | None = None) -> None:
    """Logs to stderr, or appended to the file at `path` (the terminal chat: the chat window is the person's,
    the operator's log lines go to a file)."""
    install_record_factory()
    handler: logging.Handler = logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    handler.addFilter(RateLimitFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_logs else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "telegram", "alembic", "aiogram"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if access_log else logging.WARNING)
