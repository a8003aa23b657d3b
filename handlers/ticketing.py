"""The life of a ticket, channel-neutral: created, shown to staff, answered, closed, rated.

Every function works inside the caller's transaction and queues what must be said through the outbox
(`core.deliver`), so a change and its messages commit together.

Staff inbox: `STAFF_CHAT_ID` (a Telegram supergroup). Plain mode: one card message per ticket; a reply to
any message the bot posted about a ticket answers it (`TicketStaffMessage`, recorded from send outcomes).
A ticket's staff messages go out on one of STAFF_LANES ordered outbox lanes (chat_key + "#n"), so they keep
their order while a failing message of one ticket does not hold up the others.
Topic mode (`STAFF_FORUM_TOPICS`): one forum topic per ticket. Topics are created on their own outbox lane
at `STAFF_TOPICS_PER_MINUTE` (each creation gets a time slot, so waiting for a slot never holds up other
messages), and the card and files are queued by the outcome hook once the topic exists, in that same
transaction. Without Telegram the inbox is the local staff terminal (`ntm-bot chat --staff`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml
from sqlmodel import Session, select

from bot.channels.base import CHAT_UNREACHABLE, SendResult, caps_of, strip_markup
from bot.config import Settings, parse_categories, parse_holidays, split_list
from bot.messages import TELEGRAM, TERMINAL_STAFF, Attachment, Button, Inbound, Reply, button_rows, clip
from bot.outbox import on_outcome
from bot.privacy import ANONYMOUS_ACTOR, ERASED, Subject, eraser
from bot.storage.models import KeyValue, OutboxMessage, Staff
from bot.storage.tickets import (
    CLOSED,
    IN_PROGRESS,
    NEED_INFO,
    NEW,
    RESOLVED,
    STATUS_LABELS,
    ReplyTemplate,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStaffMessage,
)
from handlers import texts_tickets as T
from knowledge.normalize import fold

log = logging.getLogger(__name__)
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_ATTACHMENTS = 10
TOPIC_SLOT_KEY = "tickets:topic-slot"
TOPIC_LANE = "/topics"  # outbox chat_key suffix: topic creation waits for its slot without blocking the chat
STAFF_LANES = 4  # ticket messages in the staff chat go out on this many ordered lanes (by ticket id)
WEEKDAYS = ["thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật"]
TEMPLATES_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "templates.yaml"


# ------------------------------------------------------------------ configuration
@dataclasses.dataclass(frozen=True)
class Category:
    slug: str
    label: str
    days: int  # working days to answer


def slugify(label: str) -> str:
    return fold(label).replace(" ", "-")[:40] or "khac"


@functools.lru_cache(maxsize=8)
def _parse_categories(spec: str) -> tuple[Category, ...]:
    out = [Category(slugify(label), label, days) for label, days in parse_categories(spec)]  # validated at start-up
    if not any(c.slug == "khac" for c in out):
        out.append(Category("khac", "Khác", 10))
    return tuple(out)


def categories(settings: Settings) -> tuple[Category, ...]:
    return _parse_categories(settings.ticket_categories)


def category_by_slug(settings: Settings, slug: str) -> Category | None:
    return next((c for c in categories(settings) if c.slug == slug), None)


@functools.lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[dt.date]:
    """Vietnam's public holidays of a year, lunar ones (Tết, Giỗ Tổ Hùng Vương) and substitute days included."""
    import holidays

    return frozenset(holidays.country_holidays("VN", years=year))


def is_working_day(day: dt.date, settings: Settings) -> bool:
    once, yearly = parse_holidays(settings.ticket_holidays)  # local days off on top (validated at start-up)
    return (day.weekday() < 5 and day not in _national_holidays(day.year) and day not in once
            and (day.month, day.day) not in yearly)


def add_working_days(start: dt.date, n: int, settings: Settings) -> dt.date:
    """The n-th working day after `start` (the day of filing does not count)."""
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, settings):
            n -= 1
    return day


