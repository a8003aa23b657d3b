# Over 400 lines: one page collected and rendered top to bottom (figures, charts, tables, the answered reports).
"""`GET /congkhai`: the public results page ("dân kiểm tra, dân giám sát").

What citizens see of the reports sent in a month: how many were received, are being handled, were resolved and
closed; the on-time rate and the average rating (the same figures as `/stats`: `figures.py`); the reports by
commune (the 102 units) and by category; the last twelve months as a chart; and the reports that were answered,
with category, commune, dates, status and the agency's answer.

Nothing private: no name, phone number, hamlet or citizen's words unless an officer made the report public
(`/congkhai MÃ`), and never the name or phone number. A commune the citizen typed that is not one of the 102
units is shown as "chưa xác định" (what they typed is their words). Answers are officers' words, but may quote
the citizen: whatever of theirs the page may not show is masked in them, and so is any phone number.

The page is server-rendered HTML with inline SVG charts (every chart has a table beside it), readable without
JavaScript, with one local stylesheet: no CDN, no third-party request (a Content-Security-Policy says so to the
browser); every text is escaped. This module collects and renders; `bot.pages.results` serves it over HTTP (only
GET and HEAD, a rate limit per client address).
"""
from __future__ import annotations

import collections
import datetime as dt
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.features.results.figures import (
    STATUS_ORDER,
    Figures,
    figures,
    first_month,
    monthly,
    on_time,
    percent,
    range_utc,
)
from bot.features.tickets import erasure
from bot.features.tickets import service as ticketing
from bot.kernel.logs import redact
from bot.storage.models import Chat
from bot.storage.tickets import CLOSED, RESOLVED, STATUS_LABELS, Ticket, TicketMessage
from knowledge import communes as commune_list
from knowledge.numbers import vn_number

PATH = "/congkhai"
STATIC = Path(__file__).resolve().parent / "static"
PAGE_SIZE = 20
TREND_MONTHS = 12
TOP_COMMUNES = 20
PICKER_MONTHS = 60
ANSWER_MAX = 2000  # characters of one answer shown

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
MASK = "[đã ẩn]"
PHONE_MASK = "[đã ẩn số điện thoại]"
UNPLACED = "Chưa xác định xã, phường"
FORGOTTEN = ("Câu trả lời không còn hiển thị: thông tin cá nhân của người phản ánh đã được xóa (theo yêu cầu của người "
             "dân hoặc hết thời hạn lưu).")

# Chart colours: each at least 4.5:1 against white (WCAG 1.4.11 needs 3:1 for graphics; the value labels are text).
RECEIVED_COLOUR = "#1d6b3a"
RESOLVED_COLOUR = "#8a4b00"
INK = "#1a1a1a"
GRID = "#767676"


# ------------------------------------------------------------------ what the page shows
@dataclass
class Report:
    """One answered report as the public may see it."""

    code: str
    category: str
    commune: str
    sent: dt.date
    due: dt.date
    resolved: dt.date | None
    status: str
    on_time: bool | None
    answers: list[tuple[dt.date, str]] = field(default_factory=list)
    result: str = ""
    content: str = ""  # only when an officer made the report public
    hamlet: str = ""  # idem
    forgotten: bool = False  # the citizen's data was erased: the answers are not shown


@dataclass
class PageData:
    start: dt.date
    end: dt.date
    today: dt.date
    now: dt.datetime
    figures: Figures
    trend: list[Figures]
    categories: list[str]
    months: list[dt.date]
    reports: list[Report]
    reports_total: int
    page: int


def _mask(text: str, private: list[str]) -> str:
    for p in private:
        text = re.sub(re.escape(p), MASK, text, flags=re.IGNORECASE)
    return redact(text).replace("<phone>", PHONE_MASK).replace("<secret>", MASK).replace("<token>", MASK)


def _private_strings(session: Session, t: Ticket) -> list[str]:
    """What of the citizen's may not appear: name and phone always; their words, hamlet and typed commune unless
    an officer made the report public."""
    chat = session.exec(select(Chat).where(Chat.channel == t.channel, Chat.chat_id == t.chat_id)).first() if t.chat_id else None
    names = [t.contact_name or "", t.contact_phone or "", chat.display_name if chat else "", chat.username if chat else ""]
    always = [s for s in names if len(s.strip()) >= 2]
    if t.contact_phone:
        digits = re.sub(r"\D", "", t.contact_phone)
        always += [digits, digits[-9:]] if len(digits) >= 9 else []
    rest = [] if t.public_at is not None else erasure.personal_strings(session, t)  # noqa: SLF001
    return sorted(set(always + rest), key=len, reverse=True)


