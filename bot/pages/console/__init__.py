"""`/canbo`: the officers' web console over HTTP (bot/server.py adds these routes).

    GET  /canbo                      -> the inbox, or the login page
    GET  /canbo/dang-nhap            login form;  POST: check the password (argon2id), lockout, new session
    POST /canbo/dang-xuat            end the session (the cookie is worthless afterwards, on every instance)
    GET  /canbo/hop-thu              the inbox: filters (status, commune, category, overdue, mine), search
    GET  /canbo/phan-anh/{id}        a ticket: its timeline, contact (phone masked; shown on request, logged)
    POST /canbo/phan-anh/{id}/{act}  tra-loi | ghi-chu | trang-thai | giao | nhan | dong | mo-lai
    GET  /canbo/su-kien              live updates (Server-Sent Events): "changed" when a visible ticket changes
    GET  /canbo/thong-ke             the dashboard (?tu=&den= or ?thang=YYYY-MM); /thong-ke/xuat.csv|.xlsx
    GET  /canbo/tai-khoan            accounts (admins only): list; POST: create or update (argon2id password)
    GET  /canbo/tri-thuc             unanswered questions grouped, drafts, history; POST cach-hoi | muc-moi |
                                     duyet/{id} | tu-choi/{id} (bot.features.console.curation)

Security (bot.kernel.websec): a signed session cookie (itsdangerous) naming a server-side session, HttpOnly and
SameSite=Strict; every POST needs the session's CSRF token and a same-origin Origin; the login form a signed
double-submit token; strict CSP and security headers on every answer; a rate limit per address on logins;
officers see only their communes' tickets (another commune's ticket by URL: 403, audited)."""
from __future__ import annotations

import asyncio
import csv
import io
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp
import sqlalchemy as sa
from aiohttp import web

from bot.features.console import accounts
from bot.features.console.access import scope
from bot.features.results.figures import month_span
from bot.features.tickets import calendar
from bot.kernel import websec
from bot.kernel.channel import Host
from bot.pages.console import data, render
from bot.pages.console.render import PATH
from bot.pages.http import AddressLimiter, client_address
from bot.storage.tickets import Ticket

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "canbo_phien"
PRE_COOKIE = "canbo_dn"  # the login form's CSRF token (double submit, signed)
MAX_FORM = 16 * 1024
LIVE_POLL_SECONDS = 2.0
LIVE_MAX_SECONDS = 600  # a stream ends after this long (the browser reconnects; the session is checked again)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FORM: web.RequestKey[dict[str, str]] = web.RequestKey("canbo_form", dict)  # the checked POST form


def html_response(body: str, status: int = 200) -> web.Response:
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    websec.with_headers(resp)
    return resp


def redirect(location: str) -> web.Response:
    resp = web.Response(status=303, headers={"Location": location})
    websec.with_headers(resp)
    return resp


