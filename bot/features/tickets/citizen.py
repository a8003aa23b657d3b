"""The citizen's side of a ticket after filing: /tracuu, adding information, rating the answer.

A ticket is shown only to the account that filed it (same channel and user). Anyone else asking for a code
gets the same "not found" as for a code that does not exist, so codes leak nothing.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Iterable

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.features.tickets import calendar, erasure
from bot.features.tickets import service as ticketing
from bot.features.tickets import texts as T
from bot.features.tickets import wizard as feedback
from bot.features.tickets.service import TK_CB
from bot.kernel.jobs import job
from bot.kernel.messages import Attachment, Button
from bot.kernel.metrics import GaugeMetricFamily, db_gauge
from bot.kernel.registry import Ctx, Services, callback, command, menu_item, step, text_handler
from bot.storage.tickets import CLOSED, NEED_INFO, STATUS_LABELS, Ticket, TicketMessage, format_code, parse_code
from knowledge.normalize import fold

S_ADD_INFO = "tickets.add_info"
S_CONFIRM_ADD_INFO = "tickets.confirm_add_info"  # "is this the addition the officers asked for?" (asked once)
ADDITION_ORDER = 20  # free text: after small talk ("cảm ơn" is not an addition), before reports and the FAQ
CODE_ORDER = 30  # a code alone: after an awaited addition (which may quote it), before reports and the FAQ
MY_LIST = 10


def own_ticket(ctx: Ctx, ticket_id: int | None) -> Ticket | None:
    if ticket_id is None:
        return None
    t = ctx.session.get(Ticket, ticket_id)
    if t is None or t.channel != ctx.inbound.channel or t.user_id != ctx.inbound.user_id:
        return None
    return t


@command("tracuu", aliases=("tra cuu", "tra cuu phan anh", "tracuu", "xem phan anh"), description=T.CMD_TRACK,
         usage=T.USAGE_TRACK)
def track(ctx: Ctx) -> None:
    """/tracuu PA-000123: status and answers; /tracuu alone: my tickets."""
    ticket_id = parse_code(ctx.args)
    if ticket_id is None:
        list_mine(ctx)
        return
    _show_code(ctx, ticket_id)


# A report's code typed on its own, as people do after being told to keep it ("PA-000123", "mã PA000123 sao rồi")
_CODE_ALONE = re.compile(r"^\W*(?:(?:ma|ma so|phan anh|tra cuu|cho hoi|xem)\s+)*pa[\s\-_.:#]*0*(\d{1,9})\b"
                         r"(?:\s+(?:sao roi|toi dau roi|den dau roi|the nao roi|ra sao|nhu the nao|a|ad|nhe|voi|giup))*\W*$")


@text_handler(CODE_ORDER)
def code_alone(ctx: Ctx) -> bool:
    if ctx.inbound.chat_type != "private" or ticketing.in_staff_chat(ctx.settings, ctx.inbound):
        return False
    m = _CODE_ALONE.match(fold(ctx.inbound.text or ""))
    if m is None:
        return False
    _show_code(ctx, int(m.group(1)))
    return True


def _show_code(ctx: Ctx, ticket_id: int) -> None:
    t = own_ticket(ctx, ticket_id)
    if t is None:
        ctx.reply(T.NOT_FOUND.format(code=format_code(ticket_id)) + _erased_note(ctx))
        return
    show(ctx, t)


# The knowledge base's answer on looking a report up: under it, the person's own reports are one tap away.
TRACKING_ENTRY = "bot.tra-cuu"


def my_reports_button(ctx: Ctx, entry_id: str) -> Button | None:
    """"phản ánh hôm bữa của tui tới đâu rồi": the answer says how to look one up; someone who has sent reports
    also gets a button to their own list (the same as /tracuu alone)."""
    if entry_id != TRACKING_ENTRY:
        return None
    n = ctx.session.exec(select(sa.func.count()).select_from(Ticket).where(
        Ticket.channel == ctx.inbound.channel, Ticket.user_id == ctx.inbound.user_id)).one()
    return Button(T.BTN_MY_REPORTS.format(n=n), TK_CB.pack("mine")) if n else None


def _erased_note(ctx: Ctx) -> str:
    """After /xoadulieu: the person's earlier tickets were sent, then erased at their request; say so."""
    erased = erasure.erased_before(ctx.session, ctx.inbound.channel, ctx.inbound.chat_id)
    if erased is None:
        return ""
    n, at = erased
    return T.TICKETS_ERASED.format(n=n, date=calendar.fmt_date(calendar.local_date(at)))


