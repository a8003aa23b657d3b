"""What the outbox reports about ticket messages (an outcome hook): the forum topic created, a topic that can no
longer be used, an answer that could not reach the citizen (told to the officers once)."""
from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from bot.config import Settings
from bot.features.tickets import texts as T
from bot.features.tickets.service import (
    _deliver_staff,
    _queue_card,
    _queue_topic,
    _topic_op,
    card_text,
    channel_name,
    notify_citizen,
    notify_staff,
    staff_target,
    topic_mode,
)
from bot.kernel.channel import CHAT_UNREACHABLE, SendResult, strip_markup
from bot.kernel.messages import TELEGRAM, Attachment, Reply
from bot.kernel.outbox import on_outcome
from bot.storage.dialect import insert_ignore
from bot.storage.models import OutboxMessage
from bot.storage.tickets import (
    CLOSED,
    NEW,
    Ticket,
    TicketMessage,
    TicketStaffMessage,
)

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ send outcomes
def _about_ticket(payload: dict[str, Any]) -> bool:
    return bool((payload.get("extra") or {}).get("ticket_id"))


@on_outcome(when=_about_ticket)
def _on_ticket_outcome(session: Session, row: OutboxMessage, result: SendResult) -> None:
    extra = (row.payload or {}).get("extra") or {}
    ticket_id = extra.get("ticket_id")
    if not ticket_id:
        return
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return
    settings = _hook_settings(session)
    if extra.get("op") == "create_topic":
        _topic_created(session, settings, row, ticket, result)
        return
    if extra.get("to_citizen"):
        if row.status in UNDELIVERED_STATUSES:
            _report_undelivered(session, settings, ticket, row, result)
        return
    if row.status in UNDELIVERED_STATUSES:
        topic = (result.extra or {}).get("topic")  # bot.channels.telegram.send.TOPIC_PROBLEM
        if topic in ("gone", "closed") and not extra.get("fallback"):
            _topic_unusable(session, settings, ticket, row, topic)
        elif extra.get("from_citizen"):  # what the citizen added never reached the officers: say so
            notify_citizen(session, ticket, T.INFO_NOT_DELIVERED.format(code=ticket.code, contact=settings.agency_contact))
        return
    if result.ok and row.channel == TELEGRAM:
        ids = list((result.extra or {}).get("message_ids") or [])
        if result.message_id and result.message_id not in ids:
            ids.insert(0, result.message_id)
        for mid in ids:
            insert_ignore(session, TicketStaffMessage.__table__,
                          {"chat_id": row.chat_id, "message_id": str(mid), "ticket_id": ticket.id},
                          ["chat_id", "message_id"])
        if extra.get("card") and result.message_id:
            ticket.card_message_id = result.message_id
            session.add(ticket)


def _topic_unusable(session: Session, settings: Settings, ticket: Ticket, row: OutboxMessage, topic: str) -> None:
    """A staff message could not go into the ticket's forum topic: an officer deleted it, or it is closed. The
    message must still arrive: it goes to the group's main thread with the card quoted; a deleted topic is
    created again for what follows (title edits and closing of the old one are moot then)."""
    payload = dict(row.payload or {})
    extra = dict(payload.get("extra") or {})
    thread = payload.get("thread_id")
    gone = topic == "gone"
    if gone and ticket.staff_thread_id and str(ticket.staff_thread_id) == str(thread):
        ticket.staff_thread_id = None
        ticket.topic_state = "lost"
        session.add(ticket)
        if ticket.is_open and topic_mode(settings):
            _queue_topic(session, settings, ticket, session.info["services"].clock())
    if extra.get("op"):  # a title edit, a close or reopen of the lost topic: nothing to deliver
        return
    channel, chat_id = staff_target(settings)
    note = T.TOPIC_GONE_FALLBACK if gone else T.TOPIC_CLOSED_FALLBACK
    quoted = strip_markup(card_text(ticket, settings, []))
    text = (note.format(code=ticket.code) + "\n\n" + T.TOPIC_FALLBACK_CARD.format(card=quoted)
            + ("\n\n" + str(payload.get("text")) if payload.get("text") else ""))
    from bot.kernel.messages import Attachment as _A

    _deliver_staff(session, Reply(
        text=text, channel=channel, chat_id=chat_id, kind="staff", ref=ticket.code,
        attachments=tuple(_A(**a) for a in payload.get("attachments") or []),
        extra={**{k: v for k, v in extra.items() if k != "card"}, "ticket_id": ticket.id, "fallback": True},
    ), ticket)
    log.warning("staff message for %s could not go into its topic (%s); posted in the group", ticket.code, topic)


