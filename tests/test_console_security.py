"""The officers' console's defences, tried over real HTTP against a real `ntm-bot run`: wrong passwords lock the
account, a forged or tampered cookie and a cookie replayed after logout are refused, every POST needs the CSRF
token and a same-origin Origin, an officer of one commune cannot open another commune's ticket by URL (403,
audited), and HTML typed into any field comes back escaped."""
from __future__ import annotations

import base64
import re

import pytest
import sqlalchemy as sa

from bot.storage.db import Database
from bot.storage.models import AuditLog
from tests.console_helpers import BINH_DUC, PASSWORD, Client, console_bot, make_accounts, staff_cli
from tests.tickets_helpers import Driver, Person, file_report

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ACTIONS = ("tra-loi", "ghi-chu", "trang-thai", "giao", "nhan", "dong", "mo-lai")


@pytest.fixture
async def bot(tmp_path, fake_tg):
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    make_accounts(url, tmp_path / "cli")
    b = console_bot(tmp_path, fake_tg, url)
    b.start()
    try:
        await b.wait_ready()
        yield b, url
    finally:
        b.stop_now()


def audits(url: str, action: str) -> list[AuditLog]:
    db = Database(url)
    try:
        return db.call(lambda s: list(s.exec(sa.select(AuditLog).where(AuditLog.action == action)).scalars()))
    finally:
        db.dispose()


async def test_lockout_after_five_wrong_passwords(bot):
    b, url = bot
    c = Client(b.url)
    try:
        for _ in range(4):
            status, body = await c.login("an.binhduc", "sai-mat-khau-123")
            assert status == 200 and "Tên đăng nhập hoặc mật khẩu chưa đúng" in body
        status, body = await c.login("an.binhduc", "sai-mat-khau-123")
        assert "Tài khoản tạm khóa" in body and "15 phút" in body
        status, body = await c.login("an.binhduc", PASSWORD)  # the right password while locked: still refused
        assert "Tài khoản tạm khóa" in body and "Hộp thư phản ánh" not in body
        assert not c.cookie("canbo_phien")
        status, body = await c.get("/canbo/hop-thu")
        assert status == 200 and 'action="/canbo/dang-nhap"' in body  # redirected to the login page
        # an unknown login answers exactly like a wrong password (no account probing)
        status, body = await c.login("khong-co-ai", "bat-ky-mat-khau")
        assert "Tên đăng nhập hoặc mật khẩu chưa đúng" in body
        other = Client(b.url)  # the other officer is not affected
        try:
            status, body = await other.login("binh.longxuyen")
            assert "Hộp thư phản ánh" in body
        finally:
            await other.close()
    finally:
        await c.close()
    assert len(audits(url, "console_locked")) == 1
    assert len(audits(url, "console_login_failed")) == 5
    assert len(audits(url, "console_login_locked")) == 1
    # an admin resets the password: the lock ends
    assert staff_cli(url, b.workdir, "password", "an.binhduc", "--password-stdin", password=PASSWORD + "x").returncode == 0
    c = Client(b.url)
    try:
        _, body = await c.login("an.binhduc", PASSWORD + "x")
        assert "Hộp thư phản ánh" in body
    finally:
        await c.close()