def working_days_between(a: dt.date, b: dt.date, settings: Settings) -> int:
    """Working days after a up to and including b (0 if b <= a)."""
    n, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        if is_working_day(day, settings):
            n += 1
    return n


def local_date(t: dt.datetime) -> dt.date:
    return t.astimezone(LOCAL_TZ).date()


def fmt_date(d: dt.date, weekday: bool = False) -> str:
    s = d.strftime("%d/%m/%Y")
    return f"{WEEKDAYS[d.weekday()]}, {s}" if weekday else s


def fmt_time(t: dt.datetime) -> str:
    return t.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")


# ------------------------------------------------------------------ where staff are
def staff_target(settings: Settings) -> tuple[str, str]:
    """(channel, chat id) of the staff inbox."""
    if settings.telegram_enabled and settings.staff_chat_id:
        return TELEGRAM, settings.staff_chat_id
    return TERMINAL_STAFF, "staff"


def topic_mode(settings: Settings) -> bool:
    return settings.staff_forum_topics and staff_target(settings)[0] == TELEGRAM


def in_staff_chat(settings: Settings, inbound: Inbound) -> bool:
    channel, chat_id = staff_target(settings)
    return inbound.channel == TERMINAL_STAFF or (inbound.channel == channel and inbound.chat_id == chat_id)


def staff_member(session: Session, settings: Settings, inbound: Inbound) -> Staff | None:
    if inbound.channel == TERMINAL_STAFF:
        return Staff(user_id=inbound.user_id, display_name=inbound.display_name or "Cán bộ (terminal)", role="admin")
    return session.exec(select(Staff).where(Staff.user_id == inbound.user_id, Staff.active == True)).first()  # noqa: E712


def is_admin(session: Session, settings: Settings, inbound: Inbound) -> bool:
    if inbound.channel == TERMINAL_STAFF or (inbound.channel == TELEGRAM and inbound.user_id in settings.seed_admin_ids):
        return True
    row = staff_member(session, settings, inbound)
    return row is not None and row.role == "admin"


def officer_name(session: Session, settings: Settings, inbound: Inbound) -> str:
    row = staff_member(session, settings, inbound)
    name = (row.display_name if row and row.display_name else "") or inbound.display_name or inbound.user_id
    handle = (row.username if row and row.username else "") or inbound.username
    return f"{name} (@{handle})" if handle and f"@{handle}" not in name else name


# ------------------------------------------------------------------ presenting a ticket
def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 6:
        return "***"
    return f"{digits[:2]}xx xxx {digits[-3:]}"


def place_of(ticket: Ticket) -> str:
    place = ticket.commune_name or T.PLACE_UNKNOWN
    if ticket.commune_code and ticket.commune_input and fold(ticket.commune_input) not in fold(ticket.commune_name):
        place += f" (người dân ghi: «{ticket.commune_input[:80]}»)"
    if ticket.hamlet:
        place = f"{ticket.hamlet}, {place}"
    return place


def contact_of(ticket: Ticket, reveal: bool = False) -> str:
    if ticket.anonymous or not (ticket.contact_name or ticket.contact_phone):
        return "Ẩn danh" if ticket.contact_erased_at is None else T.CONTACT_ERASED
    phone = ticket.contact_phone if reveal else mask_phone(ticket.contact_phone)
    return f"{ticket.contact_name or ''} · {phone}".strip(" ·")


def channel_name(channel: str) -> str:
    return T.CHANNEL_NAMES.get(channel, channel)


def short(text: str, n: int = 80) -> str:
    return clip(text, n)


def topic_title(ticket: Ticket) -> str:
    """Code, category, commune, status; at most 128 characters (Telegram's limit)."""
    parts = [ticket.code, ticket.category_label, ticket.commune_name or T.PLACE_UNKNOWN, STATUS_LABELS.get(ticket.status, ticket.status)]
    title = " · ".join(p for p in parts if p)
    return clip(title, 128)


def portable(attachments: Iterable[Attachment], source: str, target: str) -> list[Attachment]:
    """The files a channel can show from another: a platform's file ids only there, public URLs and positions
    ("lat,lon", the same on every channel) anywhere."""
    return [a for a in attachments if source == target or a.ref.startswith(("https://", "http://")) or a.kind == "location"]