def _hook_settings(session: Session) -> Settings:
    """The running app's settings: every outcome is recorded with the app's services in the session."""
    return session.info["services"].settings


UNDELIVERED_STATUSES = ("failed", "blocked", "dead")
QUOTE_LIMIT = 1500


def _report_undelivered(session: Session, settings: Settings, ticket: Ticket, row: OutboxMessage,
                        result: SendResult) -> None:
    """A message for the citizen that will never arrive (an officer's answer past the Zalo OA reply window, a
    blocked bot, retries run out): the officers are told once, where they work on the ticket, with the reason
    the channel gave and the words that did not arrive. When the chat itself cannot be reached, the rest of what
    is queued for this ticket there is stopped and reported in the same notice."""
    reason = row.last_error or result.error or "không rõ"
    if row.status == "dead":  # transient errors until OUTBOX_MAX_AGE_HOURS ran out
        reason = T.REASON_GAVE_UP.format(channel=channel_name(row.channel), detail=reason)
    parts = [row]
    if row.status == "blocked" or (result.extra or {}).get(CHAT_UNREACHABLE):
        o = OutboxMessage
        queued = session.exec(
            select(o).where(o.chat_key == row.chat_key, o.ref == row.ref, o.status == "pending", o.id != row.id).order_by(o.id)
        ).all()
        for other in queued:
            other_extra = (other.payload or {}).get("extra") or {}
            if other_extra.get("to_citizen") and other_extra.get("ticket_id") == ticket.id:
                other.status, other.last_error = row.status, row.last_error
                session.add(other)
                parts.append(other)
    quote = "\n".join(strip_markup((p.payload or {}).get("text") or "") for p in parts).strip()
    if len(quote) > QUOTE_LIMIT:
        quote = quote[:QUOTE_LIMIT].rstrip() + "…"
    notify_staff(session, settings, ticket, T.DELIVERY_FAILED_STAFF.format(
        code=ticket.code, channel=channel_name(row.channel), reason=reason.rstrip(". "), parts=len(parts),
        text=quote or "(trống)", phone=T.DELIVERY_FAILED_PHONE.format(code=ticket.code) if ticket.contact_phone else "",
    ), track=False)
    log.warning("message for %s to %s undelivered (%s); staff told", ticket.code, row.chat_key, reason)


def _topic_created(session: Session, settings: Settings, row: OutboxMessage, ticket: Ticket, result: SendResult) -> None:
    if result.ok and result.extra and result.extra.get("thread_id"):
        ticket.staff_thread_id = str(result.extra["thread_id"])
        ticket.topic_state = "created"
        session.add(ticket)
        session.flush()
        attachments = _first_attachments(session, ticket)
        _queue_card(session, settings, ticket, attachments)
        if ticket.status != NEW:  # it changed while the topic was waiting for its slot
            _topic_op(session, settings, ticket, "edit_topic")
            if ticket.status == CLOSED:
                _topic_op(session, settings, ticket, "close_topic")
    elif row.status in ("failed", "dead", "blocked"):
        # Not a forum, no right to manage topics, …: the ticket still reaches staff, as a plain card.
        log.error("forum topic for %s not created (%s); posting a plain card", ticket.code, row.last_error)
        ticket.topic_state = "failed"
        session.add(ticket)
        session.flush()
        _queue_card(session, settings, ticket, _first_attachments(session, ticket))


def _first_attachments(session: Session, ticket: Ticket) -> list[Attachment]:
    first = session.exec(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket.id, TicketMessage.kind == "citizen").order_by(TicketMessage.id)
    ).first()
    return [Attachment(**a) for a in (first.attachments or [])] if first else []
