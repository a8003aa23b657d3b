# Over 400 lines: officers' ticket commands, reports and team administration; reports and team could be their own modules.
"""The officers' side: commands in the staff chat, and answers written as replies.

Only registered staff may act (the router refuses staff commands for anyone else and logs the attempt;
buttons and replies are checked here). Every action is written to the audit log. Citizens see the agency's
name, never the officer's; phone numbers are masked unless an officer asks to see one (`/ticket MÃ hien-sdt`,
logged).

In a ticket's forum topic, or when replying to a message the bot posted about a ticket, the code may be left
out: `/close đã sửa xong`.
"""
from __future__ import annotations

import base64
import collections
import csv
import datetime as dt
import io
import re

from sqlmodel import Session, select

from bot.features.results.figures import figures, on_time, parse_month, percent
from bot.features.results.figures import range_utc as _range_utc
from bot.features.tickets import calendar
from bot.features.tickets import service as ticketing
from bot.features.tickets import texts as T
from bot.features.tickets.service import ST_CB
from bot.kernel.messages import TELEGRAM, TERMINAL_STAFF, Attachment
from bot.kernel.registry import COMMANDS, Ctx, callback, command, command_lines, text_handler
from bot.kernel.router import is_staff, staff_may_act
from bot.storage.models import Chat, OutboxMessage, Staff
from bot.storage.tickets import (
    CLOSED,
    IN_PROGRESS,
    NEED_INFO,
    NEW,
    OPEN_STATUSES,
    RESOLVED,
    STATUS_LABELS,
    ReplyTemplate,
    Ticket,
    TicketEvent,
    TicketMessage,
    format_code,
    parse_code,
)
from knowledge.normalize import fold
from knowledge.numbers import vn_number

