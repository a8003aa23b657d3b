"""A citizen's tickets on /xoadulieu: contact details erased, the copies sent to officers scrubbed where the bot
can reach them, and what is left anonymous (the eraser registered with the kernel's privacy registry)."""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.features.tickets import texts as T
from bot.features.tickets.service import (
    _deliver_staff,
    _touch,
    add_event,
    card_text,
    notify_staff,
    place_line,
    set_status,
    staff_target,
)
from bot.kernel.messages import TELEGRAM, Attachment, Reply
from bot.kernel.privacy import ANONYMOUS_ACTOR, ERASED, Subject, eraser
from bot.storage.dialect import ensure_row
from bot.storage.models import KeyValue, OutboxMessage
from bot.storage.tickets import (
    CLOSED,
    Ticket,
    TicketEvent,
    TicketMessage,
)

log = logging.getLogger(__name__)


def erase_contact(session: Session, ticket: Ticket, now: dt.datetime, actor: str) -> None:
    """Name and phone number go; the ticket stays (retention after closing, and /xoadulieu)."""
    if ticket.contact_name is None and ticket.contact_phone is None and ticket.contact_erased_at is not None:
        return
    had = ticket.contact_name is not None or ticket.contact_phone is not None
    ticket.contact_name = ticket.contact_phone = None
    ticket.anonymous = True
    if had:
        ticket.contact_erased_at = now
        add_event(session, ticket, "contact_erased", actor, now)
    session.add(ticket)


@eraser
def erase_citizen_tickets(session: Session, subject: Subject, now: dt.datetime, services: Any) -> Counter:
    """/xoadulieu: every ticket this person filed keeps only what statistics need (category, commune, dates,
    status, the officers' answers and notes). Open ones are closed, and the officers told; the staff card is
    rewritten without the citizen's words."""
    settings: Settings = services.settings
    done: Counter = Counter()
    if not subject.user_id:  # erased tickets have no user id: never select them as someone's
        return done
    tickets = session.exec(select(Ticket).where(Ticket.channel == subject.channel, Ticket.user_id == subject.user_id)
                           .order_by(col(Ticket.id))).all()
    for t in tickets:
        personal = personal_strings(session, t)  # read before the ticket forgets them
        was_open = t.is_open
        if was_open:
            set_status(session, settings, now, t, CLOSED, ANONYMOUS_ACTOR, reason=T.ERASED_CLOSE_REASON, tell_citizen=False)
            notify_staff(session, settings, t, T.ERASED_STAFF.format(code=t.code), track=False)
            done["open_tickets"] += 1
        erase_contact(session, t, now, ANONYMOUS_ACTOR)
        t.contact_erased_at = t.contact_erased_at or now
        t.description, t.hamlet, t.commune_input = ERASED, "", ""
        t.chat_id = t.user_id = ""
        t.public_at = None  # what an officer published was the citizen's words: gone with them
        _touch(t, now, session)
        m = TicketMessage.__table__
        session.execute(sa.update(m).where(m.c.ticket_id == t.id, m.c.kind == "citizen").values(text=ERASED, attachments=None))
        e = TicketEvent.__table__
        session.execute(sa.update(e).where(e.c.ticket_id == t.id, e.c.actor == subject.actor).values(actor=ANONYMOUS_ACTOR))
        add_event(session, t, "erased", ANONYMOUS_ACTOR, now)
        _edit_card(session, settings, t)
        done["staff_copies"] += scrub_copies(session, t.code, personal, subject.chat_key)
        done["tickets"] += 1
    if done["tickets"]:
        _remember_erasure(session, subject, now, done["tickets"])
    return done


def personal_strings(session: Session, ticket: Ticket) -> list[str]:
    """Everything of the citizen's a staff message may quote: name, phone, the words of the report and of
    what they added, hamlet and commune as typed (whole, and as the listings shorten them)."""
    words = [ticket.description, ticket.hamlet, ticket.commune_input]
    said = session.exec(select(TicketMessage.text, TicketMessage.attachments).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.kind == "citizen")).all()
    words += [text for text, _ in said]
    out = {ticket.contact_name or "", ticket.contact_phone or ""}
    for _, files in said:  # what they sent: voice note and photo links, a shared place and its coordinates
        for a in (Attachment(**f) for f in files or []):
            name = "" if a.name == ticket.commune_name else a.name  # the commune itself stays (statistics)
            out.update((a.ref, name, place_line(a).strip() if a.kind == "location" else ""))
    for w in words:
        if not w:
            continue
        out.add(w)
        flat = " ".join(w.split())
        out.add(flat)
        out.update(flat[: n - 1] for n in (40, 70, 80, 160, 300, 600) if len(flat) > n)  # short(text, n)
    return sorted((x for x in out if len(x.strip()) >= 4), key=len, reverse=True)


