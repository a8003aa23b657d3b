"""The officers' numbers: /stats for a day, a month or a range, and /export of tickets as CSV (cells that a
spreadsheet would read as formulas are neutralised)."""
from __future__ import annotations

import base64
import collections
import csv
import datetime as dt
import io

from sqlmodel import Session, col, select

from bot.features.results.figures import figures, on_time, parse_month, percent
from bot.features.results.figures import range_utc as _range_utc
from bot.features.tickets import calendar
from bot.features.tickets import service as ticketing
from bot.features.tickets import texts as T
from bot.features.tickets.staff import staff_command
from bot.kernel.messages import Attachment
from bot.kernel.registry import Ctx
from bot.storage.tickets import STATUS_LABELS, Ticket, TicketMessage
from knowledge.numbers import vn_number

EXPORT_MAX_ROWS = 50_000


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
                                                                       col(TicketMessage.ticket_id).in_([t.id for t in rows])))
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
        start = days[0]  # type: ignore[assignment]  # both days are dates: None was refused just above
        end = days[1] if len(days) > 1 else today  # type: ignore[assignment]  # both days are dates: None was refused just above
    if start > end:
        start, end = end, start
    rows = _tickets_between(ctx, start, end, limit=EXPORT_MAX_ROWS)
    ctx.audit("ticket_export", detail=f"{start}..{end}: {len(rows)}")
    span = dict(start=calendar.fmt_date(start), end=calendar.fmt_date(end))
    if not rows:
        ctx.reply(T.EXPORT_EMPTY.format(**span))
        return
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    w.writerows(export_rows(ctx.session, rows, today))
    data = buf.getvalue().encode("utf-8-sig")  # with a BOM, Excel opens Vietnamese text correctly
    name = f"phan-anh_{start:%Y%m%d}-{end:%Y%m%d}.csv"
    ctx.reply(T.EXPORT_CAPTION.format(n=len(rows), **span),
              attachments=(Attachment("document", "data:text/csv;base64," + base64.b64encode(data).decode(), name, "text/csv"),))