def links(attachments: Iterable[Attachment], source: str, target: str) -> str:
    """Links to files that came from another platform, written out too: if the staff platform cannot fetch one
    (it has expired, it is not public), the officers can still open it."""
    urls = [a.ref for a in attachments if source != target and a.ref.startswith(("https://", "http://"))]
    return "".join(T.MEDIA_LINK.format(url=u) for u in urls[:MAX_ATTACHMENTS])


def card_text(ticket: Ticket, settings: Settings, attachments: list[Attachment]) -> str:
    media = ""
    if attachments:
        media = T.CARD_MEDIA.format(n=len(attachments)) + links(attachments, ticket.channel, staff_target(settings)[0])
    template = T.CARD_QUESTION if ticket.source == "faq" else T.CARD  # a question has no place: its words say it all
    text = template.format(
        code=ticket.code,
        category=ticket.category_label,
        source=T.CARD_SOURCE_FAQ if ticket.source == "faq" else "",
        channel=channel_name(ticket.channel),
        place=place_of(ticket),
        due=fmt_date(ticket.due_date, weekday=True),
        contact=contact_of(ticket),
        description=ticket.description,
        media=media,
    )
    if ticket.staff_thread_id:
        text = text.rsplit("\n", 1)[0] + "\n" + T.CARD_TOPIC_HINT.format(code=ticket.code)
    elif staff_target(settings)[0] == TERMINAL_STAFF:  # no "reply" in a terminal
        text = text.rsplit("\n", 1)[0] + "\n" + T.CARD_TERMINAL_HINT.format(code=ticket.code)
    return text


# ------------------------------------------------------------------ queueing messages
def _deliver(session: Session, reply: Reply, now: dt.datetime | None = None) -> list[OutboxMessage]:
    from bot.core import deliver

    return deliver(session, reply, now=now)


def staff_reply(settings: Settings, ticket: Ticket | None, text: str, *, track: bool = True, **kw: Any) -> Reply:
    """A message in the staff inbox (in the ticket's topic when it has one)."""
    channel, chat_id = staff_target(settings)
    extra = dict(kw.pop("extra", {}) or {})
    if ticket is not None and track:
        extra["ticket_id"] = ticket.id  # replies to it answer this ticket
    thread = ticket.staff_thread_id if ticket is not None and topic_mode(settings) else None
    return Reply(text=text, channel=channel, chat_id=chat_id, thread_id=thread, kind="staff",
                 ref=ticket.code if ticket is not None else None, extra=extra, **kw)


def _deliver_staff(session: Session, reply: Reply, ticket: Ticket | None) -> list[OutboxMessage]:
    """Queue for the staff chat on the ticket's lane: a ticket's messages keep their order, while a message
    that keeps failing for one ticket does not hold up the others (at most STAFF_LANES in flight, so waiting
    for the group's 20/min window never takes every sender)."""
    rows = _deliver(session, reply)
    if ticket is not None and ticket.id is not None:
        for row in rows:
            row.chat_key += f"#{ticket.id % STAFF_LANES}"
    return rows


def notify_staff(session: Session, settings: Settings, ticket: Ticket | None, text: str, **kw: Any) -> None:
    _deliver_staff(session, staff_reply(settings, ticket, text, **kw), ticket)


def notify_citizen(session: Session, ticket: Ticket, text: str, buttons: list[Button] | None = None,
                   attachments: Iterable[Attachment] = (), per_row: int = 1) -> None:
    if is_erased(ticket):  # the citizen deleted their data: the ticket no longer knows where they are
        return
    _deliver(session, Reply(
        text=text, channel=ticket.channel, chat_id=ticket.chat_id, kind="notice", ref=ticket.code,
        buttons=button_rows(buttons or [], per_row), attachments=tuple(attachments),
        extra={"ticket_id": ticket.id, "to_citizen": True},
    ))


