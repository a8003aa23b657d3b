"""The web chat's HTTP endpoints under bad input, over real HTTP against a running App: forged or missing CSRF
tokens, a cookie from another secret, other origins, 10 MB of text, fake, oversized and bomb images, HTML in every
field, a flood from one browser. Each is refused with a Vietnamese sentence, nothing is stored that should not be,
and the process keeps serving."""
from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from tests.conftest import MINI_KB, eventually
from tests.web_helpers import jpeg_with_gps, png

VIETNAMESE = re.compile(r"[ạảãáàâầấẩẫậăằắẳẵặẹẻẽéèêềếểễệịỉĩíìọỏõóòôồốổỗộơờớởỡợụủũúùưừứửữựỳýỷỹỵđ]", re.I)


class Browser:
    """What a browser does with the page: keeps the cookie, reads the CSRF token from the page."""

    def __init__(self, base: str):
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def open(self) -> str:
        async with self.http.get(self.base + "/chat") as r:
            assert r.status == 200, r.status
            page = await r.text()
            self.headers = r.headers
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        return page

    async def post(self, path: str, body: Any = None, *, csrf: str | None = None, headers: dict[str, str] | None = None,
                   data: Any = None) -> tuple[int, dict[str, Any]]:
        h = {"X-CSRF-Token": self.csrf if csrf is None else csrf, **(headers or {})}
        if not h["X-CSRF-Token"]:
            del h["X-CSRF-Token"]
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body}
        async with self.http.post(self.base + path, headers=h, **kwargs) as r:
            try:
                return r.status, await r.json(content_type=None)
            except ValueError:
                return r.status, {"raw": await r.text()}

    async def say(self, text: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        return await self.post("/chat/send", {"key": uuid.uuid4().hex, "text": text}, **kw)

    async def photo(self, raw: bytes, name: str = "anh.jpg", ctype: str = "image/jpeg") -> tuple[int, dict[str, Any]]:
        form = aiohttp.FormData()
        form.add_field("key", uuid.uuid4().hex)
        form.add_field("photo", raw, filename=name, content_type=ctype)
        return await self.post("/chat/upload", data=form)

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def web(make_app, tmp_path):
    app = await make_app(kb_dir=MINI_KB, web_session_rate=20, web_upload_max_mb=1.0,
                         web_embed_origins="https://congthong.example.gov.vn")
    base = f"http://127.0.0.1:{app.settings.http_port}"
    browsers: list[Browser] = []

    def browser() -> Browser:
        b = Browser(base)
        browsers.append(b)
        return b

    yield app, base, browser
    for b in browsers:
        await b.close()


def web_rows(app: Any) -> tuple[int, int]:
    def count(session: Any) -> tuple[int, int]:
        n_in = session.execute(sa.text("SELECT count(*) FROM inbound_event WHERE channel = 'web'")).scalar_one()
        n_up = session.execute(sa.text("SELECT count(*) FROM web_upload")).scalar_one()
        return n_in, n_up

    return app.db.call(count)


async def healthy(base: str) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(base + "/healthz") as r:
            assert r.status == 200


def refused_politely(status: int, body: dict[str, Any], expected: int) -> None:
    assert status == expected, (status, body)
    assert body.get("ok") is False and VIETNAMESE.search(body.get("error", "")), body


async def test_the_page_sets_a_signed_httponly_samesite_cookie_and_a_strict_csp(web):
    app, base, browser = web
    b = browser()
    await b.open()
    cookie = b.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/chat" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind HTTPS (WEB_TRUST_PROXY + X-Forwarded-Proto) it is Secure
    csp = b.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'self' https://congthong.example.gov.vn" in csp
    assert b.headers["X-Content-Type-Options"] == "nosniff"
    page = await b.open()
    assert "<script>" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")

    async with aiohttp.ClientSession() as s:  # behind the HTTPS proxy, trusted: the cookie is Secure
        app.settings.web_trust_proxy = True
        try:
            async with s.get(base + "/chat", headers={"X-Forwarded-Proto": "https"}) as r:
                assert "Secure" in r.headers["Set-Cookie"]
        finally:
            app.settings.web_trust_proxy = False


async def test_csrf_missing_or_forged_and_other_origins_are_refused_and_nothing_is_stored(web):
    app, base, browser = web
    b = browser()
    await b.open()
    refused_politely(*await b.say("OCOP là gì?", csrf=""), 403)
    refused_politely(*await b.say("OCOP là gì?", csrf="forged-token"), 403)
    other = browser()
    await other.open()
    refused_politely(*await b.say("OCOP là gì?", csrf=other.csrf), 403)  # another browser's token
    refused_politely(*await b.say("OCOP là gì?", headers={"Origin": "https://evil.example"}), 403)
    refused_politely(*await b.say("OCOP là gì?", headers={"Sec-Fetch-Site": "cross-site"}), 403)
    assert web_rows(app) == (0, 0)
    status, body = await b.say("OCOP là gì?", headers={"Origin": base})
    assert status == 200 and body == {"ok": True}
    assert web_rows(app)[0] == 1  # stored when the browser was told so


async def test_no_cookie_or_a_cookie_from_another_secret_is_refused(web):
    from bot.channels.web.identity import COOKIE, Identity

    app, base, browser = web
    b = browser()
    await b.open()
    forged = Identity("another-secret-entirely", 180).cookie_value("AAAAAAAAAAAAAAAAAAAAAA")
    from yarl import URL

    b.http.cookie_jar.clear()
    b.http.cookie_jar.update_cookies({COOKIE: forged}, response_url=URL(base + "/chat"))
    status, body = await b.say("OCOP là gì?")
    refused_politely(status, body, 403)
    assert "tải lại trang" in body["error"]
    async with aiohttp.ClientSession() as s:  # no cookie at all: neither the stream nor a message
        async with s.get(base + "/chat/events") as r:
            assert r.status == 403
        async with s.post(base + "/chat/send", json={"key": uuid.uuid4().hex, "text": "x"}) as r:
            assert r.status == 403
    assert web_rows(app) == (0, 0)
    async with b.http.get(base + "/chat") as r:  # the page replaces the forged identity with a new one
        assert COOKIE in r.headers.get("Set-Cookie", "")


async def test_ten_megabytes_of_text_too_long_text_and_malformed_bodies(web):
    app, base, browser = web
    b = browser()
    await b.open()
    status, body = await b.say("a" * (10 * 1024 * 1024))
    refused_politely(status, body, 413)
    status, body = await b.say("xin chào " * 500)  # 4 500 characters: over the 4 000 a message may have
    refused_politely(status, body, 413)
    assert "4.000" in body["error"]  # Vietnamese number format
    for bad in ([1, 2], {"key": "k"}, {"key": uuid.uuid4().hex, "text": 5}, {"key": "../../x", "text": "a"},
                {"key": uuid.uuid4().hex, "callback": "x" * 80}, {"key": uuid.uuid4().hex, "text": "   "}):
        refused_politely(*await b.post("/chat/send", bad), 400)
    async with b.http.post(base + "/chat/send", data=b"{not json", headers={"X-CSRF-Token": b.csrf}) as r:
        assert r.status == 400
    refused_politely(*await b.post("/chat/location", {"key": uuid.uuid4().hex, "lat": "abc", "lon": 1}), 400)
    refused_politely(*await b.post("/chat/location", {"key": uuid.uuid4().hex, "lat": 91, "lon": 1}), 400)
    assert web_rows(app) == (0, 0)
    await healthy(base)


async def test_fake_oversized_and_bomb_images_are_refused(web):
    from PIL import Image

    app, base, browser = web
    b = browser()
    await b.open()
    refused_politely(*await b.photo(b"<script>alert(1)</script>", name="anh.jpg"), 415)  # a name is not a type
    refused_politely(*await b.photo(b"\xff\xd8\xff\xe0" + b"garbage" * 100), 415)  # JPEG magic, no image
    html_polyglot = png() + b"<html><script>alert(1)</script></html>"
    noise = Image.effect_noise((800, 800), 120).convert("RGB")  # noise does not compress: over 1 MB
    big = io.BytesIO()
    noise.save(big, "PNG")
    assert big.tell() > 1024 * 1024
    status, body = await b.photo(big.getvalue(), name="to.png", ctype="image/png")
    refused_politely(status, body, 413)
    assert "1 MB" in body["error"]
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 megapixels in a few kB
    refused_politely(*await b.photo(bomb.getvalue(), name="bom.png", ctype="image/png"), 413)
    assert web_rows(app) == (0, 0)

    status, body = await b.photo(html_polyglot, name="<b>x</b>.png", ctype="text/html")  # a real image: re-encoded
    assert status == 200, body
    status, body = await b.photo(jpeg_with_gps())
    assert status == 200, body

    def stored(session: Any) -> list[Any]:
        return session.execute(sa.text("SELECT mime, data FROM web_upload")).all()

    rows = app.db.call(stored)
    assert len(rows) == 2 and {r.mime for r in rows} == {"image/jpeg"}
    assert all(b"<script>" not in bytes(r.data) and b"PhoneMaker" not in bytes(r.data) for r in rows)
    await healthy(base)


async def test_html_in_every_field_is_stored_as_text_and_served_as_json(web):
    app, base, browser = web
    b = browser()
    await b.open()
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    status, _ = await b.say(evil)
    assert status == 200
    status, _ = await b.post("/chat/send", {"key": uuid.uuid4().hex, "callback": evil[:60]})
    assert status == 200

    async def read_stream() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async with b.http.get(base + "/chat/events") as r:
            assert r.content_type == "text/event-stream"
            async for line in r.content:
                if line.startswith(b"data: "):
                    out.append(json.loads(line[6:]))
                    if len([m for m in out if m.get("who") == "me"]) >= 2:
                        return out
        return out

    messages = await asyncio.wait_for(read_stream(), 10)
    mine = [m for m in messages if m.get("who") == "me"]
    assert mine[0]["text"] == evil  # kept as the citizen wrote it; the page renders it with textContent
    assert mine[1]["callback"] == evil[:60]


async def test_a_flood_from_one_browser_is_slowed_down_and_the_process_keeps_serving(web):
    app, base, browser = web
    b = browser()
    await b.open()
    results = await asyncio.gather(*(b.say(f"câu hỏi số {i}") for i in range(35)))
    codes = [s for s, _ in results]
    assert codes.count(200) == 20 and codes.count(429) == 15  # WEB_SESSION_RATE = 20 a minute
    limited = next(body for s, body in results if s == 429)
    assert "nhanh quá" in limited["error"]
    await eventually(lambda: web_rows(app)[0] == 20)
    other = browser()  # somebody else on another address is not held up (here: the same address, under its cap)
    await other.open()
    assert (await other.say("OCOP là gì?"))[0] == 200
    await healthy(base)


async def test_erasing_my_data_removes_my_photos_and_messages(web):
    app, base, browser = web
    b = browser()
    await b.open()
    assert (await b.say("/phananh"))[0] == 200
    assert (await b.photo(jpeg_with_gps()))[0] == 200
    assert web_rows(app)[1] == 1
    media = app.db.call(lambda s: s.execute(sa.text("SELECT id FROM web_upload")).scalar_one())
    assert (await b.say("/xoadulieu"))[0] == 200

    def offered(session: Any) -> str | None:
        rows = session.execute(sa.text("SELECT payload FROM outbox WHERE channel = 'web' ORDER BY id")).all()
        for (payload,) in rows:
            p = payload if isinstance(payload, dict) else json.loads(payload)
            for row in p.get("buttons") or []:
                for btn in row:
                    if btn["data"].startswith("priv:yes"):
                        return btn["data"]
        return None

    yes = await eventually(lambda: app.db.call(offered))
    assert (await b.post("/chat/send", {"key": uuid.uuid4().hex, "callback": yes}))[0] == 200
    await eventually(lambda: web_rows(app)[1] == 0)
    async with b.http.get(f"{base}/chat/media/{media}") as r:
        assert r.status == 404

    def texts(session: Any) -> list[str]:
        return [str(p) for (p,) in session.execute(sa.text("SELECT payload FROM inbound_event WHERE channel = 'web'"))]

    await eventually(lambda: not any("phananh" in t for t in app.db.call(texts)))


async def test_ticket_lookup_refuses_forged_tokens_and_guessing(web):
    app, base, browser = web
    b = browser()
    await b.open()
    async with b.http.get(base + "/chat/tracuu") as r:
        assert r.status == 200
        form_token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    async with b.http.post(base + "/chat/tracuu", data={"csrf": "forged", "code": "PA-000001", "secret": "AAAAA-AAAAA"}) as r:
        assert r.status == 403
    async with aiohttp.ClientSession() as s:  # no cookie: refused
        async with s.post(base + "/chat/tracuu", data={"csrf": form_token, "code": "PA-000001", "secret": "x"}) as r:
            assert r.status == 403
    statuses = []
    for i in range(25):
        async with b.http.post(base + "/chat/tracuu", data={"csrf": form_token, "code": "PA-000001",
                                                             "secret": f"AAAA{i:02d}-AAAAA"[:11]}) as r:
            statuses.append(r.status)
            body = await r.text()
            if r.status == 404:
                assert "Không tìm thấy" in body and "<script" not in body
    assert statuses.count(404) == 20 and statuses.count(429) == 5  # 20 tries per address in 10 minutes
    await healthy(base)


async def test_subscribing_on_the_web_points_to_zalo_and_telegram(web):
    app, base, browser = web
    b = browser()
    await b.open()
    assert (await b.say("/dangky"))[0] == 200

    def answers(session: Any) -> list[str]:
        rows = session.execute(sa.text("SELECT payload FROM outbox WHERE channel = 'web' ORDER BY id")).all()
        return [(p if isinstance(p, dict) else json.loads(p)).get("text", "") for (p,) in rows]

    said = await eventually(lambda: app.db.call(answers))
    assert "Zalo hoặc Telegram" in said[0]
    n = app.db.call(lambda s: s.execute(sa.text("SELECT count(*) FROM subscription")).scalar_one())
    assert n == 0
    assert "web" not in app.services.extras["broadcast_channels"]()


async def test_photos_no_report_keeps_are_deleted_after_the_retention_period(web):
    import datetime as dt

    from bot.channels.web.models import prune_uploads

    app, base, browser = web
    b = browser()
    await b.open()
    assert (await b.photo(png()))[0] == 200  # sent outside a report: nothing keeps it
    assert (await b.say("/phananh"))[0] == 200
    await eventually(lambda: app.db.call(lambda s: s.execute(sa.text(
        "SELECT count(*) FROM outbox WHERE channel = 'web' AND payload LIKE '%1/5%'")).scalar_one()))
    # a report filed with a photo keeps it
    steps = [{"callback": "fb:cat:giao-thong"}, None, {"text": "Đèn đường ấp 5 tắt cả tháng nay rồi"},
             {"text": "xa my khanh"}, {"callback": "fb:hamlet:skip"}, {"callback": "fb:contact:anon"}]
    for step in steps:
        if step is None:
            assert (await b.photo(jpeg_with_gps()))[0] == 200
        else:
            assert (await b.post("/chat/send", {"key": uuid.uuid4().hex, **step}))[0] == 200
        await asyncio.sleep(0.3)

    def send_button(session: Any) -> str | None:
        for (payload,) in session.execute(sa.text("SELECT payload FROM outbox WHERE channel = 'web' ORDER BY id DESC")):
            p = payload if isinstance(payload, dict) else json.loads(payload)
            for row in p.get("buttons") or []:
                for btn in row:
                    if btn["data"].startswith("fb:send:"):
                        return btn["data"]
        return None

    data = await eventually(lambda: app.db.call(send_button))
    assert (await b.post("/chat/send", {"key": uuid.uuid4().hex, "callback": data}))[0] == 200
    await eventually(lambda: app.db.call(lambda s: s.execute(sa.text("SELECT count(*) FROM ticket")).scalar_one()))
    assert web_rows(app)[1] == 2
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)
    assert app.db.call(prune_uploads, later, 30) == 1
    assert web_rows(app)[1] == 1  # the report's photo stays
    assert app.db.call(prune_uploads, dt.datetime.now(dt.timezone.utc), 30) == 0  # nothing young goes


async def test_chunked_bodies_without_a_length_are_bounded(web):
    app, base, browser = web
    b = browser()
    await b.open()

    async def endless(n: int):
        for _ in range(n):
            yield b"a" * 65536

    async with b.http.post(base + "/chat/send", data=endless(200), headers={"X-CSRF-Token": b.csrf,
                                                                        "Content-Type": "application/json"}) as r:
        assert r.status == 413
    async with b.http.post(base + "/chat/upload", data=endless(200), headers={
            "X-CSRF-Token": b.csrf, "Content-Type": "multipart/form-data; boundary=x"}) as r:
        assert r.status == 411
    assert web_rows(app) == (0, 0)
    await healthy(base)