INBOX_LIMIT = 30
EXPORT_MAX_ROWS = 50_000
_CODE_FIRST = re.compile(r"^\s*(pa[\s\-_.:#]*\d{1,9})\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
# A status is said in full ("xong rồi" = "xong"); a reason follows after ":" (or " - ", or a new line). Only
# "chờ bổ sung …" takes what follows as the reason without one: what the citizen must add.
STATUS_WORDS = {
    "moi": NEW, "moi tiep nhan": NEW, "dang xu ly": IN_PROGRESS, "xu ly": IN_PROGRESS, "cho bo sung": NEED_INFO,
    "can bo sung": NEED_INFO, "bo sung": NEED_INFO, "cho bo sung thong tin": NEED_INFO, "da xu ly": RESOLVED,
    "xong": RESOLVED, "da xong": RESOLVED, "xu ly xong": RESOLVED, "da xu ly xong": RESOLVED, "da giai quyet": RESOLVED,
    "hoan thanh": RESOLVED, "da hoan thanh": RESOLVED,
}
_STATUS_FILLER = {"roi", "a", "nhe", "nha", "nhe a", "luon", "roi a", "roi nhe"}
_REASON_SEP = re.compile(r"\s*(?::|\s-\s|\s–\s|\n)\s*")


def parse_status(text: str) -> tuple[str, str] | None:
    """(status, reason) for "đang xử lý", "xong rồi", "đã xử lý: đã thay bóng", "chờ bổ sung ảnh cột đèn";
    None when the words are not a status (the officer is asked again rather than a guess recorded)."""
    parts = _REASON_SEP.split(text.strip(), maxsplit=1)
    head, reason = parts[0], (parts[1].strip() if len(parts) > 1 else "")
    words = fold(head)
    for filler in sorted(_STATUS_FILLER, key=len, reverse=True):
        if words.endswith(" " + filler):
            words = words[: -len(filler) - 1]
            break
    if words in STATUS_WORDS:
        return STATUS_WORDS[words], reason
    for phrase in sorted((w for w, st in STATUS_WORDS.items() if st == NEED_INFO), key=len, reverse=True):
        if words.startswith(phrase + " "):  # "chờ bổ sung ảnh chụp cột đèn": what is needed
            what = " ".join(head.split()[len(phrase.split()):])
            return NEED_INFO, ": ".join(p for p in (what, reason) if p)
    return None


def staff_command(name: str):  # type: ignore[no-untyped-def]
    return command(name, description=T.CMD_STAFF[name], staff=True, usage=T.CMD_STAFF_USAGE[name])


# ------------------------------------------------------------------ helpers
def ticket_and_rest(ctx: Ctx, example: str) -> tuple[Ticket | None, str]:
    """(ticket, text after the code); the code may be omitted in a ticket's topic or a reply to its card."""
    m = _CODE_FIRST.match(ctx.args)
    if m:
        ticket_id, rest = parse_code(m.group(1)), m.group(2).strip()
        t = ctx.session.get(Ticket, ticket_id) if ticket_id is not None else None
        if t is None:
            ctx.reply(T.UNKNOWN_TICKET.format(code=format_code(ticket_id or 0)))
        return t, rest
    t = ticketing.ticket_for_staff_message(ctx.session, ctx.settings, ctx.inbound)
    if t is None:
        ctx.reply(T.NEED_CODE.format(example=example))
    return t, ctx.args.strip()


def closed_reply(t: Ticket) -> str:
    """Why a closed ticket cannot be answered or changed, and what to do: reopen it, unless the citizen's
    data was erased (then nothing can reach them)."""
    return T.ERASED_NO_ANSWER.format(code=t.code) if ticketing.is_erased(t) else T.ANSWER_CLOSED.format(code=t.code)


def officer(ctx: Ctx) -> str:
    return ticketing.officer_name(ctx.session, ctx.settings, ctx.inbound)


def ack(ctx: Ctx, text: str) -> None:
    ctx.reply(text)


# ------------------------------------------------------------------ answering
@staff_command("reply")
def reply_cmd(ctx: Ctx) -> None:
    t, text = ticket_and_rest(ctx, "/reply PA-000123 Xã đã cho sửa đường, dự kiến xong trong tuần.")
    if t is None:
        return
    if text.startswith("#"):
        name, _, more = text[1:].partition(" ")
        templates = ticketing.all_templates(ctx.session)
        body = templates.get(name.strip().lower())
        if body is None:
            ctx.reply(T.TEMPLATE_UNKNOWN.format(name=name))
            return
        text = body
        for key, value in (("{code}", t.code), ("{agency_name}", ctx.settings.agency_name),
                           ("{agency_contact}", ctx.settings.agency_contact)):
            text = text.replace(key, value)
        text = (text + ("\n" + more.strip() if more.strip() else "")).strip()
    send_answer(ctx, t, text, list(ctx.inbound.attachments))


def send_answer(ctx: Ctx, t: Ticket, text: str, files: list[Attachment]) -> None:
    if not text and not files:
        ctx.reply(T.NEED_TEXT.format(example=f"/reply {t.code} nội dung trả lời"))
        return
    if t.status == CLOSED:
        ctx.reply(closed_reply(t))
        return
    ticketing.answer(ctx.session, ctx.settings, ctx.now, t, text[:3500], ctx.actor, officer(ctx), files)
    ctx.audit("ticket_reply", target=t.code, detail=text)
    ack(ctx, T.ANSWER_SENT.format(code=t.code))


@text_handler(1)
def staff_chat_message(ctx: Ctx) -> bool:
    """In the staff chat: a reply to a ticket's message, or any message in its topic, answers the citizen.
    Other talk among officers is left alone (no FAQ answers in the staff chat)."""
    if not ticketing.in_staff_chat(ctx.settings, ctx.inbound):
        return False
    t = ticketing.ticket_for_staff_message(ctx.session, ctx.settings, ctx.inbound)
    text = ctx.inbound.text.strip()
    if t is None and ctx.inbound.channel == TERMINAL_STAFF:  # no "reply" in a terminal: a code, or the last card
        t, text = terminal_target(ctx, text)
    if t is None:
        if ctx.inbound.channel != TELEGRAM:
            ctx.reply(T.STAFF_ROOM_HINT)
        return True
    if not is_staff(ctx):
        ctx.audit("refused", target=t.code, detail=f"answer: {ctx.inbound.text[:200]}")
        ctx.reply(T.NOT_STAFF_ANSWER, reply_to=ctx.inbound.message_id)
        return True
    files = [a for a in ctx.inbound.attachments if a.kind in ("photo", "document", "video", "voice", "audio", "location")]
    send_answer(ctx, t, text, files)
    return True


def terminal_target(ctx: Ctx, text: str) -> tuple[Ticket | None, str]:
    """The local officers' room cannot reply to a message: "PA-000002 nội dung" answers that ticket, and plain
    text answers the ticket of the last card (or other ticket message, or /ticket view) shown in the room."""
    m = _CODE_FIRST.match(text)
    if m:
        ticket_id = parse_code(m.group(1))
        return (ctx.session.get(Ticket, ticket_id) if ticket_id is not None else None), m.group(2).strip()
    o = OutboxMessage
    code = ctx.session.exec(
        select(o.ref).where(o.channel == TERMINAL_STAFF, o.ref.is_not(None), o.status == "sent")  # type: ignore[union-attr]
        .order_by(o.sent_at.desc(), o.id.desc()).limit(1)  # type: ignore[union-attr]
    ).first()
    ticket_id = parse_code(code or "")
    return (ctx.session.get(Ticket, ticket_id) if ticket_id is not None else None), text


@staff_command("note")
def note_cmd(ctx: Ctx) -> None:
    t, text = ticket_and_rest(ctx, "/note PA-000123 Đã gọi trưởng ấp, hẹn thứ Hai kiểm tra.")
    if t is None:
        return
    if not text:
        ctx.reply(T.NEED_TEXT.format(example=f"/note {t.code} nội dung ghi chú"))
        return
    ticketing.add_note(ctx.session, ctx.now, t, text[:4000], ctx.actor, officer(ctx))
    ctx.audit("ticket_note", target=t.code, detail=text)
    ack(ctx, T.NOTE_SAVED.format(code=t.code))


# ------------------------------------------------------------------ handling
def find_staff(ctx: Ctx, who: str) -> Staff | None:
    who = who.strip()
    if who.startswith("@"):
        return ctx.session.exec(select(Staff).where(Staff.username == who[1:], Staff.active == True)).first()
    return ctx.session.exec(select(Staff).where(Staff.user_id == who, Staff.active == True)).first()


@staff_command("assign")
def assign_cmd(ctx: Ctx) -> None:
    t, who = ticket_and_rest(ctx, "/assign PA-000123 @ten_can_bo")
    if t is None:
        return
    if not who:
        ctx.reply(T.NEED_TEXT.format(example=f"/assign {t.code} @ten_can_bo"))
        return
    staff = find_staff(ctx, who.split()[0])
    if staff is None:
        ctx.reply(T.ASSIGN_UNKNOWN.format(who=who.split()[0]))
        return
    name = ticketing.assign(ctx.session, ctx.settings, ctx.now, t, staff, ctx.actor)
    ctx.audit("ticket_assign", target=t.code, detail=staff.user_id)
    ack(ctx, T.ASSIGNED.format(code=t.code, who=name))


@staff_command("status")
def status_cmd(ctx: Ctx) -> None:
    t, rest = ticket_and_rest(ctx, "/status PA-000123 đang xử lý")
    if t is None:
        return
    parsed = parse_status(rest)
    if parsed is None:
        ctx.reply(T.STATUS_UNKNOWN.format(code=t.code))
        return
    new, reason = parsed
    if t.status == CLOSED:
        ctx.reply(closed_reply(t))
        return
    if t.status == new:
        ctx.reply(T.STATUS_SAME.format(code=t.code, status=STATUS_LABELS[new]))
        return
    old = t.status
    ticketing.set_status(ctx.session, ctx.settings, ctx.now, t, new, ctx.actor, reason=reason)
    ctx.audit("ticket_status", target=t.code, detail=f"{old} -> {new} {reason}".strip())
    ack(ctx, T.STATUS_SET.format(code=t.code, old=STATUS_LABELS[old], new=STATUS_LABELS[new]))


@staff_command("close")
def close_cmd(ctx: Ctx) -> None:
    t, reason = ticket_and_rest(ctx, "/close PA-000123 Đã sửa xong đường ấp 3")
    if t is None:
        return
    if t.status == CLOSED:
        ctx.reply(T.ALREADY_CLOSED.format(code=t.code))
        return
    if not reason:
        ctx.reply(T.NEED_TEXT.format(example=f"/close {t.code} lý do hoặc kết quả giải quyết"))
        return
    ticketing.set_status(ctx.session, ctx.settings, ctx.now, t, CLOSED, ctx.actor, reason=reason[:1000])
    ctx.audit("ticket_close", target=t.code, detail=reason)
    ack(ctx, T.CLOSED_OK.format(code=t.code))


@staff_command("reopen")
def reopen_cmd(ctx: Ctx) -> None:
    t, reason = ticket_and_rest(ctx, "/reopen PA-000123")
    if t is None:
        return
    if t.status != CLOSED:
        ctx.reply(T.NOT_CLOSED.format(code=t.code))
        return
    if ticketing.is_erased(t):
        ctx.reply(T.ERASED_NO_REOPEN.format(code=t.code))
        return
    ticketing.set_status(ctx.session, ctx.settings, ctx.now, t, IN_PROGRESS, ctx.actor, reason=reason)
    ctx.audit("ticket_reopen", target=t.code, detail=reason)
    ack(ctx, T.REOPENED_OK.format(code=t.code))


@callback(ST_CB)
def on_staff_button(ctx: Ctx) -> None:
    cb = ctx.callback_data  # st:take:<ticket id>
    if not is_staff(ctx):
        ctx.audit("refused", target=cb.raw[:64], detail="staff button")
        ctx.reply(T.STAFF_BUTTON_ONLY)
        return
    if not staff_may_act(ctx, cb.raw):
        return
    if cb.arg(0) == "take" and cb.int_arg(1) is not None and len(cb.args) == 2:
        t = ctx.session.get(Ticket, cb.int_arg(1))
        if t is None:
            return
        me = ticketing.staff_member(ctx.session, ctx.settings, ctx.inbound)
        if me is None or me.id is None:  # a seeded admin without a row yet, or the terminal
            me = Staff(user_id=ctx.inbound.user_id, username=ctx.inbound.username, display_name=ctx.inbound.display_name)
        name = ticketing.assign(ctx.session, ctx.settings, ctx.now, t, me, ctx.actor)
        if t.status == NEW:
            ticketing.set_status(ctx.session, ctx.settings, ctx.now, t, IN_PROGRESS, ctx.actor)
        ctx.audit("ticket_take", target=t.code)
        ack(ctx, T.TAKEN.format(code=t.code, who=name))


# ------------------------------------------------------------------ looking
@staff_command("ticket")
def ticket_cmd(ctx: Ctx) -> None:
    t, rest = ticket_and_rest(ctx, "/ticket PA-000123")
    if t is None:
        return
    reveal = fold(rest) in ("hien sdt", "hien so", "sdt", "hien so dien thoai")
    if reveal:
        ctx.audit("reveal_phone", target=t.code)
        ticketing.add_event(ctx.session, t, "reveal_phone", ctx.actor, ctx.now)
    else:
        ctx.audit("ticket_view", target=t.code)
    today = calendar.local_date(ctx.now)
    late = f" (quá hạn {(today - t.due_date).days} ngày)" if t.is_open and t.due_date < today else ""
    contact = ticketing.contact_of(t, reveal=reveal)
    if t.contact_phone and not reveal:
        contact += T.PHONE_HINT.format(code=t.code)
    lines = [T.TICKET_DETAIL.format(
        code=t.code, category=t.category_label, source=T.CARD_SOURCE_FAQ if t.source == "faq" else "",
        status=STATUS_LABELS.get(t.status, t.status), due=calendar.fmt_date(t.due_date), late=late,
        place=ticketing.place_of(t), contact=contact, assigned=t.assigned_name or "(chưa giao)",
        created=calendar.fmt_time(t.created_at), channel=ticketing.channel_name(t.channel),
    )]
    lines.append(T.TICKET_HISTORY)
    messages = ctx.session.exec(select(TicketMessage).where(TicketMessage.ticket_id == t.id).order_by(TicketMessage.id)).all()
    events = ctx.session.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)).all()
    items: list[tuple[dt.datetime, str]] = []
    labels = {"citizen": "👤 Người dân", "answer": "📩 Trả lời", "note": "📝 Ghi chú nội bộ"}
    for m in messages:
        who = f" ({m.author_name})" if m.author_name else ""
        files = f" [+{len(m.attachments)} tệp]" if m.attachments else ""
        items.append((m.created_at, f"• {calendar.fmt_time(m.created_at)} {labels.get(m.kind, m.kind)}{who}: "
                                    f"{ticketing.short(m.text, 300)}{files}"))
    for e in events:
        if e.action in ("status", "close", "reopen"):
            items.append((e.at, f"• {calendar.fmt_time(e.at)} 🔄 {STATUS_LABELS.get(e.old, e.old)} → "
                                f"{STATUS_LABELS.get(e.new, e.new)}{': ' + e.detail if e.detail else ''}"))
        elif e.action == "assign":
            items.append((e.at, f"• {calendar.fmt_time(e.at)} 👤 giao cho {e.detail}"))
        elif e.action == "rating":
            items.append((e.at, f"• {calendar.fmt_time(e.at)} ⭐ người dân đánh giá {e.new}/5"))
    items.sort(key=lambda x: x[0])
    lines += [line for _, line in items]
    ctx.reply("\n".join(lines), ref=t.code)  # the ticket this message is about (the terminal room answers it)