def _queue_card(session: Session, settings: Settings, ticket: Ticket, attachments: list[Attachment]) -> None:
    channel, _ = staff_target(settings)
    buttons = [Button(T.BTN_TAKE, f"st:take:{ticket.id}")] if caps_of(channel).buttons else []
    notify_staff(session, settings, ticket, card_text(ticket, settings, attachments), buttons=button_rows(buttons),
                 extra={"card": True})
    shown = portable(attachments, ticket.channel, channel)
    if shown and channel == TELEGRAM:
        photos = [a for a in shown if a.kind == "photo"]
        others = [a for a in shown if a.kind != "photo"]
        caption = T.CARD_MEDIA_CAPTION.format(code=ticket.code)
        if photos:  # one album (or one captioned photo) after the card
            notify_staff(session, settings, ticket, caption if len(photos) == 1 else "", attachments=tuple(photos[:10]))
            if len(photos) > 1:
                notify_staff(session, settings, ticket, caption)
        if others:
            notify_staff(session, settings, ticket, caption if not photos else "", attachments=tuple(others))
    elif attachments and channel != TELEGRAM:  # the terminal: list them
        lines = "\n".join(f"[{a.kind}: {a.name or a.ref}]" for a in attachments)
        notify_staff(session, settings, ticket, T.CARD_MEDIA_CAPTION.format(code=ticket.code) + "\n" + lines)


def _claim_topic_slot(session: Session, settings: Settings, now: dt.datetime) -> dt.datetime:
    """The next free moment to create a forum topic (at most STAFF_TOPICS_PER_MINUTE), shared by instances."""
    from bot.core import insert_ignore

    spacing = dt.timedelta(seconds=60.0 / max(1, settings.staff_topics_per_minute))
    stmt = select(KeyValue).where(KeyValue.key == TOPIC_SLOT_KEY)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.exec(stmt).first()
    if row is None:
        insert_ignore(session, KeyValue.__table__, {"key": TOPIC_SLOT_KEY, "value": {}, "updated_at": now}, ["key"])
        row = session.exec(stmt).one()
    last = row.value.get("at") if row.value else None
    slot = now
    if last:
        slot = max(now, dt.datetime.fromisoformat(last) + spacing)
    row.value = {"at": slot.isoformat()}
    row.updated_at = now
    session.add(row)
    return slot


def _queue_topic(session: Session, settings: Settings, ticket: Ticket, now: dt.datetime) -> None:
    channel, chat_id = staff_target(settings)
    slot = _claim_topic_slot(session, settings, now)
    rows = _deliver(session, Reply(
        text="", channel=channel, chat_id=chat_id, kind="staff", ref=ticket.code,
        extra={"op": "create_topic", "name": topic_title(ticket), "ticket_id": ticket.id},
    ), now=now)
    for row in rows:
        row.chat_key += TOPIC_LANE
        row.next_attempt_at = slot
    ticket.topic_state = "pending"


def _topic_op(session: Session, settings: Settings, ticket: Ticket, op: str) -> None:
    if not (topic_mode(settings) and ticket.staff_thread_id):
        return
    channel, chat_id = staff_target(settings)
    extra: dict[str, Any] = {"op": op, "thread_id": ticket.staff_thread_id}
    if op == "edit_topic":
        extra["name"] = topic_title(ticket)
    _deliver_staff(session, Reply(text="", channel=channel, chat_id=chat_id, kind="staff", ref=ticket.code, extra=extra),
                   ticket)


def queue_email(session: Session, settings: Settings, ticket: Ticket, attachments: int) -> None:
    if not (settings.agency_email and settings.smtp_host):
        return
    body = "\n".join([
        f"Mã phản ánh: {ticket.code}",
        f"Loại việc: {ticket.category_label}",
        f"Nơi xảy ra: {place_of(ticket)}",
        f"Hạn trả lời: {fmt_date(ticket.due_date, weekday=True)}",
        f"Liên hệ: {contact_of(ticket)}",
        f"Gửi lúc: {fmt_time(ticket.created_at)} qua {channel_name(ticket.channel)}",
        f"Tệp/ảnh kèm theo: {attachments}" if attachments else "",
        "",
        "Nội dung:",
        ticket.description,
        "",
        "Xử lý trong nhóm cán bộ trên Telegram (/ticket {0}).".format(ticket.code),
    ])
    for addr in split_list(settings.agency_email):
        _deliver(session, Reply(
            text=body, channel="email", chat_id=addr, kind="staff", ref=ticket.code,
            extra={"subject": f"[{ticket.code}] Phản ánh mới: {ticket.category_label} - {ticket.commune_name or 'chưa rõ nơi'}"},
        ))


