"""What both Zalo adapters share: secret redaction, and telling staff when their answer cannot reach a citizen.

`kind="staff_answer"` is the outbox kind of an officer's answer to a citizen (the tickets feature queues it
with `ref` = the ticket code). When such a message to a Zalo citizen ends undelivered (the OA reply window
has passed, the person unfollowed, Zalo rejected it, or retries ran out), the staff inbox is told, with the
ticket code, the reason and the text, instead of the answer failing silently. If the Reply's `extra` carries
`staff_thread_id`, the notice goes into that forum topic of the staff chat.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from sqlmodel import Session, select

from bot import logs
from bot.channels.base import SendResult, strip_markup
from bot.messages import TELEGRAM, ZALO, ZALO_OA, Reply
from bot.outbox import on_outcome
from bot.storage.models import OutboxMessage
from handlers import texts_zalo

log = logging.getLogger(__name__)

STAFF_ANSWER = "staff_answer"
UNDELIVERED_KIND = "undelivered"
ZALO_CHANNELS = (ZALO, ZALO_OA)
TERMINAL_STATUSES = ("failed", "blocked", "dead")
QUOTE_LIMIT = 1500
# SendResult.extra flag: the chat itself cannot be reached (window passed, unfollowed), not just this message.
CHAT_UNREACHABLE = "chat_unreachable"


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


@on_outcome
def report_undelivered_staff_answer(session: Session, row: OutboxMessage, result: SendResult) -> None:
    """An officer's answer that will never reach a Zalo citizen is reported in the staff inbox."""
    if row.channel not in ZALO_CHANNELS or row.kind != STAFF_ANSWER or row.status not in TERMINAL_STATUSES:
        return
    extra = (row.payload or {}).get("extra") or {}
    if extra.get("ticket_id") and extra.get("to_citizen"):
        return  # the tickets feature reports its own undelivered messages (handlers/ticketing.py)
    reason = row.last_error or result.error or "không rõ"
    if row.status == "dead":  # transient errors until OUTBOX_MAX_AGE_HOURS ran out
        reason = texts_zalo.REASON_GAVE_UP.format(detail=reason)
    parts = [row]
    if (result.extra or {}).get(CHAT_UNREACHABLE) or row.status == "blocked":
        # The rest of this answer cannot arrive either: stop it now and report the answer once.
        o = OutboxMessage
        ref_match = o.ref.is_(None) if row.ref is None else o.ref == row.ref
        siblings = session.exec(
            select(o).where(o.chat_key == row.chat_key, o.kind == STAFF_ANSWER, o.status == "pending", o.id != row.id, ref_match)
            .order_by(o.id)
        ).all()
        for s in siblings:
            s.status, s.last_error = row.status, reason[:500]
            session.add(s)
        parts += list(siblings)
    services = session.info.get("services")
    staff_chat = getattr(getattr(services, "settings", None), "staff_chat_id", "") if services else ""
    if not staff_chat:
        log.error("staff answer %s to %s could not be delivered (%s) and STAFF_CHAT_ID is not set to tell anyone",
                  row.ref or row.id, row.chat_key, reason)
        return
    quote = "\n".join(strip_markup((p.payload or {}).get("text") or "") for p in parts).strip()
    if len(quote) > QUOTE_LIMIT:
        quote = quote[:QUOTE_LIMIT].rstrip() + "…"
    text = texts_zalo.UNDELIVERED.format(
        channel=texts_zalo.CHANNEL_NAMES.get(row.channel, row.channel),
        ref=f" (phản ánh {row.ref})" if row.ref else "",
        reason=reason.rstrip("."),
        parts=f"{len(parts)} tin nhắn",
        text=quote or "(trống)",
    )
    thread = extra.get("staff_thread_id")
    from bot import core  # late: core imports the handlers package

    core.deliver(session, Reply(text, channel=TELEGRAM, chat_id=str(staff_chat), thread_id=str(thread) if thread else None,
                                kind=UNDELIVERED_KIND, ref=row.ref))
    log.warning("staff answer %s to %s undelivered (%s); staff told", row.ref or row.id, row.chat_key, reason)