def scrub_copies(session: Session, code: str, personal: list[str], citizen_chat: str) -> int:
    """/xoadulieu: the copies of a citizen's data in what the bot sent others (the staff card, `/ticket … hien-sdt`,
    `/inbox`, `/export` files, the e-mail copy). Sent ones lose their text, as retention would do later (the row
    keeps status and times); queued ones go out with the citizen's words replaced. Returns how many changed.
    What was already delivered stays on the platforms (Telegram group, mailbox): the officers are told."""
    from bot.kernel.retention import FINAL, PRUNED

    o = OutboxMessage.__table__
    text = sa.cast(o.c.payload, sa.Text)
    rows = session.execute(sa.select(o.c.id, o.c.status, o.c.kind, o.c.payload).where(
        o.c.chat_key != citizen_chat,
        sa.or_(o.c.ref == code, text.like(f"%{code}%"), text.like("%data:text/csv;base64,%")),
    )).all()
    changed = 0
    for r in rows:
        payload = dict(r.payload or {})
        if r.status in FINAL:
            if payload.get("pruned") or not (r.payload and _mentions(payload, code, personal)):
                continue
            new: dict[str, Any] = {"kind": r.kind, **PRUNED}
        else:
            new = _scrubbed(payload, personal)
            if new == payload:
                continue
        session.execute(sa.update(o).where(o.c.id == r.id).values(payload=new))
        changed += 1
    return changed


def _mentions(payload: dict[str, Any], code: str, personal: list[str]) -> bool:
    blob = str(payload.get("text") or "") + "".join(_csv_text(a) for a in payload.get("attachments") or [])
    refs = {str(a.get("ref") or "") for a in payload.get("attachments") or []}
    return code in blob or any(p in blob for p in personal) or bool(refs & set(personal))


def _csv_text(a: dict[str, Any]) -> str:
    import base64

    ref = str(a.get("ref") or "")
    if not ref.startswith("data:text/csv;base64,"):
        return ""
    try:
        return base64.b64decode(ref.split(",", 1)[1]).decode("utf-8-sig", "replace")
    except ValueError:
        return ""


def _scrubbed(payload: dict[str, Any], personal: list[str]) -> dict[str, Any]:
    import base64

    def scrub(value: str) -> str:
        for p in personal:
            value = value.replace(p, ERASED)
        return value

    out = dict(payload)
    if out.get("text"):
        out["text"] = scrub(str(out["text"]))
    attachments = []
    for a in out.get("attachments") or []:
        if str(a.get("ref") or "") in personal:  # the citizen's own voice note, photo link or shared place
            continue
        body = _csv_text(a)
        if body:
            a = dict(a, ref="data:text/csv;base64," + base64.b64encode(scrub(body).encode("utf-8-sig")).decode())
        attachments.append(a)
    if attachments or out.get("attachments"):
        out["attachments"] = attachments
    return out
ERASED_KEY = "tickets.erased:{chat_key}"


def _remember_erasure(session: Session, subject: Subject, now: dt.datetime, n: int) -> None:
    """How many tickets this chat had erased, and when: nothing about them, just enough for /tracuu to say
    "they were sent, then erased at your request" instead of "you have sent none"."""
    key = ERASED_KEY.format(chat_key=subject.chat_key)
    row = ensure_row(session, KeyValue, {"key": key, "value": {}, "updated_at": now}, ["key"])
    row.value = {"tickets": int((row.value or {}).get("tickets", 0)) + n, "at": now.isoformat()}
    row.updated_at = now
    session.add(row)


def erased_before(session: Session, channel: str, chat_id: str) -> tuple[int, dt.datetime] | None:
    """(tickets erased, when last) for a chat whose person used /xoadulieu, else None."""
    row = session.get(KeyValue, ERASED_KEY.format(chat_key=f"{channel}:{chat_id}"))
    if row is None or not row.value:
        return None
    return int(row.value.get("tickets", 0)), dt.datetime.fromisoformat(row.value["at"])


def _edit_card(session: Session, settings: Settings, ticket: Ticket) -> None:
    """Rewrite the ticket's card in the Telegram staff chat (editMessageText) with what the ticket now holds."""
    channel, chat_id = staff_target(settings)
    if channel != TELEGRAM or not ticket.card_message_id:
        return
    _deliver_staff(session, Reply(text=card_text(ticket, settings, []), channel=channel, chat_id=chat_id, kind="staff",
                                  ref=ticket.code, extra={"op": "edit_card", "message_id": ticket.card_message_id}),
                   ticket)