# ------------------------------------------------------------------ lifecycle
def add_event(session: Session, ticket: Ticket, action: str, actor: str, now: dt.datetime, old: str = "",
              new: str = "", detail: str = "") -> None:
    session.add(TicketEvent(ticket_id=ticket.id, at=now, actor=actor, action=action, old=old, new=new, detail=detail[:1000]))


def find_by_draft(session: Session, draft_key: str) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.draft_key == draft_key)).first()


def create_ticket(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    *,
    channel: str,
    chat_id: str,
    user_id: str,
    draft_key: str,
    category: Category,
    description: str,
    attachments: list[Attachment] | None = None,
    source: str = "report",
    commune_code: str | None = None,
    commune_name: str = "",
    commune_input: str = "",
    hamlet: str = "",
    contact_name: str | None = None,
    contact_phone: str | None = None,
    consent_at: dt.datetime | None = None,
) -> tuple[Ticket, bool]:
    """Commit-ready ticket plus its staff notification and e-mail copy. (ticket, False) if the draft was already sent."""
    existing = find_by_draft(session, draft_key)
    if existing is not None:
        return existing, False
    attachments = list(attachments or [])[:MAX_ATTACHMENTS]
    anonymous = not (contact_name or contact_phone)
    ticket = Ticket(
        channel=channel, chat_id=chat_id, user_id=user_id, draft_key=draft_key, source=source,
        category=category.slug, category_label=category.label, description=description.strip()[:4000],
        commune_code=commune_code, commune_name=commune_name[:128], commune_input=commune_input[:200],
        hamlet=hamlet[:200], anonymous=anonymous,
        contact_name=None if anonymous else (contact_name or "")[:128],
        contact_phone=None if anonymous else contact_phone, consent_at=None if anonymous else consent_at,
        status=NEW, due_date=add_working_days(local_date(now), category.days, settings),
        created_at=now, updated_at=now,
    )
    session.add(ticket)
    session.flush()  # the id, hence the code
    session.add(TicketMessage(ticket_id=ticket.id, kind="citizen", author="citizen", text=ticket.description,
                              attachments=[a.to_dict() for a in attachments], created_at=now))
    add_event(session, ticket, "created", f"{channel}:{user_id}", now, new=NEW, detail=source)
    if topic_mode(settings):
        _queue_topic(session, settings, ticket, now)
    else:
        _queue_card(session, settings, ticket, attachments)
    queue_email(session, settings, ticket, len(attachments))
    return ticket, True


def receipt_text(ticket: Ticket, settings: Settings) -> str:
    cat = category_by_slug(settings, ticket.category)
    days = cat.days if cat else working_days_between(local_date(ticket.created_at), ticket.due_date, settings)
    return T.RECEIPT.format(code=ticket.code, due=fmt_date(ticket.due_date, weekday=True), days=days,
                            agency=settings.agency_name)


def _touch(ticket: Ticket, now: dt.datetime, session: Session) -> None:
    ticket.updated_at = now
    session.add(ticket)


