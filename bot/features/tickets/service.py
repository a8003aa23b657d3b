# Over 400 lines: ticket lifecycle, staff inbox queueing, rendering and templates; calendar, erasure and send outcomes are their own modules.
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
from pathlib import Path
from typing import Any, Iterable

import yaml
from sqlmodel import Session, select

import knowledge
from bot.config import Settings, parse_categories, split_list
from bot.features.tickets import texts as T
from bot.features.tickets.calendar import (
    add_working_days,
    fmt_date,
    fmt_time,
    local_date,
    working_days_between,
)
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.channel import CHANNELS, caps_of
from bot.kernel.messages import TELEGRAM, TERMINAL_STAFF, Attachment, Button, Inbound, Reply, button_rows, clip
from bot.storage.dialect import ensure_row
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
from knowledge import yamlload
from knowledge.normalize import fold

TK_CB = CallbackPrefix("tk")  # the citizen's tickets (citizen.py): tk:mine | tk:show|add|addno:<id> | tk:rate:<id>:<n>
ST_CB = CallbackPrefix("st")  # officers (staff.py): st:take:<ticket id>

log = logging.getLogger(__name__)
MAX_ATTACHMENTS = 10
TOPIC_SLOT_KEY = "tickets:topic-slot"
TOPIC_LANE = "/topics"  # outbox chat_key suffix: topic creation waits for its slot without blocking the chat
STAFF_LANES = 4  # ticket messages in the staff chat go out on this many ordered lanes (by ticket id)
TEMPLATES_FILE = Path(knowledge.__file__).resolve().parent / "templates.yaml"
# Called in the creating transaction for every new ticket (session, settings, ticket, now): other features
# route it further (the console: to its commune's officers). Registered at feature load.
CREATED_HOOKS: list[Any] = []


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


# ------------------------------------------------------------------ where staff are
def staff_target(settings: Settings) -> tuple[str, str]:
    """(channel, chat id) of the staff inbox."""
    if CHANNELS.configured(settings, TELEGRAM) and settings.staff_chat_id:
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
    return session.exec(select(Staff).where(Staff.user_id == inbound.user_id, Staff.active == True)).first()


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
    return CHANNELS.title(channel)


def short(text: str, n: int = 80) -> str:
    return clip(text, n)


def topic_title(ticket: Ticket) -> str:
    """Code, category, commune, status; at most 128 characters (Telegram's limit)."""
    parts = [ticket.code, ticket.category_label, ticket.commune_name or T.PLACE_UNKNOWN, STATUS_LABELS.get(ticket.status, ticket.status)]
    title = " · ".join(p for p in parts if p)
    return clip(title, 128)


def portable(attachments: Iterable[Attachment], source: str, target: str) -> list[Attachment]:
    """The files a channel can show from another: a platform's file ids only there, public URLs anywhere, a shared
    location ("lat,lon", the same on every channel: Telegram shows it as a map pin, the web chat as a map link)."""
    return [a for a in attachments if source == target or a.ref.startswith(("https://", "http://")) or a.kind == "location"]


def place_line(a: Attachment) -> str:
    """A shared location written out for the officers: the place's name, the coordinates, a map link."""
    try:
        lat, lon = (float(x) for x in a.ref.split(","))
    except ValueError:
        return ""
    name = T.LOCATION_SHARED_NAME.format(name=clip(a.name)) if a.name else ""
    return T.MEDIA_PLACE.format(name=name, lat=f"{lat}".replace(".", ","), lon=f"{lon}".replace(".", ","),
                                lat_=lat, lon_=lon)


def links(attachments: Iterable[Attachment], source: str, target: str) -> str:
    """Links to files that came from another platform, written out too: if the staff platform cannot fetch one
    (it has expired, it is not public), the officers can still open it. Shared locations from another platform:
    the place's name and coordinates (the map pin alone does not carry the name)."""
    attachments = list(attachments)[:MAX_ATTACHMENTS]
    out = [T.MEDIA_LINK.format(url=a.ref) for a in attachments if source != target and a.ref.startswith(("https://", "http://"))]
    out += [place_line(a) for a in attachments if source != target and a.kind == "location"]
    return "".join(out)


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
    from bot.kernel.inbox import deliver

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
    buttons = [Button(T.BTN_TAKE, ST_CB.pack("take", ticket.id))] if caps_of(channel).buttons else []
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
    spacing = dt.timedelta(seconds=60.0 / max(1, settings.staff_topics_per_minute))
    stmt = select(KeyValue).where(KeyValue.key == TOPIC_SLOT_KEY)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.exec(stmt).first()
    if row is None:
        row = ensure_row(session, KeyValue, {"key": TOPIC_SLOT_KEY, "value": {}, "updated_at": now}, ["key"], stmt)
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
    for hook in CREATED_HOOKS:
        hook(session, settings, ticket, now)
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
    notify_citizen(session, ticket, body, buttons=[Button(T.BTN_ADD_INFO, TK_CB.pack("add", ticket.id))], attachments=send_files)
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
            rate = [Button(f"{n} ⭐", TK_CB.pack("rate", ticket.id, n)) for n in range(1, 6)]
            notify_citizen(session, ticket, T.CLOSED_TO_CITIZEN.format(code=code, agency=settings.agency_name,
                                                                      reason=reason or STATUS_LABELS[CLOSED]),
                           buttons=rate, per_row=5)
        elif old == CLOSED:
            notify_citizen(session, ticket, T.REOPENED_TO_CITIZEN.format(code=code))
        elif new == NEED_INFO:
            notify_citizen(session, ticket, T.NEED_INFO_TO_CITIZEN.format(code=code, reason=f"\n{reason}" if reason else ""),
                           buttons=[Button(T.BTN_ADD_INFO, TK_CB.pack("add", ticket.id))])
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
        select(Staff).where(Staff.active == True, Staff.role.in_(("supervisor", "admin")))
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


# ------------------------------------------------------------------ templates
def shipped_templates() -> dict[str, str]:
    try:
        data = yamlload.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        log.exception("cannot read %s", TEMPLATES_FILE)
        return {}
    return {str(t["name"]): str(t["text"]).strip() for t in data.get("templates", []) if t.get("name") and t.get("text")}


def all_templates(session: Session) -> dict[str, str]:
    out = shipped_templates()
    for row in session.exec(select(ReplyTemplate).order_by(ReplyTemplate.name)):
        out[row.name] = row.text
    return out


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


def overdue_lines(session: Session, settings: Settings, today: dt.date,
                  communes: Iterable[str] | None = None) -> list[str]:
    """Tickets past or near their deadline; only those of `communes` when given (a commune's officers)."""
    soon = add_working_days(today, settings.ticket_due_soon_days, settings)
    q = select(Ticket).where(Ticket.status.in_((NEW, IN_PROGRESS, NEED_INFO)), Ticket.due_date <= soon)
    if communes is not None:
        q = q.where(Ticket.commune_code.in_(list(communes)))  # type: ignore[union-attr]
    rows = session.exec(q.order_by(Ticket.due_date, Ticket.id)).all()
    lines = []
    for t in rows:
        late = T.LATE_MARK.format(days=(today - t.due_date).days) if t.due_date < today else T.SOON_MARK
        lines.append(T.OVERDUE_LINE.format(code=t.code, category=t.category_label, place=short(t.commune_name or T.PLACE_UNKNOWN, 40),
                                           due=fmt_date(t.due_date), late=late, status=STATUS_LABELS[t.status],
                                           who=f" · {t.assigned_name}" if t.assigned_name else ""))
    return lines


# ------------------------------------------------------------------ wiring
