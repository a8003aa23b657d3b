"""The console's HTML, rendered on the server: every value escaped (`esc`), no inline script or style (the
Content-Security-Policy forbids them), one local stylesheet and one small script (live updates); works on a
phone's width. Everything an officer reads is Vietnamese."""
from __future__ import annotations

import html
import urllib.parse
from typing import Any, Iterable

from bot.features.console.accounts import Officer
from bot.features.tickets import calendar
from bot.features.tickets import service as ticketing
from bot.kernel.messages import Attachment
from bot.pages.console.data import STATUS_CHOICES, STATUS_SLUGS, Filters, Inbox, TicketPage
from bot.storage.tickets import CLOSED, RESOLVED, STATUS_LABELS
from knowledge.numbers import vn_number

PATH = "/canbo"
ROLE_LABELS = {"officer": "Cán bộ", "supervisor": "Lãnh đạo", "admin": "Quản trị"}
MESSAGES = {  # ?kq=… after an action: fixed texts, never echoed input
    "da-tra-loi": "Đã gửi câu trả lời cho người dân.",
    "da-ghi-chu": "Đã lưu ghi chú nội bộ.",
    "da-doi-trang-thai": "Đã đổi trạng thái.",
    "da-giao": "Đã giao phản ánh.",
    "da-dong-xong": "Đã đóng phản ánh, người dân được báo và mời đánh giá.",
    "da-mo-lai": "Đã mở lại phản ánh.",
    "can-noi-dung": "Vui lòng nhập nội dung.",
    "can-ly-do": "Vui lòng ghi lý do hoặc kết quả giải quyết trước khi đóng.",
    "da-dong": "Phản ánh đã đóng: mở lại trước khi trả lời hoặc đổi trạng thái.",
    "da-dong-roi": "Phản ánh đã đóng từ trước.",
    "chua-dong": "Phản ánh chưa đóng.",
    "da-xoa": "Người dân đã xóa dữ liệu của mình: không thể mở lại phản ánh này.",
    "khong-doi": "Phản ánh đã ở trạng thái này.",
    "trang-thai-sai": "Vui lòng chọn một trạng thái trong danh sách.",
    "can-bo-khong-co": "Không tìm thấy cán bộ này.",
    "mau-khong-co": "Không có mẫu trả lời này.",
    "khong-ro": "Không rõ thao tác.",
}
ERRORS = {"sai": "Tên đăng nhập hoặc mật khẩu chưa đúng (hoặc mã xác thực, với tài khoản đã bật).", "het-phien": "Phiên làm việc đã hết, vui lòng đăng nhập lại.",
          "nhanh": "Bạn thử đăng nhập quá nhiều lần, vui lòng đợi một phút."}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, officer: Officer | None = None, *, live: str = "") -> str:
    nav = ""
    if officer is not None:
        nav = (f'<nav class="top-nav" aria-label="Chức năng"><a href="{PATH}/hop-thu">Hộp thư</a>'
               f'<a href="{PATH}/thong-ke">Thống kê</a><a href="{PATH}/tri-thuc">Tri thức</a>'
               + (f'<a href="{PATH}/tai-khoan">Tài khoản</a>' if officer.role == "admin" else "") +
               f'<span class="who">{esc(officer.name)} · {esc(ROLE_LABELS.get(officer.role, officer.role))}</span>'
               f'<form method="post" action="{PATH}/dang-xuat" class="inline">{csrf_field(officer)}'
               '<button type="submit" class="link">Đăng xuất</button></form></nav>')
    live_attr = f' data-live="{esc(live)}"' if live else ""
    return ('<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)} · Bảng điều khiển cán bộ</title><link rel="stylesheet" href="{PATH}/static/style.css">'
            f'<script src="{PATH}/static/console.js" defer></script></head><body{live_attr}>'
            '<a class="skip" href="#noi-dung">Bỏ qua, đến nội dung chính</a>'
            f'<header class="top"><a class="brand" href="{PATH}">Bảng điều khiển cán bộ</a>{nav}</header>'
            f'<main id="noi-dung" class="wrap">{body}</main></body></html>')


def csrf_field(officer: Officer) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(officer.csrf)}">'


def login_page(csrf: str, error: str = "", login: str = "") -> str:
    msg = f'<p class="error" role="alert">{esc(ERRORS[error])}</p>' if error in ERRORS else ""
    locked = ""
    if error.startswith("khoa-"):
        locked = (f'<p class="error" role="alert">Tài khoản tạm khóa vì nhập sai mật khẩu nhiều lần. '
                  f'Vui lòng thử lại sau {esc(vn_number(int(error[5:] or 0)))} phút hoặc báo quản trị viên.</p>')
    return page("Đăng nhập", (
        '<h1>Đăng nhập</h1>' + msg + locked +
        f'<form method="post" action="{PATH}/dang-nhap" class="card login">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        f'<label for="login">Tên đăng nhập</label><input id="login" name="login" autocomplete="username" required '
        f'maxlength="64" value="{esc(login)}">'
        '<label for="password">Mật khẩu</label><input id="password" name="password" type="password" '
        'autocomplete="current-password" required maxlength="200">'
        '<label for="ma">Mã xác thực 6 số (chỉ khi tài khoản đã bật)</label><input id="ma" name="ma" '
        'inputmode="numeric" autocomplete="one-time-code" maxlength="8" pattern="[0-9 ]*">'
        '<button type="submit">Đăng nhập</button></form>'
        '<p class="hint">Tài khoản do quản trị viên tạo (<code>ntm-bot staff add</code>). Sau 5 lần sai mật khẩu, '
        'tài khoản tạm khóa 15 phút.</p>'))