def list_mine(ctx: Ctx) -> None:
    rows = ctx.session.exec(
        select(Ticket).where(Ticket.channel == ctx.inbound.channel, Ticket.user_id == ctx.inbound.user_id)
        .order_by(col(Ticket.id).desc()).limit(MY_LIST)
    ).all()
    if not rows:
        note = _erased_note(ctx)
        ctx.reply(T.NO_TICKETS_SINCE_ERASED + note if note else T.NO_TICKETS)
        return
    lines = [T.MY_TICKETS]
    for t in rows:
        lines.append(f"• **{t.code}** · {t.category_label} · {calendar.fmt_date(calendar.local_date(t.created_at))} · "
                     f"{STATUS_LABELS.get(t.status, t.status)}")
    lines.append(T.MY_TICKETS_HINT.format(code=rows[0].code) + _erased_note(ctx))
    ctx.reply("\n".join(lines), buttons=[Button(f"🔎 {t.code}", TK_CB.pack("show", t.id)) for t in rows[:5]], per_row=2)


def show(ctx: Ctx, t: Ticket) -> None:
    if t.source == "faq":  # a question sent to an officer: its words, not a place
        text = T.TRACK_QUESTION.format(code=t.code, question=ticketing.short(t.description, 300),
                                       created=calendar.fmt_time(t.created_at), due=calendar.fmt_date(t.due_date, weekday=True),
                                       status=STATUS_LABELS.get(t.status, t.status))
    else:
        text = T.TRACK.format(code=t.code, category=t.category_label, place=ticketing.place_of(t),
                              created=calendar.fmt_time(t.created_at), due=calendar.fmt_date(t.due_date, weekday=True),
                              status=STATUS_LABELS.get(t.status, t.status))
    answers = ctx.session.exec(
        select(TicketMessage).where(TicketMessage.ticket_id == t.id, TicketMessage.kind == "answer").order_by(TicketMessage.id)
    ).all()
    if answers:
        text += T.TRACK_ANSWERS.format(agency=ctx.settings.agency_name)
        for a in answers:
            text += f"\n• {calendar.fmt_time(a.created_at)}: {a.text}"
    elif t.status != CLOSED and not t.close_reason:
        text += T.TRACK_NO_ANSWER
    if t.status == CLOSED and t.close_reason:
        text += T.TRACK_CLOSE_REASON.format(reason=t.close_reason)
    elif t.close_reason:  # reopened: the result the citizen was told (and rated) stays visible
        text += T.TRACK_EARLIER_RESULT.format(reason=t.close_reason)
    if t.rating and t.status != CLOSED:
        low = t.rating <= ctx.settings.low_rating
        text += (T.TRACK_REOPENED_LOW if low else T.TRACK_REOPENED_RATED).format(stars=ticketing.stars_text(t.rating))
    elif t.rating and not awaiting_rating(t):
        text += T.TRACK_RATING.format(stars=ticketing.stars_text(t.rating))
    buttons: list[Button] = []
    per_row = 1
    if t.status != CLOSED:
        buttons.append(Button(T.BTN_ADD_INFO, TK_CB.pack("add", t.id)))
    elif awaiting_rating(t):
        buttons = [Button(f"{n} ⭐", TK_CB.pack("rate", t.id, n)) for n in range(1, 6)]
        per_row = 5
    ctx.reply(text, buttons=buttons, per_row=per_row)


@menu_item(45)
def _menu_track(ctx: Ctx) -> Button:
    return Button(T.BTN_TRACK, TK_CB.pack("mine"))


@callback(TK_CB)
def on_button(ctx: Ctx) -> None:
    cb = ctx.callback_data  # tk:mine | tk:show|add:<id> | tk:rate:<id>:<stars>
    action = cb.arg(0)
    if action == "mine":
        list_mine(ctx)
        return
    ticket_id = cb.int_arg(1)
    t = own_ticket(ctx, ticket_id)
    if t is None:
        ctx.reply(T.NOT_FOUND.format(code=format_code(ticket_id or 0)))
        return
    if action == "show":
        show(ctx, t)
    elif action == "add":
        if t.status == CLOSED:
            ctx.reply(T.CLOSED_NO_ADD.format(code=t.code))
            return
        ctx.set_state(S_ADD_INFO, {"ticket_id": t.id})
        ctx.reply(T.ASK_ADD_INFO.format(code=t.code))
    elif action in ("addyes", "addno"):
        _answer_pending(ctx, as_addition=action == "addyes")
    elif action == "rate" and cb.arg(2) in ("1", "2", "3", "4", "5"):
        rate(ctx, t, int(cb.arg(2)))
    else:
        ctx.reply(T.NOT_FOUND.format(code=t.code))