def _answered(session: Session, start: dt.date, end: dt.date, today: dt.date, page: int) -> tuple[list[Report], int]:
    lo, hi = range_utc(start, end)
    where = (Ticket.created_at >= lo, Ticket.created_at < hi,
             sa.or_(col(Ticket.first_answer_at).is_not(None), col(Ticket.status).in_((RESOLVED, CLOSED))))
    total = session.exec(select(sa.func.count()).select_from(Ticket).where(*where)).one()
    rows = session.exec(select(Ticket).where(*where).order_by(col(Ticket.id).desc())
                        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    units = {c.code: c.name for c in commune_list.load()}
    answers: dict[int, list[TicketMessage]] = collections.defaultdict(list)
    if rows:
        for m in session.exec(select(TicketMessage).where(TicketMessage.kind == "answer",
                                                          col(TicketMessage.ticket_id).in_([t.id for t in rows]))
                              .order_by(TicketMessage.id)).all():
            answers[m.ticket_id].append(m)
    out = []
    for t in rows:
        private = _private_strings(session, t)
        public = t.public_at is not None
        # The citizen's name and phone were erased (/xoadulieu, or the retention period): what the answers may quote
        # of them can no longer be found and masked, so the answers are not shown.
        forgotten = t.contact_erased_at is not None or ticketing.is_erased(t)
        out.append(Report(
            code=t.code, category=t.category_label, commune=units.get(t.commune_code or "", UNPLACED),
            sent=ticketing.local_date(t.created_at), due=t.due_date,
            resolved=ticketing.local_date(t.resolved_at) if t.resolved_at else None,
            status=STATUS_LABELS.get(t.status, t.status), on_time=on_time(t, today),
            answers=[] if forgotten else [(ticketing.local_date(m.created_at), _mask(m.text[:ANSWER_MAX], private))
                                          for m in answers[t.id] if m.text.strip()],  # type: ignore[index]  # a loaded row's id is set
            result=_mask(t.close_reason, private) if t.status == CLOSED and not forgotten else "",
            forgotten=forgotten,
            content=t.description if public else "", hamlet=t.hamlet if public else "",
        ))
    return out, int(total)


def collect(session: Session, settings: Any, now: dt.datetime, start: dt.date, end: dt.date, page: int) -> PageData:
    """Everything the page shows, read in one transaction."""
    today = ticketing.local_date(now)
    f = figures(session, start, end, today)
    trend = monthly(session, start, TREND_MONTHS, today)
    first = first_month(session) or today.replace(day=1)
    months, m = [], today.replace(day=1)
    while m >= first and len(months) < PICKER_MONTHS:
        months.append(m)
        m = (m - dt.timedelta(days=1)).replace(day=1)
    if start not in months:
        months.append(start)
        months.sort(reverse=True)
    cats = [c.label for c in ticketing.categories(settings)]
    cats += [c for c in f.by_category if c not in cats]  # a category since removed from the settings
    reports, n = _answered(session, start, end, today, page)
    return PageData(start, end, today, now, f, trend, cats, months, reports, n, page)


# ------------------------------------------------------------------ rendering
def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def num(n: float) -> str:
    return vn_number(n)


def month_label(d: dt.date) -> str:
    return f"{d.month:02d}/{d.year}"


def _cards(f: Figures) -> str:
    rating = (f"{vn_number(f.rating_avg, 1)}/5" if f.rating_avg is not None else "chưa có")
    cards = [
        ("total", "Đã tiếp nhận", num(f.total), "phản ánh gửi trong tháng"),
        ("working", "Đang giải quyết", num(f.working), "mới tiếp nhận, đang xử lý, chờ bổ sung"),
        ("resolved", "Đã xử lý, đã trả lời", num(f.resolved), "cơ quan đã trả lời kết quả"),
        ("closed", "Đã đóng", num(f.closed), "đã xong, hồ sơ khép lại"),
        ("on-time", "Xử lý đúng hạn", percent(f.on_time_ok, f.on_time_known) if f.on_time_known else "chưa có",
         f"{num(f.on_time_ok)}/{num(f.on_time_known)} phản ánh đã đến hạn hoặc đã xong" if f.on_time_known
         else "chưa có phản ánh nào đến hạn"),
        ("rating", "Đánh giá trung bình", rating,
         f"{num(f.rating_n)} lượt đánh giá của người dân" if f.rating_n else "chưa có lượt đánh giá"),
    ]
    items = "".join(f'<div class="card"><dt>{esc(label)}</dt><dd><span class="big" data-figure="{key}">{esc(value)}</span>'
                    f'<span class="note">{esc(note)}</span></dd></div>' for key, label, value, note in cards)
    return f'<dl class="cards">{items}</dl>'


def _status_table(f: Figures) -> str:
    rows = "".join(f'<tr><th scope="row">{esc(STATUS_LABELS[s])}</th><td data-status="{s}">{num(f.by_status[s])}</td></tr>'
                   for s in STATUS_ORDER)
    return ('<table class="data"><caption>Số phản ánh theo trạng thái</caption><thead><tr><th scope="col">Trạng thái</th>'
            f'<th scope="col">Số phản ánh</th></tr></thead><tbody>{rows}</tbody>'
            f'<tfoot><tr><th scope="row">Tổng số</th><td>{num(f.total)}</td></tr></tfoot></table>')


def _nice_max(n: int) -> int:
    if n <= 4:
        return max(n, 1)
    step = 10 ** int(math.log10(n))
    for k in (1, 2, 2.5, 5, 10):
        if k * step >= n:
            return int(k * step) if k * step == int(k * step) else n
    return n


def _trend_svg(trend: list[Figures]) -> str:
    """Vertical bars, two a month: reports received, and of those, resolved or closed."""
    w, h, left, top, bottom = 420, 250, 30, 18, 204
    plot_w = w - left - 6
    slot = plot_w / len(trend)
    bar = slot * 0.36
    top_value = _nice_max(max([f.total for f in trend] + [1]))
    scale = (bottom - top) / top_value
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="trend-title trend-desc" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">',
             '<title id="trend-title">Số phản ánh tiếp nhận và đã xử lý xong theo tháng</title>',
             f'<desc id="trend-desc">{esc(trend[0].start.strftime("%m/%Y"))} đến {esc(trend[-1].start.strftime("%m/%Y"))}; '
             'số liệu chi tiết trong bảng ngay dưới biểu đồ.</desc>']
    for frac in (0, 0.5, 1):
        y = bottom - frac * (bottom - top)
        value = top_value * frac
        label = num(value) if value == int(value) else vn_number(value, 1)
        dash = "" if frac == 0 else ' stroke-dasharray="3 3"'
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 6}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.6"{dash}/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="13" fill="{INK}">{esc(label)}</text>')
    for i, f in enumerate(trend):
        x0 = left + i * slot + slot * 0.12
        done = f.resolved + f.closed
        for j, (value, colour) in enumerate(((f.total, RECEIVED_COLOUR), (done, RESOLVED_COLOUR))):
            x = x0 + j * bar
            bh = value * scale
            parts.append(f'<rect x="{x:.1f}" y="{bottom - bh:.1f}" width="{bar - 1:.1f}" height="{bh:.1f}" fill="{colour}"/>')
            if value:
                parts.append(f'<text x="{x + bar / 2:.1f}" y="{bottom - bh - 3:.1f}" text-anchor="middle" font-size="12" '
                             f'fill="{INK}">{esc(num(value))}</text>')
        parts.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{bottom + 18}" text-anchor="middle" font-size="15" '
                     f'fill="{INK}">{f.start.month:02d}</text>')
        if i == 0 or f.start.month == 1:
            parts.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{bottom + 36}" text-anchor="middle" font-size="13" '
                         f'fill="{INK}">{f.start.year}</text>')
    parts.append("</svg>")
    legend = ('<ul class="legend"><li><span class="swatch received" aria-hidden="true"></span>Tiếp nhận</li>'
              '<li><span class="swatch resolved" aria-hidden="true"></span>Đã xử lý xong (đã xử lý hoặc đã đóng)</li></ul>')
    rows = "".join(f'<tr><th scope="row">{esc(month_label(f.start))}</th><td>{num(f.total)}</td>'
                   f'<td>{num(f.resolved + f.closed)}</td><td>{esc(percent(f.on_time_ok, f.on_time_known)) if f.on_time_known else "–"}</td></tr>'
                   for f in trend)
    table = ('<details><summary>Xem bảng số liệu theo tháng</summary><table class="data"><caption>Phản ánh theo tháng gửi'
             '</caption><thead><tr><th scope="col">Tháng</th><th scope="col">Tiếp nhận</th><th scope="col">Đã xử lý xong</th>'
             f'<th scope="col">Đúng hạn</th></tr></thead><tbody>{rows}</tbody></table></details>')
    return "".join(parts) + legend + table