def xlsx(columns: list[str], rows: list[list[object]]) -> bytes:
    """The export as an Excel workbook (openpyxl): one sheet, a bold frozen header, readable column widths.
    Text cells that would read as formulas were already prefixed with ' (bot.features.tickets.staff.csv_cell)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Phản ánh"
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    for i, title in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, max(12, len(title) + 2))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


TELEGRAM_FILE_MAX = 20 * 1024 * 1024  # what the Bot API lets a bot download


async def fetch_telegram_file(http: aiohttp.ClientSession, base_url: str, token: str, file_id: str) -> bytes | None:
    """getFile, then the file itself (the Bot API's file URL: .../file/bot<token>/<path>)."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with http.get(f"{base_url}{token}/getFile", params={"file_id": file_id}, timeout=timeout) as r:
        meta = await r.json(content_type=None)
    if not meta.get("ok") or int(meta["result"].get("file_size") or 0) > TELEGRAM_FILE_MAX:
        return None
    path = str(meta["result"]["file_path"])
    async with http.get(f"{base_url.replace('/bot', '/file/bot')}{token}/{path}", timeout=timeout) as r:
        if r.status != 200:
            return None
        body = await r.content.read(TELEGRAM_FILE_MAX + 1)
    return body if len(body) <= TELEGRAM_FILE_MAX else None


def sniff(body: bytes) -> str:
    """The file's type from its first bytes (never from the platform's word for it)."""
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body.startswith(b"\x89PNG"):
        return "image/png"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    if body.startswith(b"OggS"):
        return "audio/ogg"
    if body[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


def add_routes(router: web.UrlDispatcher, app: Host) -> None:
    state: dict[str, Any] = {}
    login_limiter = AddressLimiter(per_minute=10, burst=10)
    css = (STATIC / "style.css").read_bytes()
    js = (STATIC / "console.js").read_bytes()

    async def signers() -> tuple[websec.CookieSigner, websec.CookieSigner]:
        if "session" not in state:
            secret = app.settings.console_secret or await app.db.run(accounts.cookie_secret)
            state["session"] = websec.CookieSigner(secret, "canbo-session", accounts.SESSION_HOURS * 3600)
            state["pre"] = websec.CookieSigner(secret, "canbo-login", 3600)
        return state["session"], state["pre"]

    async def current(request: web.Request) -> tuple[accounts.Officer | None, str]:
        session_signer, _ = await signers()
        token = session_signer.loads(request.cookies.get(COOKIE))
        if token is None:
            return None, ""
        return await app.db.run(accounts.officer_for, app.services.clock(), token), token

    def logged_in(fn: Callable[[web.Request, accounts.Officer], Awaitable[web.StreamResponse]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            officer, _ = await current(request)
            if officer is None:
                if request.method == "POST":
                    return html_response(render.error_page("Phiên làm việc đã hết",
                                                           "Vui lòng đăng nhập lại rồi thực hiện lại thao tác."), 403)
                return redirect(f"{PATH}/dang-nhap")
            if request.method == "POST":
                form = await read_form(request)
                if form is None or not websec.same_origin(request) or \
                        not websec.same_token(officer.csrf, form.get("csrf", "")):
                    await app.db.run(accounts.audit, app.services.clock(), officer.actor, "refused",
                                     detail=f"/canbo: mã chống giả mạo (CSRF) sai, {request.path[:100]}")
                    return html_response(render.error_page("Yêu cầu không hợp lệ",
                                                           "Trang đã cũ hoặc yêu cầu không đến từ bảng điều khiển. "
                                                           "Vui lòng tải lại trang rồi thử lại.", officer), 403)
                request[FORM] = form
            return await fn(request, officer)
        return handler

    async def read_form(request: web.Request) -> dict[str, str] | None:
        if request.content_length is not None and request.content_length > MAX_FORM:
            return None
        try:
            raw = await request.post()
        except Exception:
            return None
        return {k: v for k, v in raw.items() if isinstance(v, str)}

    # ---------------------------------------------------------------- login
    async def login_form(request: web.Request) -> web.StreamResponse:
        officer, _ = await current(request)
        if officer is not None:
            return redirect(f"{PATH}/hop-thu")
        _, pre = await signers()
        token = websec.new_token(24)
        resp = html_response(render.login_page(token, request.query.get("loi", "")[:12]))
        websec.set_cookie(resp, PRE_COOKIE, pre.dumps(token), path=PATH, max_age=3600, secure=websec.is_https(request))
        return resp

    async def login_post(request: web.Request) -> web.StreamResponse:
        address = client_address(request)
        if login_limiter.take(address):
            return redirect(f"{PATH}/dang-nhap?loi=nhanh")
        _, pre = await signers()
        form = await read_form(request)
        expected = pre.loads(request.cookies.get(PRE_COOKIE)) or ""
        if form is None or not websec.same_origin(request) or not websec.same_token(expected, form.get("csrf", "")):
            return html_response(render.error_page("Yêu cầu không hợp lệ", "Vui lòng tải lại trang đăng nhập rồi thử lại."), 403)
        result = await app.db.run(accounts.log_in, app.services.clock(), form.get("login", ""), form.get("password", ""),
                                  address, form.get("ma", "")[:8])
        if not result.token:
            return redirect(f"{PATH}/dang-nhap?loi=" + (f"khoa-{result.locked_minutes}" if result.locked_minutes else "sai"))
        session_signer, _ = await signers()
        resp = redirect(f"{PATH}/hop-thu")
        websec.set_cookie(resp, COOKIE, session_signer.dumps(result.token), path=PATH, max_age=None,
                          secure=websec.is_https(request))
        resp.del_cookie(PRE_COOKIE, path=PATH)
        return resp

    async def logout(request: web.Request) -> web.StreamResponse:
        officer, token = await current(request)
        form = await read_form(request)
        if officer is not None and form is not None and websec.same_origin(request) \
                and websec.same_token(officer.csrf, form.get("csrf", "")):
            await app.db.run(accounts.log_out, app.services.clock(), token)
        elif officer is not None:
            return html_response(render.error_page("Yêu cầu không hợp lệ", "Vui lòng tải lại trang rồi thử lại.", officer), 403)
        resp = redirect(f"{PATH}/dang-nhap")
        resp.del_cookie(COOKIE, path=PATH)
        return resp

    # ---------------------------------------------------------------- pages
    async def home(request: web.Request) -> web.StreamResponse:
        officer, _ = await current(request)
        return redirect(f"{PATH}/hop-thu" if officer else f"{PATH}/dang-nhap")

    async def inbox(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        f = data.Filters.parse(request.query)
        if f.commune and not officer.provincial and f.commune not in officer.communes:
            f.commune = ""
        box = await app.db.run(data.inbox, app.settings, app.services.clock(), officer, f)
        return html_response(render.inbox_page(officer, box, f))

    def ticket_id(request: web.Request) -> int | None:
        raw = request.match_info.get("id", "")
        return int(raw) if raw.isdigit() and len(raw) < 10 else None

    def refused(officer: accounts.Officer) -> web.Response:
        return html_response(render.error_page("Không có quyền xem phản ánh này",
                                               "Phản ánh này thuộc xã, phường khác với phạm vi của bạn. "
                                               "Lần truy cập này đã được ghi lại.", officer), 403)

    def not_found(officer: accounts.Officer) -> web.Response:
        return html_response(render.error_page("Không tìm thấy phản ánh", "Không có phản ánh với mã này.", officer), 404)

    async def ticket(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        tid = ticket_id(request)
        if tid is None:
            return not_found(officer)
        reveal = request.query.get("hien-sdt") == "1"
        p = await app.db.run(data.ticket_page, app.settings, app.services.clock(), officer, tid, reveal)
        if p == data.REFUSED:
            return refused(officer)
        if not isinstance(p, data.TicketPage):
            return not_found(officer)
        return html_response(render.ticket_page(officer, p, request.query.get("kq", "")[:24], reveal))

    async def file_view(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        """A photo, voice note or file a citizen sent on Telegram: kept there as a file id, fetched with the bot's
        token (getFile, then the file) for an officer who may see the ticket; never cached, never sniffed."""
        tid, mid, idx = ticket_id(request), request.match_info.get("mid", ""), request.match_info.get("n", "")
        if tid is None or not mid.isdigit() or not idx.isdigit() or len(mid) > 12 or len(idx) > 3:
            return not_found(officer)
        ref = await app.db.run(data.telegram_file, app.services.clock(), officer, tid, int(mid), int(idx))
        if ref == data.REFUSED:
            return refused(officer)
        s = app.settings
        if ref is None or not s.telegram_bot_token:
            return not_found(officer)
        try:
            body = await fetch_telegram_file(app.http, s.telegram_api_base_url, s.telegram_bot_token, ref)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError) as e:
            log.warning("console: a Telegram file could not be fetched (%s)", type(e).__name__)
            body = None
        if body is None:
            return html_response(render.error_page("Chưa mở được tệp", "Telegram chưa trả tệp này (tệp quá lớn hoặc "
                                                   "lỗi tạm thời). Vui lòng thử lại, hoặc xem trong nhóm cán bộ.", officer), 502)
        kind = sniff(body)
        return web.Response(body=body, headers={
            "Content-Type": kind, "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; sandbox",
            "Content-Disposition": "inline" if kind.startswith(("image/", "audio/", "video/")) else "attachment"})

    async def action(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        tid, name = ticket_id(request), request.match_info.get("action", "")
        if tid is None or name not in data.ACTIONS:
            return not_found(officer)
        result = await app.db.run(data.act, app.settings, app.services.clock(), officer, tid, name, request[FORM])
        if result == data.REFUSED:
            return refused(officer)
        if result == "khong-co":
            return not_found(officer)
        kick = getattr(getattr(app, "outbox", None), "kick", None)
        if callable(kick):
            kick()  # the citizen's message goes out now rather than at the outbox's next poll
        return redirect(f"{PATH}/phan-anh/{tid}?kq={result}")

    # ---------------------------------------------------------------- dashboard
    def period(request: web.Request) -> tuple[Any, Any] | None:
        today = calendar.local_date(app.services.clock())
        month = request.query.get("thang", "")[:7]
        if month:
            try:
                y, m = int(month[:4]), int(month[5:7])
                return month_span(y, m) if 2000 <= y <= 9999 and 1 <= m <= 12 else None
            except ValueError:
                return None
        start = data.parse_date(request.query.get("tu", "")) or today.replace(day=1)
        end = data.parse_date(request.query.get("den", "")) or today
        if start > end:
            start, end = end, start
        if (end - start).days > 366 * 5:
            return None
        return start, end

    async def dashboard(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        span = period(request)
        if span is None:
            return html_response(render.error_page("Khoảng thời gian chưa đúng",
                                                   "Vui lòng chọn ngày hoặc tháng (nhiều nhất 5 năm).", officer), 400)
        d = await app.db.run(data.dashboard, app.settings, app.services.clock(), officer, *span)
        return html_response(render.dashboard_page(officer, d, *span))

    async def export(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        span = period(request)
        if span is None:
            return html_response(render.error_page("Khoảng thời gian chưa đúng", "Vui lòng chọn lại.", officer), 400)
        columns, rows = await app.db.run(data.export, app.settings, app.services.clock(), officer, *span)
        kind = request.match_info["kind"]
        name = f"phan-anh_{span[0]:%Y%m%d}-{span[1]:%Y%m%d}.{kind}"
        if kind == "csv":
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(columns)
            w.writerows(rows)
            body, ctype = buf.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"  # BOM: Excel reads Vietnamese
        else:
            body = await asyncio.get_running_loop().run_in_executor(None, xlsx, columns, rows)
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        resp = web.Response(body=body, headers={"Content-Type": ctype,
                                                "Content-Disposition": f'attachment; filename="{name}"'})
        websec.with_headers(resp)
        return resp

    # ---------------------------------------------------------------- knowledge curation
    async def knowledge(request: web.Request, officer: accounts.Officer, message: str = "", error: str = "",
                        status: int = 200) -> web.StreamResponse:
        p = await app.db.run(data.knowledge_page, app.settings, app.services.clock(), officer, app.services.kb)
        return html_response(render.knowledge_page(officer, p, message or request.query.get("kq", "")[:16], error), status)

    async def curate(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        action = request.match_info["action"]
        raw = request.match_info.get("id", "")
        draft_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
        result, error = await app.db.run(data.curate, app.settings, app.services.clock(), officer, app.services.kb,
                                         action, request[FORM], draft_id)
        if error:
            return await knowledge(request, officer, error=error, status=400)
        if result == "da-dang":
            reload = getattr(app, "reload_kb", None)  # this instance at once; the others within KB_WATCH_SECONDS
            if callable(reload):
                await asyncio.get_running_loop().run_in_executor(None, reload)
        return redirect(f"{PATH}/tri-thuc?kq={result}")

    # ---------------------------------------------------------------- accounts (admins)
    def admins_only(officer: accounts.Officer) -> web.Response:
        return html_response(render.error_page("Chỉ dành cho quản trị viên",
                                               "Trang này chỉ quản trị viên dùng được; lần truy cập đã được ghi lại.",
                                               officer), 403)

    async def accounts_page(request: web.Request, officer: accounts.Officer, error: str = "",
                            status: int = 200) -> web.StreamResponse:
        rows = await app.db.run(data.account_list, app.services.clock(), officer)
        if rows == data.REFUSED:
            return admins_only(officer)
        return html_response(render.accounts_page(officer, rows, request.query.get("kq", "")[:8], error), status)  # type: ignore[arg-type]

    async def account_save(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        error = await app.db.run(data.account_save, app.services.clock(), officer, request[FORM])
        if error == data.REFUSED:
            return admins_only(officer)
        if error:
            return await accounts_page(request, officer, error=error, status=400)
        return redirect(f"{PATH}/tai-khoan?kq=da-luu")

    # ---------------------------------------------------------------- live updates
    def stamp(session: Any, officer: accounts.Officer, tid: int | None) -> str:
        q = scope(sa.select(sa.func.max(Ticket.updated_at), sa.func.count()).select_from(Ticket), officer)
        if tid is not None:
            q = q.where(Ticket.id == tid)
        latest, n = session.execute(q).one()
        return f"{latest.isoformat() if latest else ''}/{n}"

    async def events(request: web.Request, officer: accounts.Officer) -> web.StreamResponse:
        raw = request.query.get("phan-anh", "")
        tid = int(raw) if raw.isdigit() and len(raw) < 10 else None
        resp = web.StreamResponse(headers={**websec.SECURITY_HEADERS, "Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        _, token = await current(request)
        last = await app.db.run(stamp, officer, tid)
        await resp.write(b"retry: 3000\n: ok\n\n")
        started = asyncio.get_running_loop().time()
        try:
            while asyncio.get_running_loop().time() - started < LIVE_MAX_SECONDS:
                await asyncio.sleep(LIVE_POLL_SECONDS)
                if not app.accepting:  # shutting down: end the stream (the browser reconnects to another instance)
                    break
                if await app.db.run(accounts.officer_for, app.services.clock(), token) is None:
                    await resp.write(b"event: logout\ndata: 1\n\n")
                    break
                now = await app.db.run(stamp, officer, tid)
                if now != last:
                    last = now
                    await resp.write(b"event: changed\ndata: 1\n\n")
                else:
                    await resp.write(b": ping\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    def static(body: bytes, content_type: str) -> Handler:
        async def serve(_: web.Request) -> web.StreamResponse:
            resp = web.Response(body=body, headers={"Content-Type": content_type})
            websec.with_headers(resp, {"Cache-Control": "public, max-age=3600"})
            return resp
        return serve

    router.add_get(PATH, home)
    router.add_get(PATH + "/", home)
    router.add_get(PATH + "/dang-nhap", login_form)
    router.add_post(PATH + "/dang-nhap", login_post)
    router.add_post(PATH + "/dang-xuat", logout)
    router.add_get(PATH + "/hop-thu", logged_in(inbox))
    router.add_get(PATH + "/phan-anh/{id}", logged_in(ticket))
    router.add_get(PATH + "/phan-anh/{id}/tep/{mid}/{n}", logged_in(file_view))
    router.add_post(PATH + "/phan-anh/{id}/{action}", logged_in(action))
    router.add_get(PATH + "/su-kien", logged_in(events))
    router.add_get(PATH + "/thong-ke", logged_in(dashboard))
    router.add_get(PATH + "/tai-khoan", logged_in(accounts_page))
    router.add_post(PATH + "/tai-khoan", logged_in(account_save))
    router.add_get(PATH + "/tri-thuc", logged_in(knowledge))
    router.add_post(PATH + "/tri-thuc/{action:cach-hoi|muc-moi}", logged_in(curate))
    router.add_post(PATH + "/tri-thuc/{action:duyet|tu-choi}/{id}", logged_in(curate))
    router.add_get(PATH + "/thong-ke/xuat.{kind:csv|xlsx}", logged_in(export))
    router.add_get(PATH + "/static/style.css", static(css, "text/css; charset=utf-8"))
    router.add_get(PATH + "/static/console.js", static(js, "text/javascript; charset=utf-8"))