def awaiting_rating(t: Ticket) -> bool:
    """Closed and not rated since it was last closed (a ticket reopened by a low rating is rated again)."""
    if t.status != CLOSED:
        return False
    return t.rating is None or t.rated_at is None or t.closed_at is None or t.rated_at < t.closed_at


def rate(ctx: Ctx, t: Ticket, stars: int) -> None:
    if t.status == CLOSED and not awaiting_rating(t):
        ctx.reply(T.RATE_ALREADY.format(code=t.code, stars=ticketing.stars_text(t.rating)))
        return
    if t.status != CLOSED:
        ctx.reply(T.RATE_NOT_CLOSED.format(code=t.code))
        return
    reopened = ticketing.rate(ctx.session, ctx.settings, ctx.now, t, stars, ctx.actor)
    if reopened:
        ctx.reply(T.RATE_LOW_THANKS.format(code=t.code, stars=ticketing.stars_text(stars)),
                  buttons=[Button(T.BTN_ADD_INFO, TK_CB.pack("add", t.id))])
    else:
        ctx.reply(T.RATE_THANKS.format(code=t.code, stars=ticketing.stars_text(stars)))


@step(S_ADD_INFO)
def on_add_info(ctx: Ctx) -> None:
    t = own_ticket(ctx, ctx.data.get("ticket_id"))
    ctx.clear_state()
    if t is None:
        ctx.reply(T.DRAFT_GONE)
        return
    if t.status == CLOSED:
        ctx.reply(T.CLOSED_NO_ADD.format(code=t.code))
        return
    text = ctx.inbound.text.strip()[:4000]
    files = [a for a in ctx.inbound.attachments if a.kind in feedback.KEEPABLE][: ticketing.MAX_ATTACHMENTS]
    if not text and not files:
        ctx.set_state(S_ADD_INFO, {"ticket_id": t.id})
        ctx.reply(T.ASK_ADD_INFO.format(code=t.code))
        return
    ticketing.citizen_added_info(ctx.session, ctx.settings, ctx.now, t, text, files, ctx.actor)
    ctx.reply(T.INFO_ADDED.format(code=t.code))


# ------------------------------------------------------------------ an addition typed without pressing the button
def awaited_addition(ctx: Ctx) -> Ticket | None:
    """The person's ticket that officers set to "chờ bổ sung" (the latest, if several)."""
    return ctx.session.exec(
        select(Ticket).where(Ticket.channel == ctx.inbound.channel, Ticket.user_id == ctx.inbound.user_id,
                             Ticket.status == NEED_INFO).order_by(col(Ticket.updated_at).desc()).limit(1)
    ).first()


@text_handler(ADDITION_ORDER)
def addition_in_plain_words(ctx: Ctx) -> bool:
    """While officers wait for a citizen's addition, what the citizen writes next is that addition: told "cán bộ
    cần bạn bổ sung thông tin", people simply type it. Something that reads as a question gets asked about once."""
    if ctx.inbound.chat_type != "private" or ticketing.in_staff_chat(ctx.settings, ctx.inbound):
        return False
    t = awaited_addition(ctx)
    if t is None:
        return False
    text = ctx.inbound.text.strip()[:4000]
    files = [a for a in ctx.inbound.attachments if a.kind in feedback.KEEPABLE][: ticketing.MAX_ATTACHMENTS]
    if feedback.looks_like_question(text):
        ctx.set_state(S_CONFIRM_ADD_INFO, {"ticket_id": t.id, "text": text, "attachments": [a.to_dict() for a in files]})
        ctx.reply(T.ADD_INFO_OR_QUESTION.format(code=t.code, text=ticketing.short(text, 200)),
                  buttons=[Button(T.BTN_IS_ADDITION, TK_CB.pack("addyes", t.id)), Button(T.BTN_IS_QUESTION, TK_CB.pack("addno", t.id))])
        return True
    ticketing.citizen_added_info(ctx.session, ctx.settings, ctx.now, t, text, files, ctx.actor)
    ctx.reply(T.INFO_ADDED.format(code=t.code))
    return True