async def test_forged_tampered_and_replayed_cookies(bot):
    from itsdangerous import URLSafeTimedSerializer

    b, _ = bot
    c = Client(b.url)
    try:
        _, body = await c.login("an.binhduc")
        assert "Hộp thư phản ánh" in body
        good = c.cookie("canbo_phien")
        assert good
        for name, value in {
            "forged": URLSafeTimedSerializer("not-the-secret", salt="canbo-session").dumps("abc"),
            "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
            "garbage": "x" * 600,
        }.items():
            fresh = Client(b.url)
            try:
                fresh.http.cookie_jar.update_cookies({"canbo_phien": value})
                status, body = await fresh.get("/canbo/hop-thu")
                assert "Đăng nhập" in body and "Hộp thư phản ánh" not in body, name
            finally:
                await fresh.close()
        # replayed after logout
        status, body = await c.post("/canbo/dang-xuat", {})
        assert "Đăng nhập" in body
        replay = Client(b.url)
        try:
            replay.http.cookie_jar.update_cookies({"canbo_phien": good})
            status, body = await replay.get("/canbo/hop-thu")
            assert "Hộp thư phản ánh" not in body and "Đăng nhập" in body
            status, body = await replay.post("/canbo/phan-anh/1/ghi-chu", {"noi-dung": "x"}, csrf=False)
            assert status == 403
        finally:
            await replay.close()
    finally:
        await c.close()


async def test_csrf_on_every_post_cross_commune_and_html_escaped(bot, fake_tg):
    b, url = bot
    d = Driver(fake_tg, port=b.port)
    farmer = Person(d, 5101, name=XSS)
    code = await file_report(farmer, description="Đèn đường hỏng " + XSS, place="xa my khanh")
    tid = int(code[3:])
    a, other = Client(b.url), Client(b.url)
    try:
        _, body = await a.login("an.binhduc")
        assert code in body and "&lt;script&gt;" in body and XSS not in body
        await other.login("binh.longxuyen")
        # officer of Long Xuyên: not in the inbox, refused by URL, for viewing and for every action
        _, body = await other.get("/canbo/hop-thu")
        assert code not in body
        status, body = await other.get(f"/canbo/phan-anh/{tid}")
        assert status == 403 and "Đèn đường" not in body and "Lần truy cập này đã được ghi lại" in body
        for action in ACTIONS:
            status, body = await other.post(f"/canbo/phan-anh/{tid}/{action}", {"noi-dung": "x", "trang-thai": "da-xu-ly"})
            assert status == 403, action
        refused = [r for r in audits(url, "refused") if r.target == code]
        assert len(refused) == 1 + len(ACTIONS) and all(r.actor == "canbo:binh.longxuyen" for r in refused)
        # CSRF: every POST without the token, with a wrong one, or from another origin is refused and nothing changes
        status, _ = await a.get(f"/canbo/phan-anh/{tid}")
        assert status == 200
        form = {"noi-dung": "không được ghi", "trang-thai": "da-xu-ly", "can-bo": "9101"}
        for action in ACTIONS:
            path = f"/canbo/phan-anh/{tid}/{action}"
            assert (await a.post(path, form, csrf=False))[0] == 403, action
            assert (await a.post(path, {**form, "csrf": "sai"}, csrf=False))[0] == 403, action
            assert (await a.post(path, form, origin="https://evil.example"))[0] == 403, action
            assert (await a.post(path, form, origin=None))[0] == 403, action
        assert (await a.post("/canbo/dang-xuat", {}, csrf=False))[0] == 403
        _, body = await a.get(f"/canbo/phan-anh/{tid}")
        assert "không được ghi" not in body and "Mới tiếp nhận" in body
        login = Client(b.url)
        try:  # the login form: no token cookie, or another origin
            status, _ = await login.post("/canbo/dang-nhap", {"login": "an.binhduc", "password": PASSWORD})
            assert status == 403
            await login.get("/canbo/dang-nhap")
            status, _ = await login.post("/canbo/dang-nhap", {"login": "an.binhduc", "password": PASSWORD},
                                         origin="https://evil.example")
            assert status == 403 and not login.cookie("canbo_phien")
            _, body = await login.login(XSS, "x")  # HTML in the login field is not echoed raw
            assert XSS not in body
        finally:
            await login.close()
        # HTML in every field the officer writes: stored as typed, shown escaped; the citizen gets it as text
        for action, f in (("ghi-chu", {"noi-dung": XSS}), ("tra-loi", {"noi-dung": "Trả lời " + XSS}),
                          ("trang-thai", {"trang-thai": "cho-bo-sung", "noi-dung": XSS}),
                          ("dong", {"noi-dung": "Đã sửa " + XSS})):
            status, body = await a.post(f"/canbo/phan-anh/{tid}/{action}", f)
            assert status == 200 and XSS not in body, action
            assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body, action
        await farmer.expect("Trả lời <script>")  # the citizen reads the characters typed (Telegram HTML escaped)
        _, body = await a.get(f"/canbo/phan-anh/{tid}?kq=" + XSS)
        assert XSS not in body
        status, body = await a.get("/canbo/hop-thu?q=" + XSS + "&xa=" + BINH_DUC)
        assert status == 200 and XSS not in body
    finally:
        await a.close()
        await other.close()
    headers_ok = Client(b.url)
    try:
        async with headers_ok.http.get(b.url + "/canbo/dang-nhap") as r:
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert r.headers["X-Frame-Options"] == "DENY"
            raw = r.headers.getall("Set-Cookie")
            assert any("HttpOnly" in h and "SameSite=Strict" in h for h in raw)
    finally:
        await headers_ok.close()