def status_badge(status: str) -> str:
    return f'<span class="badge st-{esc(STATUS_SLUGS.get(status, status))}" data-status="{esc(status)}">' \
           f'{esc(STATUS_LABELS.get(status, status))}</span>'


def late_mark(t: Any, today: Any) -> str:
    if t.status not in (RESOLVED, CLOSED) and t.due_date < today:
        return f' <span class="late">quá hạn {esc(vn_number((today - t.due_date).days))} ngày</span>'
    return ""


def escalated_badge(reasons: list[str] | None) -> str:
    if not reasons:
        return ""
    return f' <span class="badge escalated" title="{esc("; ".join(reasons))}">Chuyển lãnh đạo: {esc(", ".join(reasons))}</span>'


def options(choices: Iterable[tuple[str, str]], selected: str, blank: str = "") -> str:
    out = [f'<option value="">{esc(blank)}</option>'] if blank else []
    for value, label in choices:
        sel = " selected" if value == selected else ""
        out.append(f'<option value="{esc(value)}"{sel}>{esc(label)}</option>')
    return "".join(out)


def inbox_page(officer: Officer, data: Inbox, f: Filters) -> str:
    statuses = [("mo", "Đang mở"), ("moi", "Mới tiếp nhận"), ("dang-xu-ly", "Đang xử lý"),
                ("cho-bo-sung", "Chờ bổ sung thông tin"), ("da-xu-ly", "Đã xử lý"), ("da-dong", "Đã đóng"),
                ("tat-ca", "Tất cả")]
    scope = ("toàn tỉnh" if officer.provincial else
             ", ".join(name for _, name in data.communes) or "chưa gắn xã, phường")
    form = (f'<form method="get" action="{PATH}/hop-thu" class="filters card" role="search">'
            f'<div><label for="q">Tìm theo mã hoặc từ</label><input id="q" name="q" value="{esc(f.q)}" maxlength="100" '
            'placeholder="PA-000123 hoặc đường ấp"></div>'
            f'<div><label for="trang-thai">Trạng thái</label><select id="trang-thai" name="trang-thai">{options(statuses, f.status)}</select></div>'
            f'<div><label for="xa">Xã, phường</label><select id="xa" name="xa">{options(data.communes, f.commune, "Tất cả")}</select></div>'
            f'<div><label for="loai">Loại việc</label><select id="loai" name="loai">{options(data.categories, f.category, "Tất cả")}</select></div>'
            f'<div class="checks"><label><input type="checkbox" name="qua-han" value="1"{" checked" if f.overdue else ""}> Quá hạn</label>'
            f'<label><input type="checkbox" name="cua-toi" value="1"{" checked" if f.mine else ""}> Giao cho tôi</label>'
            f'<label><input type="checkbox" name="chuyen-len" value="1"{" checked" if f.escalated else ""}> Đã chuyển lãnh đạo</label></div>'
            '<div><button type="submit">Lọc</button></div></form>')
    rows = []
    for t in data.rows:
        rows.append(
            f'<li class="ticket card" data-code="{esc(t.code)}"><a href="{PATH}/phan-anh/{t.id}"><strong>{esc(t.code)}</strong></a> '
            f'{status_badge(t.status)}{late_mark(t, data.today)}{escalated_badge(data.escalated.get(t.id or 0))}'
            f'<div class="meta">{esc(t.category_label)} · {esc(t.commune_name or "Chưa rõ xã, phường")} · '
            f'hạn {esc(calendar.fmt_date(t.due_date))}{" · " + esc(t.assigned_name) if t.assigned_name else ""}</div>'
            f'<div class="desc">{esc(ticketing.short(t.description, 140))}</div></li>')
    listing = (f'<ul class="tickets">{"".join(rows)}</ul>' if rows else '<p class="empty">Không có phản ánh nào khớp bộ lọc.</p>')
    pages = ""
    last = max(1, -(-data.total // 50))
    if last > 1:
        links = []
        if f.page > 1:
            links.append(f'<a href="{PATH}/hop-thu?{esc(urllib.parse.urlencode(f.query(page=f.page - 1)))}">« Trang trước</a>')
        if f.page < last:
            links.append(f'<a href="{PATH}/hop-thu?{esc(urllib.parse.urlencode(f.query(page=f.page + 1)))}">Trang sau »</a>')
        pages = f'<nav class="pages" aria-label="Trang">{" ".join(links)} <span>Trang {esc(vn_number(f.page))}/{esc(vn_number(last))}</span></nav>'
    period = ""
    if f.since or f.until:
        period = (f' Gửi từ {esc(calendar.fmt_date(f.since)) if f.since else "đầu"} đến '
                  f'{esc(calendar.fmt_date(f.until)) if f.until else "nay"} '
                  f'(<a href="{PATH}/hop-thu?{esc(urllib.parse.urlencode(f.query(since=None, until=None, page=1)))}">bỏ khoảng thời gian</a>).')
    body = (f'<h1>Hộp thư phản ánh</h1><p class="scope">Phạm vi: {esc(scope)}. '
            f'<span data-figure="total">{esc(vn_number(data.total))}</span> phản ánh.{period}</p>'
            f'<p class="live-note" hidden>Có thay đổi mới. <a href="">Tải lại</a></p>'
            + form + listing + pages)
    return page("Hộp thư", body, officer, live="inbox")


def file_line(a: Attachment, link: str = "") -> str:
    if a.kind == "location":
        try:
            lat, lon = (float(x) for x in a.ref.split(","))
        except ValueError:
            return ""
        url = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
        label = f"Vị trí: {a.name}, " if a.name else "Vị trí: "
        return (f'<li>{esc(label)}{esc(f"{lat}".replace(".", ","))}; {esc(f"{lon}".replace(".", ","))} '
                f'(<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">xem bản đồ</a>)</li>')
    kind = {"photo": "Ảnh", "video": "Video", "voice": "Tin nhắn thoại", "audio": "Âm thanh", "document": "Tệp"}.get(a.kind, "Tệp")
    if a.ref.startswith("https://"):
        return f'<li>{esc(kind)}: <a href="{esc(a.ref)}" rel="noopener noreferrer" target="_blank">{esc(a.name or "mở")}</a></li>'
    if link:  # a file kept on Telegram, fetched by the console for the officer
        return f'<li>{esc(kind)}: <a href="{esc(link)}" target="_blank" rel="noopener">{esc(a.name or "mở")}</a></li>'
    return f'<li>{esc(kind)}{": " + esc(a.name) if a.name else ""} (xem trong nhóm cán bộ trên Telegram)</li>'


def timeline(items: list[tuple[Any, str, dict[str, Any]]]) -> str:
    labels = {"citizen": "Người dân", "answer": "Trả lời người dân", "note": "Ghi chú nội bộ"}
    out = []
    for at, kind, d in items:
        when = f'<time>{esc(calendar.fmt_time(at))}</time>'
        if kind in labels:
            who = f' · {esc(d["who"])}' if d.get("who") else ""
            links = d.get("links") or []
            files = "".join(file_line(a, links[i] if i < len(links) else "") for i, a in enumerate(d.get("files") or []))
            out.append(f'<li class="item {esc(kind)}">{when} <strong>{esc(labels[kind])}</strong>{who}'
                       f'<div class="text">{esc(d["text"])}</div>{"<ul class=files>" + files + "</ul>" if files else ""}</li>')
            continue
        action = kind.split(":", 1)[1]
        if action in ("status", "close", "reopen"):
            text = f'{STATUS_LABELS.get(d["old"], d["old"])} → {STATUS_LABELS.get(d["new"], d["new"])}'
            reason = f': {d["detail"]}' if d.get("detail") else ""
            out.append(f'<li class="item event">{when} Trạng thái: {esc(text)}{esc(reason)}</li>')
        elif action == "assign":
            out.append(f'<li class="item event">{when} Giao cho {esc(d["detail"])}</li>')
        elif action == "rating":
            out.append(f'<li class="item event">{when} Người dân đánh giá {esc(d["new"])}/5</li>')
        elif action == "created":
            out.append(f'<li class="item event">{when} Tiếp nhận phản ánh</li>')
        elif action == "escalated":
            out.append(f'<li class="item event">{when} Chuyển lãnh đạo: {esc(d["detail"])}</li>')
        elif action == "info_added":
            out.append(f'<li class="item event">{when} Người dân bổ sung thông tin</li>')
    return f'<ol class="timeline">{"".join(out)}</ol>'


def ticket_page(officer: Officer, p: TicketPage, message: str = "", reveal: bool = False) -> str:
    t = p.ticket
    base = f"{PATH}/phan-anh/{t.id}"
    note = f'<p class="flash" role="status">{esc(MESSAGES[message])}</p>' if message in MESSAGES else ""
    contact = ticketing.contact_of(t, reveal=reveal)
    if t.contact_phone and not reveal:
        contact_more = f' <a href="{base}?hien-sdt=1">Hiện số điện thoại</a> (được ghi lại)'
    else:
        contact_more = ""
    head = (f'<h1>{esc(t.code)} {status_badge(t.status)}</h1>{note}'
            '<dl class="facts card">'
            f'<dt>Loại việc</dt><dd>{esc(t.category_label)}</dd>'
            f'<dt>Nơi xảy ra</dt><dd>{esc(ticketing.place_of(t))}</dd>'
            f'<dt>Hạn trả lời</dt><dd>{esc(calendar.fmt_date(t.due_date, weekday=True))}{late_mark(t, p.today)}</dd>'
            f'<dt>Người xử lý</dt><dd data-field="assigned">{esc(t.assigned_name or "(chưa giao)")}</dd>'
            f'<dt>Liên hệ</dt><dd>{esc(contact)}{contact_more}</dd>'
            f'<dt>Gửi lúc</dt><dd>{esc(calendar.fmt_time(t.created_at))} qua {esc(ticketing.channel_name(t.channel))}</dd>'
            '</dl>')
    hidden = csrf_field(officer)
    forms = []
    if t.status != CLOSED:
        tmpl = options(sorted((k, k) for k in p.templates), "", "(không dùng mẫu)")
        forms.append(
            f'<form method="post" action="{base}/tra-loi" class="card action" id="tra-loi">{hidden}'
            '<h2>Trả lời người dân</h2>'
            f'<label for="mau">Mẫu trả lời</label><select id="mau" name="mau">{tmpl}</select>'
            '<label for="noi-dung-tra-loi">Nội dung (người dân thấy tên cơ quan, không thấy tên cán bộ)</label>'
            '<textarea id="noi-dung-tra-loi" name="noi-dung" rows="4" maxlength="3500"></textarea>'
            '<button type="submit">Gửi trả lời</button></form>')
        st = options([(k, STATUS_LABELS[v]) for k, v in STATUS_CHOICES.items()], STATUS_SLUGS.get(t.status, ""))
        forms.append(
            f'<form method="post" action="{base}/trang-thai" class="card action">{hidden}<h2>Trạng thái</h2>'
            f'<label for="trang-thai">Trạng thái mới</label><select id="trang-thai" name="trang-thai">{st}</select>'
            '<label for="ly-do-tt">Lý do (không bắt buộc; «chờ bổ sung»: điều người dân cần bổ sung)</label>'
            '<input id="ly-do-tt" name="noi-dung" maxlength="1000"><button type="submit">Đổi trạng thái</button></form>')
        forms.append(
            f'<form method="post" action="{base}/dong" class="card action">{hidden}<h2>Đóng phản ánh</h2>'
            '<label for="ly-do-dong">Kết quả giải quyết (người dân nhận được)</label>'
            '<input id="ly-do-dong" name="noi-dung" maxlength="1000" required>'
            '<button type="submit">Đóng phản ánh</button></form>')
    else:
        forms.append(
            f'<form method="post" action="{base}/mo-lai" class="card action">{hidden}<h2>Mở lại</h2>'
            '<label for="ly-do-mo">Lý do</label><input id="ly-do-mo" name="noi-dung" maxlength="1000">'
            '<button type="submit">Mở lại phản ánh</button></form>')
    staff = options(p.staff, "", "Chọn cán bộ")
    forms.append(
        f'<form method="post" action="{base}/giao" class="card action">{hidden}<h2>Giao việc</h2>'
        f'<label for="can-bo">Cán bộ</label><select id="can-bo" name="can-bo" required>{staff}</select>'
        '<button type="submit">Giao</button></form>'
        f'<form method="post" action="{base}/nhan" class="card action">{hidden}'
        '<button type="submit">Tôi nhận xử lý</button></form>')
    forms.append(
        f'<form method="post" action="{base}/ghi-chu" class="card action">{hidden}<h2>Ghi chú nội bộ</h2>'
        '<label for="noi-dung-ghi-chu">Chỉ cán bộ thấy</label>'
        '<textarea id="noi-dung-ghi-chu" name="noi-dung" rows="3" maxlength="4000"></textarea>'
        '<button type="submit">Lưu ghi chú</button></form>')
    body = (head + '<p class="live-note" hidden>Phản ánh vừa có thay đổi. <a href="">Tải lại</a></p>'
            '<div class="columns"><section aria-label="Diễn biến"><h2>Diễn biến</h2>' + timeline(p.items) + '</section>'
            '<section aria-label="Xử lý">' + "".join(forms) + '</section></div>'
            f'<p><a href="{PATH}/hop-thu">« Về hộp thư</a></p>')
    return page(t.code, body, officer, live=f"ticket:{t.id}")


def error_page(title: str, text: str, officer: Officer | None = None) -> str:
    return page(title, f'<h1>{esc(title)}</h1><p>{esc(text)}</p><p><a href="{PATH}/hop-thu">Về hộp thư</a></p>', officer)




# ------------------------------------------------------------------ dashboard
def percent_text(ok: int, n: int) -> str:
    from bot.features.results.figures import percent

    return percent(ok, n) if n else "chưa có"


def bars(items: list[tuple[str, int, str]], label: str, key: str) -> str:
    """Horizontal bars: label (a link to the matching tickets), the number as text, the bar an SVG."""
    top = max([n for _, n, _ in items] + [1])
    rows = "".join(
        f'<li><a class="bar-label" href="{esc(href)}">{esc(name)}</a>'
        f'<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
        f'<rect width="{100 * n / top:.2f}" height="10"/></svg>'
        f'<span class="bar-value" data-{key}="{esc(name)}">{esc(vn_number(n))}</span></li>'
        for name, n, href in items)
    return f'<ul class="bars" aria-label="{esc(label)}">{rows}</ul>' if items else '<p class="empty">Không có số liệu.</p>'


def trend_svg(trend: list[Any]) -> str:
    """Reports received and resolved per month, columns; the table below says the same in numbers."""
    w, h, pad, base = 640, 220, 34, 190
    top = max([f.total for f in trend] + [1])
    step = (w - pad) / max(1, len(trend))
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="xu-huong-tieu-de" '
             'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">'
             '<title id="xu-huong-tieu-de">Số phản ánh tiếp nhận và đã xử lý xong theo tháng</title>',
             f'<line x1="{pad}" y1="{base}" x2="{w}" y2="{base}" stroke="#555"/>',
             f'<text x="0" y="{base - 160 + 4}">{esc(vn_number(top))}</text><text x="0" y="{base + 4}">0</text>']
    for i, f in enumerate(trend):
        x = pad + i * step
        got = 160 * f.total / top
        done = 160 * (f.resolved + f.closed) / top
        parts.append(f'<rect class="received" x="{x + 4:.1f}" y="{base - got:.1f}" width="{step / 2 - 5:.1f}" height="{got:.1f}"/>')
        parts.append(f'<rect class="resolved" x="{x + step / 2:.1f}" y="{base - done:.1f}" width="{step / 2 - 5:.1f}" height="{done:.1f}"/>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{base + 16}" text-anchor="middle">{f.start.month:02d}/{f.start.year % 100:02d}</text>')
    parts.append("</svg>")
    rows = "".join(f'<tr><th scope="row">{f.start.month:02d}/{f.start.year}</th><td>{esc(vn_number(f.total))}</td>'
                   f'<td>{esc(vn_number(f.resolved + f.closed))}</td><td>{esc(percent_text(f.on_time_ok, f.on_time_known))}</td></tr>'
                   for f in trend)
    legend = ('<p class="legend"><span class="key received"></span> Tiếp nhận <span class="key resolved"></span> '
              'Đã xử lý xong hoặc đã đóng</p>')
    return ("".join(parts) + legend + '<details><summary>Xem bảng theo tháng</summary><table class="data"><caption>'
            'Theo tháng</caption><thead><tr><th scope="col">Tháng</th><th scope="col">Tiếp nhận</th><th scope="col">'
            f'Đã xử lý xong</th><th scope="col">Đúng hạn</th></tr></thead><tbody>{rows}</tbody></table></details>')


def dashboard_page(officer: Officer, d: Any, start: Any, end: Any) -> str:
    from bot.features.results.figures import STATUS_ORDER

    f = d.figures
    span = {"tu": start.isoformat(), "den": end.isoformat()}

    def drill(**q: str) -> str:
        return f"{PATH}/hop-thu?" + urllib.parse.urlencode({"trang-thai": "tat-ca", **span, **q})

    rating = (vn_number(f.rating_avg, 1) + "/5") if f.rating_avg is not None else "chưa có"
    cards = [("total", "Tiếp nhận", vn_number(f.total), drill()),
             ("working", "Đang giải quyết", vn_number(f.working), drill(**{"trang-thai": "mo"})),
             ("resolved", "Đã xử lý", vn_number(f.resolved), drill(**{"trang-thai": "da-xu-ly"})),
             ("closed", "Đã đóng", vn_number(f.closed), drill(**{"trang-thai": "da-dong"})),
             ("on-time", "Đúng hạn", percent_text(f.on_time_ok, f.on_time_known), ""),
             ("rating", "Đánh giá trung bình", rating, "")]
    card_html = "".join(
        f'<div class="figure card"><span class="figure-label">{esc(label)}</span>'
        + (f'<a href="{esc(href)}" data-figure="{key}">{esc(value)}</a>' if href else f'<span data-figure="{key}">{esc(value)}</span>')
        + '</div>' for key, label, value, href in cards)
    on_time_note = (f'<p class="note">Đúng hạn: {esc(vn_number(f.on_time_ok))}/{esc(vn_number(f.on_time_known))} phản ánh đã '
                    'biết kết quả (đã xử lý, hoặc đã quá hạn mà chưa xử lý).</p>' if f.on_time_known else "")
    statuses = "".join(
        f'<tr><th scope="row"><a href="{esc(drill(**{"trang-thai": STATUS_SLUGS[s]}))}">{esc(STATUS_LABELS[s])}</a></th>'
        f'<td data-status="{s}">{esc(vn_number(f.by_status[s]))}</td></tr>' for s in STATUS_ORDER)
    communes = sorted(((d.unit_names.get(c, c), n, drill(xa=c)) for c, n in f.by_unit.items()), key=lambda x: -x[1])
    unplaced = f' Chưa rõ xã, phường: <span data-figure="unplaced">{esc(vn_number(f.unplaced))}</span>.' if f.unplaced else ""
    cats = sorted(((label, n, drill(loai=d.category_slugs.get(label, ""))) for label, n in f.by_category.items()),
                  key=lambda x: -x[1])
    backlog = bars([(label, n, f"{PATH}/hop-thu?trang-thai=mo") for label, n in d.backlog], "Phản ánh đang mở theo tuổi", "age")
    scope = "toàn tỉnh" if officer.provincial else "các xã, phường bạn phụ trách"
    export = urllib.parse.urlencode(span)
    body = (
        f'<h1>Thống kê phản ánh</h1><p class="scope">Phạm vi: {esc(scope)}. Từ {esc(calendar.fmt_date(start))} đến '
        f'{esc(calendar.fmt_date(end))}. Cùng cách tính với lệnh /stats và trang công khai.</p>'
        f'<form method="get" action="{PATH}/thong-ke" class="filters card period">'
        f'<div><label for="tu">Từ ngày</label><input id="tu" name="tu" type="date" value="{esc(start.isoformat())}"></div>'
        f'<div><label for="den">Đến ngày</label><input id="den" name="den" type="date" value="{esc(end.isoformat())}"></div>'
        f'<div><label for="thang">Hoặc tháng</label><input id="thang" name="thang" type="month" value=""></div>'
        '<div><button type="submit">Xem</button></div></form>'
        f'<p class="exports"><a href="{PATH}/thong-ke/xuat.csv?{esc(export)}" download>Tải bảng CSV</a> · '
        f'<a href="{PATH}/thong-ke/xuat.xlsx?{esc(export)}" download>Tải bảng Excel (XLSX)</a> '
        '<span class="note">(số điện thoại đã che, như lệnh /export)</span></p>'
        f'<div class="figures">{card_html}</div>{on_time_note}'
        f'<div class="columns"><section class="card"><h2>Theo trạng thái</h2><table class="data"><caption>Số phản ánh theo '
        f'trạng thái</caption><tbody>{statuses}</tbody></table></section>'
        f'<section class="card"><h2>Tồn đọng hiện nay theo tuổi</h2><p>Đang mở: <span data-figure="backlog">'
        f'{esc(vn_number(d.backlog_total))}</span> phản ánh.</p>{backlog}</section></div>'
        f'<section class="card"><h2>Xu hướng 12 tháng</h2>{trend_svg(d.trend)}</section>'
        f'<div class="columns"><section class="card"><h2>Theo xã, phường</h2>'
        f'{bars(communes, "Số phản ánh theo xã, phường", "commune")}<p class="note">{unplaced}</p></section>'
        f'<section class="card"><h2>Theo loại việc</h2>{bars(cats, "Số phản ánh theo loại việc", "category")}</section></div>')
    return page("Thống kê", body, officer)


# ------------------------------------------------------------------ knowledge curation
KB_MESSAGES = {"da-luu-nhap": "Đã lưu bản nháp: cần một cán bộ khác duyệt trước khi bot dùng.",
               "da-dang": "Đã duyệt và đăng: bot trả lời theo nội dung này ngay.",
               "da-tu-choi": "Đã từ chối bản nháp.", "khong-ro": "Không rõ thao tác."}
DRAFT_STATUS = {"draft": "Chờ duyệt", "published": "Đang dùng", "rejected": "Bị từ chối", "replaced": "Đã thay bằng phiên bản sau"}


def knowledge_page(officer: Officer, p: Any, message: str = "", error: str = "") -> str:
    from bot.features.console.curation import SOURCE_KINDS, TOPICS
    from knowledge.schema import PERIOD_LABELS

    hidden = csrf_field(officer)
    note = f'<p class="flash" role="status">{esc(KB_MESSAGES[message])}</p>' if message in KB_MESSAGES else ""
    if error:
        note += f'<p class="error" role="alert">{esc(error)}</p>'
    datalist = "".join(f'<option value="{esc(i)}">{esc(t)}</option>' for i, t in p.entries)
    groups = []
    for n, g in enumerate(p.groups, 1):
        texts = "\n".join(g.texts)
        groups.append(
            f'<li class="card group"><p><strong>{esc(vn_number(g.count))} lần</strong>: {esc(g.example)}</p>'
            + "".join(f'<p class="meta">~ {esc(t)}</p>' for t in g.texts[1:])
            + f'<details><summary>Gắn vào một mục có sẵn (thành một cách hỏi)</summary>'
            f'<form method="post" action="{PATH}/tri-thuc/cach-hoi">{hidden}'
            f'<label for="cau-hoi-{n}">Câu hỏi của người dân</label><input id="cau-hoi-{n}" name="cau-hoi" '
            f'value="{esc(g.example)}" maxlength="300" required>'
            f'<label for="muc-{n}">Mục trả lời (gõ để tìm theo mã)</label><input id="muc-{n}" name="muc" list="cac-muc" required>'
            '<button type="submit">Lưu bản nháp</button></form></details>'
            f'<details><summary>Soạn câu trả lời mới</summary><form method="post" action="{PATH}/tri-thuc/muc-moi">{hidden}'
            + entry_fields(n, g.example, texts, TOPICS, PERIOD_LABELS, SOURCE_KINDS)
            + '<button type="submit">Lưu bản nháp</button></form></details></li>')
    pending, history, published = [], [], []
    for d in p.drafts:
        what = (f'Cách hỏi «{esc(d.question)}» cho mục <code>{esc(d.entry_id)}</code>' if d.kind == "paraphrase" else
                f'Mục mới <code>{esc(d.entry_id)}</code> (phiên bản {esc(vn_number(d.version))}): '
                f'<strong>{esc((d.data or {}).get("title", ""))}</strong>')
        who = f'{esc(d.created_by_name or d.created_by)}, {esc(calendar.fmt_time(d.created_at))}'
        if d.status == "draft":
            body = ""
            if d.kind == "entry":
                data = d.data or {}
                src = (data.get("sources") or [{}])[0]
                body = (f'<div class="text">{esc(data.get("answer", ""))}</div><p class="meta">Nguồn: {esc(src.get("doc", ""))}'
                        f'{" · " + esc(src.get("date", "")) if src.get("date") else ""} · giai đoạn '
                        f'{esc(PERIOD_LABELS.get(data.get("period", ""), ""))}'
                        f'{" · rà soát trước " + esc(data.get("review_by")) if data.get("review_by") else ""}</p>'
                        '<p class="meta">Cách hỏi: ' + esc(" | ".join(data.get("questions", []))) + '</p>')
            problems = p.problems.get(d.id) or []
            check = ('<p class="ok">Kiểm tra nội dung (như «kb check»): đạt.</p>' if not problems else
                     '<div class="error"><p>Kiểm tra nội dung (như «kb check») báo lỗi, chưa đăng được:</p><ul>'
                     + "".join(f"<li>{esc(x)}</li>" for x in problems) + '</ul></div>')
            if d.created_by == officer.actor:
                buttons = '<p class="meta">Bản nháp của bạn: cần một cán bộ khác duyệt.</p>'
            else:
                buttons = (f'<form method="post" action="{PATH}/tri-thuc/duyet/{d.id}" class="inline">{hidden}'
                           '<button type="submit">Duyệt và đăng</button></form> '
                           f'<form method="post" action="{PATH}/tri-thuc/tu-choi/{d.id}" class="inline">{hidden}'
                           '<button type="submit" class="secondary">Từ chối</button></form>')
            pending.append(f'<li class="card draft" data-draft="{d.id}"><p>{what}</p><p class="meta">Soạn: {who}</p>'
                           f'{body}{check}{buttons}</li>')
        if d.status == "published" and d.kind == "entry":
            published.append(
                f'<li class="card curated" data-entry="{esc(d.entry_id)}"><p>{what}</p>'
                f'<details><summary>Sửa (thành phiên bản {esc(vn_number(d.version + 1))}, cần duyệt lại)</summary>'
                f'<form method="post" action="{PATH}/tri-thuc/muc-moi">{hidden}'
                f'<input type="hidden" name="muc" value="{esc(d.entry_id)}">'
                + entry_fields(f"sua-{d.id}", "", "", TOPICS, PERIOD_LABELS, SOURCE_KINDS, d.data)
                + '<button type="submit">Lưu bản nháp</button></form></details></li>')
        decided = (f'{esc(d.decided_by_name or d.decided_by or "")}, {esc(calendar.fmt_time(d.decided_at))}'
                   if d.decided_at else "")
        history.append(f'<tr><td>{what}</td><td>{esc(DRAFT_STATUS.get(d.status, d.status))}</td><td>{who}</td>'
                       f'<td>{decided}</td></tr>')
    body = (
        f'<h1>Câu hỏi chưa trả lời được</h1>{note}<datalist id="cac-muc">{datalist}</datalist>'
        '<p class="scope">Câu hỏi người dân hỏi trong 30 ngày qua mà bot chưa trả lời được, gom các câu cùng ý. '
        'Mỗi nhóm: gắn vào một mục có sẵn, hoặc soạn câu trả lời mới kèm nguồn; một cán bộ khác duyệt thì bot '
        'dùng ngay, không cần khởi động lại.</p>'
        '<h2>Chờ duyệt</h2>' + (f'<ul class="tickets">{"".join(pending)}</ul>' if pending else '<p class="empty">Không có bản nháp nào chờ duyệt.</p>')
        + '<h2>Các nhóm câu hỏi</h2>'
        + (f'<ul class="tickets">{"".join(groups)}</ul>' if groups else '<p class="empty">Không có câu hỏi nào chưa trả lời được.</p>')
        + ('<h2>Mục cán bộ đã thêm</h2><ul class="tickets">' + "".join(published) + '</ul>' if published else '')
        + '<h2>Lịch sử (mọi phiên bản)</h2>'
        + ('<table class="data history"><caption>Ai soạn, ai duyệt, khi nào</caption><thead><tr><th scope="col">Nội dung</th>'
           '<th scope="col">Trạng thái</th><th scope="col">Soạn</th><th scope="col">Duyệt hoặc từ chối</th></tr></thead>'
           f'<tbody>{"".join(history)}</tbody></table>' if history else '<p class="empty">Chưa có.</p>'))
    return page("Tri thức", body, officer)


def entry_fields(n: Any, title: str, questions: str, topics: dict[str, str], periods: dict[str, str],
                 kinds: dict[str, str], data: dict[str, Any] | None = None) -> str:
    """The fields of a new entry; `data` (a curated entry) pre-fills them for its next version."""
    d = data or {}
    src = (d.get("sources") or [{}])[0]
    date = str(src.get("date", ""))
    date = date if len(date) == 10 else ""  # a date input holds a whole day only
    return (f'<label for="tieu-de-{n}">Câu hỏi chuẩn (tiêu đề)</label><input id="tieu-de-{n}" name="tieu-de" '
            f'value="{esc(d.get("title", title))}" maxlength="300" required>'
            f'<label for="cach-hoi-{n}">Các cách hỏi, mỗi dòng một cách (ít nhất 4)</label>'
            f'<textarea id="cach-hoi-{n}" name="cach-hoi" rows="4">{esc(chr(10).join(d["questions"]) if d else questions)}</textarea>'
            f'<label for="tra-loi-{n}">Câu trả lời (gọi người đọc là «bà con»)</label>'
            f'<textarea id="tra-loi-{n}" name="tra-loi" rows="5" maxlength="3000" required>{esc(d.get("answer", ""))}</textarea>'
            f'<label for="chu-de-{n}">Chủ đề</label><select id="chu-de-{n}" name="chu-de">{options(topics.items(), d.get("topic", "ntm"))}</select>'
            f'<label for="giai-doan-{n}">Giai đoạn</label><select id="giai-doan-{n}" name="giai-doan">'
            f'{options(periods.items(), d.get("period", "hien-hanh"))}</select>'
            f'<label for="loai-nguon-{n}">Loại nguồn</label><select id="loai-nguon-{n}" name="loai-nguon">'
            f'{options(kinds.items(), src.get("kind", "van-ban"))}</select>'
            f'<label for="nguon-{n}">Số, ký hiệu văn bản hoặc tên bài viết</label><input id="nguon-{n}" name="nguon" '
            f'maxlength="300" required value="{esc(src.get("doc", ""))}">'
            f'<label for="ngay-nguon-{n}">Ngày ban hành hoặc ngày đăng</label><input id="ngay-nguon-{n}" name="ngay-nguon" '
            f'type="date" value="{esc(date)}">'
            f'<label for="co-quan-{n}">Cơ quan ban hành</label><input id="co-quan-{n}" name="co-quan" maxlength="200" '
            f'value="{esc(src.get("issuer", ""))}">'
            f'<label for="lien-ket-{n}">Liên kết (https://…)</label><input id="lien-ket-{n}" name="lien-ket" type="url" '
            f'maxlength="500" value="{esc(src.get("url", ""))}">'
            f'<label for="han-ra-soat-{n}">Rà soát lại trước ngày</label><input id="han-ra-soat-{n}" name="han-ra-soat" '
            f'type="date" value="{esc(d.get("review_by", ""))}">')


# ------------------------------------------------------------------ accounts (admins)
def accounts_page(officer: Officer, rows: list[tuple[Any, Any]], message: str = "", error: str = "") -> str:
    from knowledge.communes import default_finder

    names = default_finder().by_code
    note = '<p class="flash" role="status">Đã lưu tài khoản.</p>' if message == "da-luu" else ""
    if error:
        note += f'<p class="error" role="alert">{esc(error)}</p>'
    items = "".join(
        f'<tr><td>{esc(row.login)}</td><td>{esc(staff.display_name)}</td><td>{esc(ROLE_LABELS.get(staff.role, staff.role))}</td>'
        f'<td>{esc(", ".join(names[c].name if c in names else c for c in (row.communes or [])) or "Toàn tỉnh")}</td>'
        f'<td>{esc(staff.user_id if staff.user_id.lstrip("-").isdigit() else "")}</td>'
        f'<td>{"Đang khóa" if row.locked_until else ""}</td></tr>'
        for row, staff in rows)
    roles = options([(k, v) for k, v in ROLE_LABELS.items()], "officer")
    body = (f'<h1>Tài khoản cán bộ</h1>{note}'
            '<table class="data accounts"><caption>Tài khoản bảng điều khiển</caption><thead><tr><th scope="col">Tên đăng nhập</th>'
            '<th scope="col">Họ tên</th><th scope="col">Vai trò</th><th scope="col">Xã, phường phụ trách</th>'
            f'<th scope="col">Telegram</th><th scope="col">Tình trạng</th></tr></thead><tbody>{items}</tbody></table>'
            f'<form method="post" action="{PATH}/tai-khoan" class="card action">{csrf_field(officer)}'
            '<h2>Thêm hoặc sửa tài khoản</h2>'
            '<label for="ten-dang-nhap">Tên đăng nhập</label><input id="ten-dang-nhap" name="ten-dang-nhap" maxlength="32" required>'
            '<label for="ho-ten">Họ tên</label><input id="ho-ten" name="ho-ten" maxlength="128">'
            f'<label for="vai-tro">Vai trò</label><select id="vai-tro" name="vai-tro">{roles}</select>'
            '<label for="xa">Mã xã, phường phụ trách (cách nhau dấu phẩy; để trống: toàn tỉnh)</label>'
            '<input id="xa" name="xa" maxlength="400">'
            '<label for="telegram">ID Telegram (để nhận thông báo; không bắt buộc)</label><input id="telegram" name="telegram" maxlength="20">'
            '<label for="mat-khau">Mật khẩu (ít nhất 10 ký tự; để trống khi sửa: giữ mật khẩu cũ)</label>'
            '<input id="mat-khau" name="mat-khau" type="password" autocomplete="new-password" maxlength="200">'
            '<button type="submit">Lưu tài khoản</button></form>')
    return page("Tài khoản", body, officer)
