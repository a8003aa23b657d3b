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
ERRORS = {"sai": "Tên đăng nhập hoặc mật khẩu chưa đúng.", "het-phien": "Phiên làm việc đã hết, vui lòng đăng nhập lại.",
          "nhanh": "Bạn thử đăng nhập quá nhiều lần, vui lòng đợi một phút."}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, officer: Officer | None = None, *, live: str = "") -> str:
    nav = ""
    if officer is not None:
        nav = (f'<nav class="top-nav" aria-label="Chức năng"><a href="{PATH}/hop-thu">Hộp thư</a>'
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
        q = {k: v for k, v in {"q": f.q, "trang-thai": f.status, "xa": f.commune, "loai": f.category,
                               "qua-han": "1" if f.overdue else "", "cua-toi": "1" if f.mine else "",
                               "chuyen-len": "1" if f.escalated else ""}.items() if v}
        links = []
        if f.page > 1:
            links.append(f'<a href="{PATH}/hop-thu?{esc(urllib.parse.urlencode({**q, "trang": f.page - 1}))}">« Trang trước</a>')
        if f.page < last:
            links.append(f'<a href="{PATH}/hop-thu?{esc(urllib.parse.urlencode({**q, "trang": f.page + 1}))}">Trang sau »</a>')
        pages = f'<nav class="pages" aria-label="Trang">{" ".join(links)} <span>Trang {esc(vn_number(f.page))}/{esc(vn_number(last))}</span></nav>'
    body = (f'<h1>Hộp thư phản ánh</h1><p class="scope">Phạm vi: {esc(scope)}. '
            f'<span data-figure="total">{esc(vn_number(data.total))}</span> phản ánh.</p>'
            f'<p class="live-note" hidden>Có thay đổi mới. <a href="">Tải lại</a></p>'
            + form + listing + pages)
    return page("Hộp thư", body, officer, live="inbox")


def file_line(a: Attachment) -> str:
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
    return f'<li>{esc(kind)}{": " + esc(a.name) if a.name else ""} (xem trong nhóm cán bộ trên Telegram)</li>'


def timeline(items: list[tuple[Any, str, dict[str, Any]]]) -> str:
    labels = {"citizen": "Người dân", "answer": "Trả lời người dân", "note": "Ghi chú nội bộ"}
    out = []
    for at, kind, d in items:
        when = f'<time>{esc(calendar.fmt_time(at))}</time>'
        if kind in labels:
            who = f' · {esc(d["who"])}' if d.get("who") else ""
            files = "".join(file_line(a) for a in d.get("files") or [])
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
        f'<form method="post" action="{base}/nhan" class="card action inline">{hidden}'
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