async def test_admin_creates_accounts_in_the_console(bot):
    b, url = bot
    admin, officer = Client(b.url), Client(b.url)
    try:
        await admin.login("quantri")
        status, body = await admin.get("/canbo/tai-khoan")
        assert status == 200 and "an.binhduc" in body and "Phường Bình Đức" in body
        form = {"ten-dang-nhap": "chi.moi", "ho-ten": XSS, "vai-tro": "officer", "xa": BINH_DUC, "mat-khau": "ngan"}
        status, body = await admin.post("/canbo/tai-khoan", form)
        assert status == 400 and "ít nhất 10 ký tự" in body
        status, body = await admin.post("/canbo/tai-khoan", {**form, "xa": "99999", "mat-khau": PASSWORD})
        assert status == 400 and "99999" in body
        status, body = await admin.post("/canbo/tai-khoan", {**form, "mat-khau": PASSWORD})
        assert status == 200 and "Đã lưu tài khoản" in body and XSS not in body and "&lt;script&gt;" in body
        assert (await admin.post("/canbo/tai-khoan", {**form, "mat-khau": PASSWORD}, csrf=False))[0] == 403
        # an officer is not an admin: refused and logged, nothing created
        await officer.login("an.binhduc")
        status, body = await officer.get("/canbo/tai-khoan")
        assert status == 403
        status, _ = await officer.post("/canbo/tai-khoan", {**form, "ten-dang-nhap": "ke.gian", "vai-tro": "admin"})
        assert status == 403
    finally:
        await admin.close()
        await officer.close()
    new = Client(b.url)
    try:
        _, body = await new.login("chi.moi")
        assert "Hộp thư phản ánh" in body
        _, body = await new.login("ke.gian")
        assert "Hộp thư phản ánh" not in body
    finally:
        await new.close()
    created = [r for r in audits(url, "console_account") if r.actor == "canbo:quantri"]
    assert [r.target for r in created] == ["chi.moi"]
    assert len([r for r in audits(url, "refused") if r.actor == "canbo:an.binhduc" and "tai-khoan" in r.target]) == 2