def _bars(items: list[tuple[str, int]], label: str, key: str) -> str:
    """Horizontal bars as a list: the label and the number are HTML text (they grow with the text size), the bar
    an SVG scaled to the largest value."""
    top = max([n for _, n in items] + [1])
    rows = "".join(
        f'<li><span class="bar-label">{esc(name)}</span>'
        f'<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
        f'<rect width="{100 * n / top:.2f}" height="10" fill="{RECEIVED_COLOUR}"/></svg>'
        f'<span class="bar-value" data-{key}="{esc(name)}">{num(n)}</span></li>'
        for name, n in items)
    return f'<ul class="bars" aria-label="{esc(label)}">{rows}</ul>'


def _by_category(d: PageData) -> str:
    f = d.figures
    items = sorted(((c, f.by_category[c]) for c in d.categories), key=lambda x: -x[1])
    rows = "".join(f'<tr><th scope="row">{esc(c)}</th><td>{num(n)}</td></tr>' for c, n in items)
    return (_bars(items, "Số phản ánh theo loại việc", "category")
            + '<details><summary>Xem bảng theo loại việc</summary><table class="data"><caption>Số phản ánh theo loại việc'
            f'</caption><thead><tr><th scope="col">Loại việc</th><th scope="col">Số phản ánh</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></details>')