def answer(session: Session, settings: Settings, now: dt.datetime, ticket: Ticket, text: str, actor: str,
           actor_name: str, attachments: Iterable[Attachment] = ()) -> None:
    """A staff answer: recorded with the officer's name (staff only), sent to the citizen as the agency."""
    attachments = list(attachments)
    session.add(TicketMessage(ticket_id=ticket.id, kind="answer", author=actor, author_name=actor_name[:128],
                              text=text, attachments=[a.to_dict() for a in attachments], created_at=now))
    if ticket.first_answer_at is None:
        ticket.first_answer_at = now
    body = T.ANSWER_TO_CITIZEN.format(code=ticket.code, agency=settings.agency_name, text=text)
    send_files = portable(attachments, staff_target(settings)[0], ticket.channel)
    if len(send_files) < len(attachments):  # a Telegram file id means nothing on another platform
        body += T.ANSWER_MEDIA_ELSEWHERE.format(n=len(attachments) - len(send_files), contact=settings.agency_contact)
    body += T.ANSWER_FOOTER.format(code=ticket.code)
    notify_citizen(session, ticket, body, buttons=[Button(T.BTN_ADD_INFO, f"tk:add:{ticket.id}")], attachments=send_files)
    if ticket.status == NEW:
        set_status(session, settings, now, ticket, IN_PROGRESS, actor, tell_citizen=False)
    _touch(ticket, now, session)


def add_note(session: Session, now: dt.datetime, ticket: Ticket, text: str, actor: str, actor_name: str) -> None:
    session.add(TicketMessage(ticket_id=ticket.id, kind="note", author=actor, author_name=actor_name[:128], text=text,
                              created_at=now))
    _touch(ticket, now, session)


def set_status(session: Session, settings: Settings, now: dt.datetime, ticket: Ticket, new: str, actor: str,
               reason: str = "", tell_citizen: bool = True) -> None:
    old = ticket.status
    if old == new:
        return
    ticket.status = new
    if new in (RESOLVED, CLOSED) and ticket.resolved_at is None:
        ticket.resolved_at = now
    elif new not in (RESOLVED, CLOSED):
        ticket.resolved_at = None  # back in the work (reopened, or "đã xử lý" taken back): not resolved any more
    action = "status"
    if new == CLOSED:
        action = "close"
        ticket.closed_at = now
        ticket.close_reason = reason[:1000]
    elif old == CLOSED:
        action = "reopen"
        ticket.closed_at = None
        ticket.rating = None if ticket.rating is None else ticket.rating  # the old rating stays in the history
    add_event(session, ticket, action, actor, now, old=old, new=new, detail=reason)
    _touch(ticket, now, session)
    if tell_citizen:
        code = ticket.code
        if new == CLOSED:
            rate = [Button(f"{n} ⭐", f"tk:rate:{ticket.id}:{n}") for n in range(1, 6)]
            notify_citizen(session, ticket, T.CLOSED_TO_CITIZEN.format(code=code, agency=settings.agency_name,
                                                                      reason=reason or STATUS_LABELS[CLOSED]),
                           buttons=rate, per_row=5)
        elif old == CLOSED:
            notify_citizen(session, ticket, T.REOPENED_TO_CITIZEN.format(code=code))
        elif new == NEED_INFO:
            notify_citizen(session, ticket, T.NEED_INFO_TO_CITIZEN.format(code=code, reason=f"\n{reason}" if reason else ""),
                           buttons=[Button(T.BTN_ADD_INFO, f"tk:add:{ticket.id}")])
        else:
            notify_citizen(session, ticket, T.STATUS_TO_CITIZEN.format(code=code, status=STATUS_LABELS[new]))
    _topic_op(session, settings, ticket, "edit_topic")
    if new == CLOSED:
        _topic_op(session, settings, ticket, "close_topic")
    elif old == CLOSED:
        _topic_op(session, settings, ticket, "reopen_topic")


def assign(session: Session, settings: Settings, now: dt.datetime, ticket: Ticket, staff: Staff, actor: str) -> str:
    who = staff.display_name or (f"@{staff.username}" if staff.username else staff.user_id)
    if staff.username and f"@{staff.username}" not in who:
        who += f" (@{staff.username})"
    add_event(session, ticket, "assign", actor, now, old=ticket.assigned_to or "", new=staff.user_id, detail=who)
    ticket.assigned_to = staff.user_id
    ticket.assigned_name = who[:128]
    _touch(ticket, now, session)
    return who