@staff_command("inbox")
def inbox_cmd(ctx: Ctx) -> None:
    which = {"moi": "new", "qua han": "overdue", "cua toi": "mine", "": "open"}.get(fold(ctx.args), "open")
    today = calendar.local_date(ctx.now)
    q = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    if which == "new":
        q = select(Ticket).where(Ticket.status == NEW)
    elif which == "overdue":
        q = q.where(Ticket.due_date < today, Ticket.status != RESOLVED)
    elif which == "mine":
        q = q.where(Ticket.assigned_to == ctx.inbound.user_id)
    rows = ctx.session.exec(q.order_by(Ticket.due_date, Ticket.id)).all()
    ctx.audit("ticket_inbox", detail=which)
    label = T.INBOX_WHICH[which]
    if not rows:
        ctx.reply(T.INBOX_EMPTY.format(which=label))
        return
    lines = [T.INBOX_TITLE.format(which=label, n=len(rows))]
    for t in rows[:INBOX_LIMIT]:
        late = " ❗quá hạn" if t.due_date < today and t.status != RESOLVED else ""
        who = f" · {t.assigned_name}" if t.assigned_name else ""
        reopened = ""
        if t.rating:  # an open ticket with a rating was closed, rated, and reopened
            low = t.rating <= ctx.settings.low_rating
            reopened = T.INBOX_REOPENED_LOW.format(stars=f"{t.rating}/5") if low else T.INBOX_REOPENED
        lines.append(f"• **{t.code}** · {t.category_label} · {ticketing.short(t.commune_name or T.PLACE_UNKNOWN, 30)} · "
                     f"{STATUS_LABELS[t.status]}{reopened} · hạn {calendar.fmt_date(t.due_date)}{late}{who}\n"
                     f"  {ticketing.short(t.description, 70)}")
    if len(rows) > INBOX_LIMIT:
        lines.append(T.INBOX_MORE.format(n=len(rows) - INBOX_LIMIT))
    ctx.reply("\n".join(lines))