def _answer_pending(ctx: Ctx, as_addition: bool) -> None:
    d = ctx.data if ctx.state == S_CONFIRM_ADD_INFO else {}
    ctx.clear_state()
    t = own_ticket(ctx, d.get("ticket_id"))
    if t is None or not d.get("text"):
        ctx.reply(T.DRAFT_GONE if t is None else T.ASK_ADD_INFO.format(code=t.code))
        return
    if as_addition:
        if t.status == CLOSED:
            ctx.reply(T.CLOSED_NO_ADD.format(code=t.code))
            return
        files = [Attachment(**a) for a in d.get("attachments") or []]
        ticketing.citizen_added_info(ctx.session, ctx.settings, ctx.now, t, d["text"], files, ctx.actor)
        ctx.reply(T.INFO_ADDED.format(code=t.code))
        return
    ctx.inbound = dataclasses.replace(ctx.inbound, text=d["text"], callback=None)
    for order, fn in ctx.registry.text_handlers:  # a question after all: answered as any question is
        if order > ADDITION_ORDER and fn(ctx):
            return


_YES = {"co", "dung", "gui", "phai", "ok", "bo sung", "gui bo sung", "dung roi", "co a", "vang"}
_NO = {"khong", "ko", "k", "hoi", "cau hoi", "khong phai"}


@step(S_CONFIRM_ADD_INFO)
def on_confirm_add_info(ctx: Ctx) -> None:
    from knowledge.normalize import fold

    said = fold(ctx.inbound.text)
    if said in _YES or said in _NO:
        _answer_pending(ctx, as_addition=said in _YES)
        return
    t = own_ticket(ctx, ctx.data.get("ticket_id"))  # something else: the question once more, with its choices
    if t is None:
        ctx.clear_state()
        ctx.reply(T.DRAFT_GONE)
        return
    ctx.reply(T.ADD_INFO_OR_QUESTION.format(code=t.code, text=ticketing.short(ctx.data.get("text", ""), 200)),
              buttons=[Button(T.BTN_IS_ADDITION, TK_CB.pack("addyes", t.id)), Button(T.BTN_IS_QUESTION, TK_CB.pack("addno", t.id))])


# ------------------------------------------------------------------ periodic jobs
@job("tickets-drafts", every=dt.timedelta(minutes=5))
def _drafts(session: Session, services: Services) -> None:
    feedback.remind_and_expire_drafts(session, services)


@job("tickets-overdue", daily_at=dt.time(8, 0))
def remind_overdue(session: Session, services: Services) -> None:
    """08:00 in An Giang: tickets past or near their deadline, in the staff chat."""
    settings = services.settings
    today = calendar.local_date(services.clock())
    lines = ticketing.overdue_lines(session, settings, today)
    if lines:
        ticketing.notify_staff(session, settings, None, "\n".join([T.OVERDUE_TITLE.format(today=calendar.fmt_date(today)), *lines]))


@job("tickets-contact-erase", daily_at=dt.time(2, 30))
def erase_old_contacts(session: Session, services: Services) -> None:
    """Names and phones are kept CONTACT_RETENTION_MONTHS after closing (as the consent said), then erased."""
    now = services.clock()
    cutoff = now - dt.timedelta(days=30.44 * services.settings.contact_retention_months)
    has_contact = sa.or_(col(Ticket.contact_phone).is_not(None), col(Ticket.contact_name).is_not(None))
    rows = session.exec(select(Ticket).where(Ticket.status == CLOSED, Ticket.closed_at < cutoff, has_contact)).all()
    for t in rows:
        erasure.erase_contact(session, t, now, "system")


@db_gauge
def ticket_gauges(session: Session, now: dt.datetime) -> Iterable[GaugeMetricFamily]:
    """/metrics: tickets by status, and open tickets past their deadline (read at scrape time)."""
    t = Ticket.__table__
    g = GaugeMetricFamily("ntm_tickets", "Tickets by status", labels=["status"])
    counts = dict(session.execute(sa.select(t.c.status, sa.func.count()).group_by(t.c.status)).all())
    for status in STATUS_LABELS:
        g.add_metric([status], counts.get(status, 0))
    yield g
    today = calendar.local_date(now)
    overdue = session.execute(sa.select(sa.func.count()).where(t.c.status != CLOSED, t.c.due_date < today)).scalar_one()
    yield GaugeMetricFamily("ntm_tickets_overdue", "Open tickets past their answer deadline", value=overdue)