def rate(session: Session, settings: Settings, now: dt.datetime, ticket: Ticket, stars: int, actor: str) -> bool:
    """Record a rating; a low one reopens the ticket for a supervisor. True if it reopened."""
    ticket.rating = stars
    ticket.rated_at = now
    add_event(session, ticket, "rating", actor, now, new=str(stars))
    _touch(ticket, now, session)
    if stars > settings.low_rating:
        return False
    set_status(session, settings, now, ticket, IN_PROGRESS, actor, reason=f"đánh giá {stars}/5", tell_citizen=False)
    supervisors = session.exec(
        select(Staff).where(Staff.active == True, Staff.role.in_(("supervisor", "admin")))  # noqa: E712
    ).all()
    mentions = " ".join(f"@{s.username}" for s in supervisors if s.username)
    notify_staff(session, settings, ticket, T.LOW_RATING_ALERT.format(code=ticket.code, stars=stars_text(stars),
                                                                     mentions=mentions).strip())
    return True


def stars_text(n: int) -> str:
    return f"{n}/5 " + "⭐" * n


def citizen_added_info(session: Session, settings: Settings, now: dt.datetime, ticket: Ticket, text: str,
                       attachments: list[Attachment], actor: str) -> None:
    session.add(TicketMessage(ticket_id=ticket.id, kind="citizen", author="citizen", text=text,
                              attachments=[a.to_dict() for a in attachments], created_at=now))
    add_event(session, ticket, "info_added", actor, now)
    channel, _ = staff_target(settings)
    media = T.CARD_MEDIA.format(n=len(attachments)) + links(attachments, ticket.channel, channel) if attachments else ""
    notify_staff(session, settings, ticket, T.CITIZEN_ADDED_INFO.format(code=ticket.code, text=text or "(không có chữ)",
                                                                       media=media), extra={"from_citizen": True})
    shown = portable(attachments, ticket.channel, channel)
    if shown and channel == TELEGRAM:
        notify_staff(session, settings, ticket, "", attachments=tuple(shown[:10]), extra={"from_citizen": True})
    if ticket.status == NEED_INFO:
        set_status(session, settings, now, ticket, IN_PROGRESS, actor, reason="người dân đã bổ sung", tell_citizen=False)
    _touch(ticket, now, session)


# ------------------------------------------------------------------ personal data
def is_erased(ticket: Ticket) -> bool:
    """The citizen asked to delete their data (/xoadulieu): the ticket is anonymous and unlinked."""
    return not ticket.chat_id


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
                           .order_by(Ticket.id)).all()  # type: ignore[arg-type]
    for t in tickets:
        personal = _personal_strings(session, t)  # read before the ticket forgets them
        was_open = t.is_open
        if was_open:
            set_status(session, settings, now, t, CLOSED, ANONYMOUS_ACTOR, reason=T.ERASED_CLOSE_REASON, tell_citizen=False)
            notify_staff(session, settings, t, T.ERASED_STAFF.format(code=t.code), track=False)
            done["open_tickets"] += 1
        erase_contact(session, t, now, ANONYMOUS_ACTOR)
        t.contact_erased_at = t.contact_erased_at or now
        t.description, t.hamlet, t.commune_input = ERASED, "", ""
        t.chat_id = t.user_id = ""
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


def _personal_strings(session: Session, ticket: Ticket) -> list[str]:
    """Everything of the citizen's a staff message may quote: name, phone, the words of the report and of
    what they added, hamlet and commune as typed (whole, and as the listings shorten them)."""
    words = [ticket.description, ticket.hamlet, ticket.commune_input]
    words += session.exec(select(TicketMessage.text).where(TicketMessage.ticket_id == ticket.id,
                                                          TicketMessage.kind == "citizen")).all()
    out = {ticket.contact_name or "", ticket.contact_phone or ""}
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
    from bot.retention import FINAL, PRUNED

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
    return code in blob or any(p in blob for p in personal)


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
        body = _csv_text(a)
        if body:
            a = dict(a, ref="data:text/csv;base64," + base64.b64encode(scrub(body).encode("utf-8-sig")).decode())
        attachments.append(a)
    if attachments:
        out["attachments"] = attachments
    return out