def _by_commune(d: PageData) -> str:
    f = d.figures
    units = commune_list.load()
    ranked = sorted(((c.name, f.by_unit[c.code]) for c in units if f.by_unit[c.code]), key=lambda x: -x[1])
    shown = ranked[:TOP_COMMUNES]
    chart = (_bars(shown, "Xã, phường có nhiều phản ánh nhất", "commune") if shown
             else '<p>Chưa có phản ánh nào ghi rõ xã, phường trong tháng này.</p>')
    more = (f'<p class="note">Biểu đồ hiện {num(len(shown))} xã, phường có nhiều phản ánh nhất; bảng dưới đây có đủ '
            f'{num(len(units))} đơn vị.</p>' if len(ranked) > len(shown) else "")
    rows = "".join(f'<tr><th scope="row">{esc(c.name)}</th><td data-unit="{esc(c.code)}">{num(f.by_unit[c.code])}</td></tr>'
                   for c in units)
    rows += f'<tr><th scope="row">{esc(UNPLACED)}</th><td data-unit="">{num(f.unplaced)}</td></tr>'
    table = (f'<details><summary>Xem bảng đủ {num(len(units))} xã, phường, đặc khu</summary><table class="data">'
             f'<caption>Số phản ánh theo xã, phường, đặc khu (tỉnh An Giang, {num(len(units))} đơn vị)</caption><thead><tr>'
             f'<th scope="col">Đơn vị</th><th scope="col">Số phản ánh</th></tr></thead><tbody>{rows}</tbody></table></details>')
    return chart + more + table


def _report(r: Report) -> str:
    late = {True: "đúng hạn", False: "quá hạn", None: ""}[r.on_time]
    facts = [("Loại việc", r.category), ("Xã, phường", r.commune), ("Ngày gửi", ticketing.fmt_date(r.sent)),
             ("Hạn trả lời", ticketing.fmt_date(r.due))]
    if r.hamlet:
        facts.append(("Ấp, khóm", r.hamlet))
    if r.resolved:
        facts.append(("Ngày xử lý xong", ticketing.fmt_date(r.resolved) + (f" ({late})" if late else "")))
    facts.append(("Trạng thái", r.status))
    dl = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts)
    content = (f'<div class="content"><h4>Nội dung phản ánh <span class="note">(cơ quan đã cho công khai)</span></h4>'
               f'<p>{esc(r.content)}</p></div>' if r.content else "")
    answers = "".join(f'<div class="answer"><h4>Cơ quan trả lời ngày {esc(ticketing.fmt_date(day))}</h4>'
                      f'<p>{esc(text)}</p></div>' for day, text in r.answers)
    if r.forgotten:
        answers += f'<p class="note">{esc(FORGOTTEN)}</p>'
    if r.result:
        answers += f'<div class="answer"><h4>Kết quả giải quyết</h4><p>{esc(r.result)}</p></div>'
    return (f'<li><article class="report" aria-labelledby="r-{esc(r.code)}"><h3 id="r-{esc(r.code)}">{esc(r.code)} · '
            f'{esc(r.category)}</h3><dl class="facts">{dl}</dl>{content}{answers}</article></li>')