# ------------------------------------------------------------------ numbers
def _tickets_between(ctx: Ctx, start: dt.date, end: dt.date, limit: int | None = None) -> list[Ticket]:
    lo, hi = _range_utc(start, end)
    q = select(Ticket).where(Ticket.created_at >= lo, Ticket.created_at < hi).order_by(Ticket.id)
    if limit:
        q = q.limit(limit)
    return list(ctx.session.exec(q).all())


@staff_command("stats")
def stats_cmd(ctx: Ctx) -> None:
    today = calendar.local_date(ctx.now)
    period = parse_month(ctx.args, today)
    if period is None:
        ctx.reply(T.STATS_BAD_PERIOD)
        return
    start, end = period
    f = figures(ctx.session, start, end, today)  # the public page (/congkhai) shows these same figures
    ctx.audit("ticket_stats", detail=f"{start}..{end}")

    def counted(counter: collections.Counter[str], top: int = 10) -> str:
        if not counter:
            return "• (không có)"
        return "\n".join(f"• {k}: {vn_number(v)}" for k, v in counter.most_common(top))

    by_status = collections.Counter({STATUS_LABELS.get(s, s): n for s, n in f.by_status.items()})
    on_time_text = (T.STATS_ON_TIME.format(ok=vn_number(f.on_time_ok), n=vn_number(f.on_time_known),
                                           pct=percent(f.on_time_ok, f.on_time_known))
                    if f.on_time_known else T.STATS_NO_DATA)
    rating_text = (T.STATS_RATING.format(avg=vn_number(f.rating_avg, 1), n=vn_number(f.rating_n))
                   if f.rating_avg is not None else T.STATS_NO_RATING)
    ctx.reply(T.STATS.format(
        period=f"tháng {start.month:02d}/{start.year}", total=vn_number(f.total), by_status=counted(by_status),
        by_category=counted(f.by_category), by_commune=counted(f.by_commune), on_time=on_time_text, rating=rating_text,
    ))