async def test_html_in_curation_fields_is_escaped(bot):
    b, _ = bot
    c = Client(b.url)
    try:
        await c.login("an.binhduc")
        await c.get("/canbo/tri-thuc")
        form = {"tieu-de": "Hỏi " + XSS, "cach-hoi": "\n".join([XSS, "a " + XSS, "b " + XSS, "c " + XSS]),
                "tra-loi": "Trả lời " + XSS, "chu-de": "ntm", "giai-doan": "hien-hanh", "loai-nguon": "van-ban",
                "nguon": "Quyết định " + XSS, "ngay-nguon": "2022-08-02", "co-quan": XSS, "han-ra-soat": "2027-06-30"}
        status, body = await c.post("/canbo/tri-thuc/muc-moi", form)
        assert status == 200 and "Đã lưu bản nháp" in body
        assert XSS not in body and "Trả lời &lt;script&gt;" in body
        status, body = await c.post("/canbo/tri-thuc/cach-hoi", {"cau-hoi": XSS, "muc": XSS})
        assert status == 400 and XSS not in body
        assert (await c.post("/canbo/tri-thuc/muc-moi", form, csrf=False))[0] == 403
        assert (await c.post("/canbo/tri-thuc/duyet/1", {}, csrf=False))[0] == 403
        assert (await c.post("/canbo/tri-thuc/tu-choi/1", {}, origin="https://evil.example"))[0] == 403
    finally:
        await c.close()