def _pager(d: PageData) -> str:
    pages = max(1, math.ceil(d.reports_total / PAGE_SIZE))
    if pages == 1:
        return ""
    base = f"{PATH}?thang={d.start:%Y-%m}&amp;trang="
    links = []
    if d.page > 1:
        links.append(f'<a href="{base}{d.page - 1}#da-tra-loi" rel="prev">‹ Trang trước</a>')
    links.append(f'<span aria-current="page">Trang {num(d.page)}/{num(pages)}</span>')
    if d.page < pages:
        links.append(f'<a href="{base}{d.page + 1}#da-tra-loi" rel="next">Trang sau ›</a>')
    return f'<nav class="pager" aria-label="Các trang danh sách">{"".join(links)}</nav>'


def _picker(d: PageData) -> str:
    options = "".join(f'<option value="{m:%Y-%m}"{" selected" if m == d.start else ""}>Tháng {esc(month_label(m))}</option>'
                      for m in d.months)
    return (f'<form class="period" method="get" action="{PATH}"><label for="thang">Chọn tháng</label>'
            f'<select id="thang" name="thang">{options}</select><button type="submit">Xem số liệu</button></form>')


def render(d: PageData, settings: Any) -> str:
    period = month_label(d.start)
    f = d.figures
    reports = ("".join(_report(r) for r in d.reports) if d.reports
               else "<li><p>Chưa có phản ánh nào gửi trong tháng này được trả lời.</p></li>")
    first = (d.page - 1) * PAGE_SIZE + 1
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Công khai kết quả giải quyết phản ánh, tháng {esc(period)}</title>
<meta name="description" content="Số phản ánh người dân gửi, đang giải quyết, đã xử lý, tỉ lệ đúng hạn và câu trả lời của cơ quan.">
<link rel="stylesheet" href="{PATH}/style.css">
<link rel="icon" href="{PATH}/icon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip" href="#noi-dung">Bỏ qua, đến nội dung chính</a>
<header class="top"><div class="wrap">
<p class="agency">{esc(settings.agency_name)}</p>
<h1>Công khai kết quả giải quyết phản ánh</h1>
<p class="motto">Dân biết, dân bàn, dân làm, dân kiểm tra, dân giám sát, dân thụ hưởng</p>
</div></header>
<main id="noi-dung" class="wrap">
{_picker(d)}
<section aria-labelledby="tong-quan">
<h2 id="tong-quan">Tổng quan tháng {esc(period)}</h2>
{_cards(f)}
{_status_table(f)}
</section>
<section aria-labelledby="theo-thang">
<h2 id="theo-thang">Diễn biến {num(len(d.trend))} tháng, đến tháng {esc(period)}</h2>
<figure>{_trend_svg(d.trend)}</figure>
</section>
<section aria-labelledby="theo-loai">
<h2 id="theo-loai">Theo loại việc</h2>
{_by_category(d)}
</section>
<section aria-labelledby="theo-xa">
<h2 id="theo-xa">Theo xã, phường</h2>
{_by_commune(d)}
</section>
<section aria-labelledby="da-tra-loi">
<h2 id="da-tra-loi">Phản ánh đã được trả lời ({num(d.reports_total)})</h2>
<p class="note">Mới nhất trước{f", từ số {num(first)}" if d.page > 1 else ""}. Trang không hiện họ tên, số điện thoại của người
phản ánh; nội dung và ấp, khóm chỉ hiện khi cơ quan quyết định công khai.</p>
<ol class="reports">{reports}</ol>
{_pager(d)}
</section>
</main>
<footer class="wrap">
<p>Số liệu cập nhật lúc {esc(ticketing.fmt_time(d.now))}. Một phản ánh được tính vào tháng người dân gửi.
«Đúng hạn»: xử lý xong không muộn hơn hạn trả lời, tính trên các phản ánh đã xử lý xong hoặc đã quá hạn.</p>
<p>Gửi phản ánh, hỏi đáp về nông thôn mới và OCOP: nhắn tin cho bot của {esc(settings.agency_name)} trên Zalo hoặc
Telegram (lệnh /phananh). Liên hệ: {esc(settings.agency_contact)}.</p>
</footer>
</body>
</html>
"""