ERASED_KEY = "tickets.erased:{chat_key}"


def _remember_erasure(session: Session, subject: Subject, now: dt.datetime, n: int) -> None:
    """How many tickets this chat had erased, and when: nothing about them, just enough for /tracuu to say
    "they were sent, then erased at your request" instead of "you have sent none"."""
    from bot.core import insert_ignore

    key = ERASED_KEY.format(chat_key=subject.chat_key)
    insert_ignore(session, KeyValue.__table__, {"key": key, "value": {}, "updated_at": now}, ["key"])
    row = session.exec(select(KeyValue).where(KeyValue.key == key)).one()
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


# ------------------------------------------------------------------ templates
def shipped_templates() -> dict[str, str]:
    try:
        data = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        log.exception("cannot read %s", TEMPLATES_FILE)
        return {}
    return {str(t["name"]): str(t["text"]).strip() for t in data.get("templates", []) if t.get("name") and t.get("text")}


def all_templates(session: Session) -> dict[str, str]:
    out = shipped_templates()
    for row in session.exec(select(ReplyTemplate).order_by(ReplyTemplate.name)):
        out[row.name] = row.text
    return out


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
        topic = (result.extra or {}).get("topic")  # bot.channels.telegram.TOPIC_PROBLEM
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
            from bot.core import insert_ignore

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
    from bot.messages import Attachment as _A

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


# ------------------------------------------------------------------ queries
def ticket_for_staff_message(session: Session, settings: Settings, inbound: Inbound) -> Ticket | None:
    """The ticket a staff chat message belongs to: its forum topic, or the bot message it replies to."""
    if inbound.thread_id:
        t = session.exec(select(Ticket).where(Ticket.staff_thread_id == inbound.thread_id)).first()
        if t is not None:
            return t
    if inbound.reply_to:
        link = session.exec(select(TicketStaffMessage).where(
            TicketStaffMessage.chat_id == inbound.chat_id, TicketStaffMessage.message_id == inbound.reply_to)).first()
        if link is not None:
            return session.get(Ticket, link.ticket_id)
    return None


def overdue_lines(session: Session, settings: Settings, today: dt.date) -> list[str]:
    soon = add_working_days(today, settings.ticket_due_soon_days, settings)
    rows = session.exec(
        select(Ticket).where(Ticket.status.in_((NEW, IN_PROGRESS, NEED_INFO)), Ticket.due_date <= soon).order_by(Ticket.due_date, Ticket.id)
    ).all()
    lines = []
    for t in rows:
        late = T.LATE_MARK.format(days=(today - t.due_date).days) if t.due_date < today else T.SOON_MARK
        lines.append(T.OVERDUE_LINE.format(code=t.code, category=t.category_label, place=short(t.commune_name or T.PLACE_UNKNOWN, 40),
                                           due=fmt_date(t.due_date), late=late, status=STATUS_LABELS[t.status],
                                           who=f" · {t.assigned_name}" if t.assigned_name else ""))
    return lines


# ------------------------------------------------------------------ wiring
def _configure_app(app: Any) -> None:
    """Channel hook: the e-mail adapter when configured."""
    from bot import mailer

    mailer.configure(app)
    if app.settings.telegram_enabled and not app.settings.staff_chat_id:
        log.warning("STAFF_CHAT_ID is not set: new tickets wait for the local staff room (`ntm-bot chat --staff`)")


def register() -> None:
    """Hooks into shared registries (idempotent): FAQ "ask an officer" button, app channels."""
    from bot.channels.base import CHANNEL_HOOKS
    from handlers import faq, feedback

    if feedback.offer_question_button not in faq.UNSURE_BUTTONS:
        faq.UNSURE_BUTTONS.append(feedback.offer_question_button)
    if feedback.offer_report not in faq.REPORT_OFFER:
        faq.REPORT_OFFER.append(feedback.offer_report)
    if _configure_app not in CHANNEL_HOOKS:
        CHANNEL_HOOKS.append(_configure_app)