def rfc6238(secret: str, at: float, step: int = 30) -> str:
    """TOTP written out again from RFC 6238 / RFC 4226, independently of the bot's code."""
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", int(at) // step), hashlib.sha1).digest()
    o = h[19] & 15
    return f"{(struct.unpack('>I', h[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_totp_matches_the_rfc_6238_test_vector():
    from bot.features.console.accounts import totp_at

    secret = base64.b32encode(b"12345678901234567890").decode()
    # RFC 6238 appendix B, SHA-1: T=59 -> 94287082, T=1111111109 -> 07081804 (8 digits; we show the last 6)
    assert totp_at(secret, 59 // 30) == "287082"
    assert totp_at(secret, 1111111109 // 30) == "081804"
    assert rfc6238(secret, 1111111109) == "081804"


async def test_totp_second_factor(bot):
    import time

    b, url = bot
    r = staff_cli(url, b.workdir, "totp", "lanhdao")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.split("xác thực, loại «dựa trên thời gian»): ")[1].split()[0]
    c = Client(b.url)
    try:
        await c.get("/canbo/dang-nhap")
        status, body = await c.post("/canbo/dang-nhap", {"login": "lanhdao", "password": PASSWORD})
        assert "Hộp thư phản ánh" not in body  # the password alone is not enough any more
        await c.get("/canbo/dang-nhap")
        status, body = await c.post("/canbo/dang-nhap", {"login": "lanhdao", "password": PASSWORD, "ma": "000000"
                                                         if rfc6238(secret, time.time()) != "000000" else "111111"})
        assert "Hộp thư phản ánh" not in body
        code = rfc6238(secret, time.time())
        await c.get("/canbo/dang-nhap")
        status, body = await c.post("/canbo/dang-nhap", {"login": "lanhdao", "password": PASSWORD, "ma": code})
        assert "Hộp thư phản ánh" in body
        await c.post("/canbo/dang-xuat", {})
        await c.get("/canbo/dang-nhap")  # the same code again (replayed): refused
        status, body = await c.post("/canbo/dang-nhap", {"login": "lanhdao", "password": PASSWORD, "ma": code})
        assert "Hộp thư phản ánh" not in body
    finally:
        await c.close()
    assert any("sai mã xác thực" in a.detail for a in audits(url, "console_login_failed"))
    assert staff_cli(url, b.workdir, "totp", "lanhdao", "--off").returncode == 0
    c = Client(b.url)
    try:
        _, body = await c.login("lanhdao")
        assert "Hộp thư phản ánh" in body
    finally:
        await c.close()


async def test_live_stream_does_not_hold_up_shutdown(tmp_path, fake_tg):
    """An officer's open page (a Server-Sent Events stream) ends when the instance shuts down, instead of keeping
    the process for the whole drain time."""
    import signal
    import time

    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    make_accounts(url, tmp_path / "cli")
    b = console_bot(tmp_path, fake_tg, url, SHUTDOWN_DRAIN_SECONDS="30")
    b.start()
    try:
        await b.wait_ready()
        c = Client(b.url)
        try:
            await c.login("an.binhduc")
            async with c.http.get(b.url + "/canbo/su-kien") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
                assert b"retry:" in await r.content.readline()
                started = time.monotonic()
                b.signal(signal.SIGTERM)
                assert await b.wait_exit(timeout=25) == 0
                assert time.monotonic() - started < 12
        finally:
            await c.close()
    finally:
        b.stop_now()


async def test_a_telegram_photo_is_shown_to_the_communes_officer_only(bot, fake_tg):
    """Officers who work in the browser see the photo a citizen sent on Telegram: the console fetches it from the
    Bot API (getFile, then the file) for an officer who may see the ticket; another commune's officer is refused."""
    b, url = bot
    farmer = Person(Driver(fake_tg, port=b.port), 5102)
    code = await file_report(farmer, description="Cống bể, nước tràn ra đường", place="xa my khanh", photo="AgACphoto1")
    tid = int(code[3:])
    a, other, nobody = Client(b.url), Client(b.url), Client(b.url)
    try:
        await a.login("an.binhduc")
        _, page = await a.get(f"/canbo/phan-anh/{tid}")
        links = re.findall(rf'href="(/canbo/phan-anh/{tid}/tep/\d+/\d+)"', page)
        assert links, page
        async with a.http.get(b.url + links[0]) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "image/png"
            assert r.headers["Cache-Control"] == "private, no-store" and await r.read() == b"\x89PNG fake"
        assert any(m == "getFile" and p.get("file_id") == "AgACphoto1" for m, p in fake_tg.calls)
        assert [r.target for r in audits(url, "file_view")] == [code]
        await other.login("binh.longxuyen")
        status, body = await other.get(links[0])
        assert status == 403 and "Lần truy cập này đã được ghi lại" in body
        status, _ = await nobody.get(links[0], allow_redirects=False)
        assert status in (302, 303)
        assert (await a.get(f"/canbo/phan-anh/{tid}/tep/999999/0"))[0] == 404
    finally:
        for c in (a, other, nobody):
            await c.close()


def _own_address() -> str | None:
    """This machine's address on a non-loopback interface (a peer that is not the local proxy), if any."""
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks the outgoing interface
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if addr.startswith("127.") else addr


async def test_forwarded_headers_count_only_from_the_local_proxy(tmp_path, fake_tg):
    import aiohttp

    addr = _own_address()
    if addr is None:
        pytest.skip("no non-loopback interface on this machine")
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    make_accounts(url, tmp_path / "cli")
    b = console_bot(tmp_path, fake_tg, url, HTTP_HOST="0.0.0.0")
    b.start()
    try:
        await b.wait_ready()
        proxy = f"http://127.0.0.1:{b.port}"
        outside = f"http://{addr}:{b.port}"
        fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ntm.example.vn"}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.get(proxy + "/canbo/dang-nhap", headers=fwd) as r:
                assert r.status == 200 and "Secure" in r.headers.get("Set-Cookie", "")  # behind the HTTPS proxy
            async with s.get(outside + "/canbo/dang-nhap", headers=fwd) as r:
                assert r.status == 200 and "Secure" not in r.headers.get("Set-Cookie", "")  # a client's own claim
        # same origin: a forged X-Forwarded-Host from a client does not make another site's form this site's
        c = Client(outside)
        try:
            await c.get("/canbo/dang-nhap")
            status, body = await c.post("/canbo/dang-nhap", {"login": "an.binhduc", "password": PASSWORD},
                                        origin="http://ntm.example.vn", headers={"X-Forwarded-Host": "ntm.example.vn"})
            assert status == 403 and "Yêu cầu không hợp lệ" in body
            status, body = await c.post("/canbo/dang-nhap", {"login": "an.binhduc", "password": PASSWORD})
            assert status == 200 and "Hộp thư phản ánh" in body  # its own origin still works from there
        finally:
            await c.close()
    finally:
        b.stop_now()