def parse_day(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# The header row officers read in Excel: proper Vietnamese, one column per field written below, in order.
CSV_COLUMNS = ["Mã phản ánh", "Ngày gửi", "Loại việc", "Xã, phường", "Mã xã", "Ấp, khóm", "Nội dung", "Số tệp kèm",
               "Trạng thái", "Hạn trả lời", "Đúng hạn", "Trả lời đầu tiên", "Ngày xử lý", "Ngày đóng", "Kết quả",
               "Đánh giá", "Người xử lý", "Liên hệ", "Kênh", "Nguồn"]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # (also full-width)


def csv_cell(value: object) -> object:
    """OWASP's defence against CSV (formula) injection: a text cell that a spreadsheet would read as a formula
    (starting with = + - @, a tab or a line break) is prefixed with a single quote, so it shows as typed."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_rows(session: Session, rows: list[Ticket], today: dt.date) -> list[list[object]]:
    """The export's rows (CSV_COLUMNS), phones masked, cells safe from formula injection: `/export` and the
    console's CSV and XLSX downloads write these same rows."""
    counts = collections.Counter(
        m.ticket_id for m in session.exec(select(TicketMessage).where(TicketMessage.kind == "citizen",
                                                                       TicketMessage.ticket_id.in_([t.id for t in rows])))  # type: ignore[union-attr]
        for _ in (m.attachments or [])
    )
    out = []
    for t in rows:
        ok = on_time(t, today)
        out.append([csv_cell(v) for v in [
            t.code, calendar.fmt_time(t.created_at), t.category_label, t.commune_name, t.commune_code or "", t.hamlet,
            t.description, counts.get(t.id, 0), STATUS_LABELS.get(t.status, t.status), calendar.fmt_date(t.due_date),
            {True: "có", False: "không", None: ""}[ok],
            calendar.fmt_time(t.first_answer_at) if t.first_answer_at else "",
            calendar.fmt_time(t.resolved_at) if t.resolved_at else "",
            calendar.fmt_time(t.closed_at) if t.closed_at else "", t.close_reason, t.rating or "", t.assigned_name,
            ticketing.contact_of(t), t.channel, t.source,
        ]])
    return out


@staff_command("export")
def export_cmd(ctx: Ctx) -> None:
    today = calendar.local_date(ctx.now)
    words = ctx.args.split()
    if not words:
        start, end = today.replace(day=1), today
    else:
        days = [parse_day(w) for w in words[:2]]
        if any(d is None for d in days):
            ctx.reply(T.EXPORT_BAD_DATE)
            return
        start = days[0]  # type: ignore[assignment]
        end = days[1] if len(days) > 1 else today  # type: ignore[assignment]
    if start > end:  # type: ignore[operator]
        start, end = end, start
    rows = _tickets_between(ctx, start, end, limit=EXPORT_MAX_ROWS)  # type: ignore[arg-type]
    ctx.audit("ticket_export", detail=f"{start}..{end}: {len(rows)}")
    span = dict(start=calendar.fmt_date(start), end=calendar.fmt_date(end))  # type: ignore[arg-type]
    if not rows:
        ctx.reply(T.EXPORT_EMPTY.format(**span))
        return
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    w.writerows(export_rows(ctx.session, rows, today))
    data = buf.getvalue().encode("utf-8-sig")  # with a BOM, Excel opens Vietnamese text correctly
    name = f"phan-anh_{start:%Y%m%d}-{end:%Y%m%d}.csv"  # type: ignore[str-format]
    ctx.reply(T.EXPORT_CAPTION.format(n=len(rows), **span),
              attachments=(Attachment("document", "data:text/csv;base64," + base64.b64encode(data).decode(), name, "text/csv"),))


# ------------------------------------------------------------------ templates
@staff_command("templates")
def templates_cmd(ctx: Ctx) -> None:
    words = ctx.args.split(maxsplit=2)
    action = fold(words[0]) if words else ""
    if action in ("add", "them"):
        if len(words) < 3:
            ctx.reply(T.TEMPLATE_USAGE)
            return
        name = words[1].lstrip("#").lower()[:48]
        row = ctx.session.exec(select(ReplyTemplate).where(ReplyTemplate.name == name)).first() or ReplyTemplate(name=name, text="")
        row.text = words[2].strip()[:3000]
        row.created_by = ctx.actor
        row.created_at = ctx.now
        ctx.session.add(row)
        ctx.audit("template_add", target=name, detail=row.text)
        ctx.reply(T.TEMPLATE_SAVED.format(name=name))
        return
    if action in ("remove", "xoa", "rm"):
        if len(words) < 2:
            ctx.reply(T.TEMPLATE_USAGE)
            return
        name = words[1].lstrip("#").lower()
        row = ctx.session.exec(select(ReplyTemplate).where(ReplyTemplate.name == name)).first()
        if row is None:
            ctx.reply(T.TEMPLATE_SHIPPED.format(name=name) if name in ticketing.shipped_templates()
                      else T.TEMPLATE_UNKNOWN.format(name=name))
            return
        ctx.session.delete(row)
        ctx.audit("template_remove", target=name)
        ctx.reply(T.TEMPLATE_REMOVED.format(name=name))
        return
    if action:
        ctx.reply(T.TEMPLATE_USAGE)
        return
    templates = ticketing.all_templates(ctx.session)
    ctx.audit("template_list")
    if not templates:
        ctx.reply(T.TEMPLATES_EMPTY)
        return
    ctx.reply("\n".join([T.TEMPLATES_TITLE, *(f"• **#{k}**: {ticketing.short(v, 160)}" for k, v in sorted(templates.items()))]))


# ------------------------------------------------------------------ who is staff
def resolve_user(ctx: Ctx, who: str) -> tuple[str, str, str] | None:
    """(user id, username, display name) for "123456789" or "@username" (a username must be known to the bot)."""
    who = who.strip()
    if who.lstrip("-").isdigit():
        chat = ctx.session.exec(select(Chat).where(Chat.channel == TELEGRAM, Chat.user_id == who)).first()
        return who, chat.username if chat else "", chat.display_name if chat else ""
    handle = who.lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{3,32}", handle):
        return None
    row = ctx.session.exec(select(Staff).where(Staff.username == handle)).first()
    if row is not None:
        return row.user_id, handle, row.display_name
    chat = ctx.session.exec(select(Chat).where(Chat.channel == TELEGRAM, Chat.username == handle, Chat.chat_type == "private")).first()
    return (chat.user_id, handle, chat.display_name) if chat and chat.user_id else None


LOCAL_OFFICER = "local:"  # user ids of officers added in the terminal room (never a Telegram id)


def local_officer(who: str) -> tuple[str, str, str] | None:
    """(user id, username, name) of an officer of the local room: "@anhtu" -> ("local:anhtu", "anhtu", "anhtu")."""
    handle = who.strip().lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{3,32}", handle):
        return None
    return LOCAL_OFFICER + handle, handle, handle


@staff_command("staff")
def staff_cmd(ctx: Ctx) -> None:
    words = ctx.args.split()
    action = fold(words[0]) if words else "list"
    if action in ("list", "ds", "danh sach"):
        rows = ctx.session.exec(select(Staff).where(Staff.active == True).order_by(Staff.role, Staff.id)).all()
        ctx.audit("staff_list")
        lines = [T.STAFF_LIST_TITLE.format(n=len(rows))]
        for s in rows:
            handle = f" @{s.username}" if s.username else ""
            lines.append(f"• {s.display_name or '(chưa có tên)'}{handle} · ID {s.user_id} · {T.ROLE_LABELS.get(s.role, s.role)}")
        ctx.reply("\n".join(lines))
        return
    if action not in ("add", "them", "remove", "xoa", "rm"):
        ctx.reply(T.STAFF_USAGE)
        return
    if not ticketing.is_admin(ctx.session, ctx.settings, ctx.inbound):
        ctx.audit("refused", target="/staff", detail=ctx.inbound.text[:200])
        ctx.reply(T.STAFF_ADMIN_ONLY)
        return
    if len(words) < 2:
        ctx.reply(T.STAFF_USAGE)
        return
    who = words[1]
    found = resolve_user(ctx, who)
    local = False
    if found is None and ctx.inbound.channel == TERMINAL_STAFF and action in ("add", "them"):
        found, local = local_officer(who), True  # trying the officer side on one machine: a local officer
    if found is None:
        ctx.reply(T.STAFF_UNKNOWN_USER.format(who=who))
        return
    user_id, username, display = found
    row = ctx.session.exec(select(Staff).where(Staff.user_id == user_id)).first()
    if action in ("add", "them"):
        role = fold(words[2]) if len(words) > 2 else "officer"
        role = {"can bo": "officer", "lanh dao": "supervisor", "quan tri": "admin"}.get(role, role)
        if role not in T.ROLE_LABELS:
            ctx.reply(T.STAFF_USAGE)
            return
        if row is None:
            row = Staff(user_id=user_id, created_at=ctx.now)
        row.username = username or row.username
        row.display_name = display or row.display_name
        row.role = role if user_id not in ctx.settings.seed_admin_ids else "admin"
        row.active = True
        row.added_by = ctx.actor
        ctx.session.add(row)
        ctx.audit("staff_add", target=user_id, detail=f"{username} {row.role}")
        ctx.reply(T.STAFF_ADDED.format(who=f"@{username}" if username else user_id, role=T.ROLE_LABELS[row.role])
                  + (T.STAFF_ADDED_LOCAL if local else ""))
        return
    if user_id in ctx.settings.seed_admin_ids:
        ctx.reply(T.STAFF_SEED.format(who=who))
        return
    if row is None or not row.active:
        ctx.reply(T.STAFF_NOT_FOUND.format(who=who))
        return
    row.active = False
    ctx.session.add(row)
    ctx.audit("staff_remove", target=user_id)
    ctx.reply(T.STAFF_REMOVED.format(who=who))


@staff_command("help_staff")
def help_staff(ctx: Ctx) -> None:
    """Every staff command, from the command registry (tickets, broadcasts, content: nothing left out)."""
    ctx.reply(T.STAFF_HELP.format(commands="\n".join(command_lines(staff=True))))


def registered_staff_commands() -> list[str]:
    return sorted(name for name, c in COMMANDS.items() if c.staff)


