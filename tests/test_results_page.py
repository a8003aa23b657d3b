"""GET /congkhai, the public results page, over real HTTP against the running bot and a real database: the figures
equal /stats (asked in the officers' Telegram group) for several months, on SQLite and PostgreSQL; nothing private
is shown until an officer decides (/congkhai MÃ), and name and phone never; HTML typed anywhere is shown as text;
only GET; a rate limit per address."""
from __future__ import annotations

import asyncio
import html
import re

import pytest
import sqlalchemy as sa

from bot.features.results import page as results_page
from bot.features.tickets import service as ticketing
from bot.pages.http import AddressLimiter
from bot.storage.models import AuditLog
from bot.storage.tickets import Ticket
from tests.results_helpers import (
    assert_page_equals_stats,
    expected,
    get,
    month_start,
    parse_page,
    parse_stats,
    plant,
    vn_int,
)
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, button, plain, ticket_settings, wait_card


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database of this test's own on each engine (PostgreSQL: conftest's `own_pg`, skipped or failed as there)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.sqlite3'}"
    return request.getfixturevalue("own_pg")


async def stats_of(officer: Person, month: str) -> dict:
    await officer.say(f"/stats {month}")
    return parse_stats(plain((await officer.expect("Thống kê phản ánh")).text))


async def test_page_figures_equal_stats_for_several_months(tmp_path, fake_tg, make_app, database_url):
    app = await make_app(ticket_settings(tmp_path, fake_tg, database_url=database_url))
    now = app.services.clock()
    planted = app.db.call(plant, app.settings, now)
    officer = Person(Driver(fake_tg, app), STAFF, user_id=OFFICER, name="Cán Bộ")
    base = f"http://127.0.0.1:{app.settings.http_port}/congkhai"
    today = ticketing.local_date(now)
    for back in range(4):
        start = month_start(today, back)
        status, body, headers = await get(base, params={"thang": f"{start:%Y-%m}"})
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        page = parse_page(body)
        stats = await stats_of(officer, f"{start.month}/{start.year}")
        assert_page_equals_stats(page, stats)
        # …and both say what was planted
        want = expected(planted, start)
        assert want["total"] > 0
        assert vn_int(page["figure"]["total"]) == want["total"]
        assert page["status"] == want["status"]
        assert {k: n for k, n in page["category"].items() if n} == want["category"]
        assert {k: n for k, n in page["unit"].items() if k and n} == want["unit"]
        assert page["unit"][""] == want["unplaced"]
        assert len([k for k in page["unit"] if k]) == 102  # the table has every unit
        total, n = want["rating"]
        assert page["figure"]["rating"] == (f"{total / n:.1f}".replace(".", ",") + "/5" if n else "chưa có")
        # the answered ones are listed, newest first, with the agency's answer
        answered = re.findall(r'<h3 id="r-(PA-\d{6})"', body)
        assert len(answered) == sum(1 for p in planted if ticketing.local_date(p.created).replace(day=1) == start
                                    and p.status != "new")
        assert answered == sorted(answered, reverse=True)
        assert f"Tháng {start.month:02d}/{start.year}</option>" in body and f'value="{start:%Y-%m}" selected' in body
    # the trend chart has twelve months and its table the same numbers as each month's page
    status, body, _ = await get(base)
    assert status == 200 and body.count("<rect") >= 24
    trend = re.findall(r"<tr><th scope=\"row\">(\d\d/\d{4})</th><td>([\d.]+)</td><td>([\d.]+)</td>", body)
    assert len(trend) == 12
    for back in range(4):
        start = month_start(today, back)
        want = expected(planted, start)
        row = dict((m, (vn_int(a), vn_int(b))) for m, a, b in trend)[f"{start.month:02d}/{start.year}"]
        assert row == (want["total"], want["status"]["resolved"] + want["status"]["closed"])
    # the default period is this month, as /stats without a month
    assert_page_equals_stats(parse_page(body), await stats_of(officer, ""))
    # a month with no report: zeros and "chưa có", as /stats says
    status, body, _ = await get(base, params={"thang": "01/2020"})
    assert status == 200
    assert_page_equals_stats(parse_page(body), await stats_of(officer, "01/2020"))
    assert parse_page(body)["figure"]["total"] == "0"


# ---------------------------------------------------------------- nothing private
NAME, PHONE, HAMLET = "Trần Thị Bích Ngọc", "0987654321", "ấp Hòa Long Bí Mật"
TEXT = "Cống thoát nước trước nhà bị nghẹt, nước tràn vào sân nhà tôi"
ANSWER = "Xã đã cử tổ công tác nạo vét cống, dự kiến xong trong tuần"


async def file_with_contact(p: Person) -> str:
    await p.say("/phananh")
    m = await p.expect("Bước 1/5")
    await p.press("fb:cat:giao-thong", message_id=m.message_id)
    await p.expect("Bước 2/5")
    await p.say(TEXT)
    await p.expect("Bước 3/5")
    await p.say("xa my khanh")
    await p.expect("Bước 4/5")
    await p.say(HAMLET)
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:give", message_id=m.message_id)
    m = await p.expect("Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15")
    await p.press("fb:consent:yes", message_id=m.message_id)
    await p.expect("họ và tên")
    await p.say(NAME)
    await p.expect("điện thoại")
    await p.say(PHONE)
    summary = await p.expect("Xem lại phản ánh")
    await p.press(button(summary, "fb:send:"), message_id=summary.message_id)
    receipt = await p.expect("Đã tiếp nhận phản ánh")
    return re.search(r"PA-\d{6}", receipt.text).group(0)


def private_absent(body: str, *, content_too: bool = True) -> None:
    text = html.unescape(body)
    for secret in (NAME, PHONE, "098 765 4321", "987654321", "Bích Ngọc", "0912 345 678"):
        assert secret not in text, secret
    if content_too:
        for secret in (TEXT, HAMLET, "Hòa Long Bí Mật", TEXT[:40]):
            assert secret not in text, secret


async def test_nothing_private_until_an_officer_decides_and_name_and_phone_never(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    citizen, officer = Person(d, 5101, name=NAME), Person(d, STAFF, user_id=OFFICER, name="Cán Bộ")
    code = await file_with_contact(citizen)
    card = await wait_card(fake_tg, code)
    url = f"http://127.0.0.1:{app.settings.http_port}/congkhai"

    status, body, _ = await get(url)
    assert status == 200 and code not in body  # not answered yet: counted, not listed
    assert parse_page(body)["figure"]["total"] == "1"
    private_absent(body)

    # the officer's answer quotes the citizen: the page shows the answer, not what it quotes
    await officer.say(f"Chào chị {NAME} ({PHONE}, {HAMLET}): {ANSWER}. Chị nêu: «{TEXT}». Tổ trưởng: 0912 345 678",
                      reply_to=card.message_id)
    await citizen.expect(ANSWER)
    status, body, _ = await get(url)
    assert code in body and ANSWER in html.unescape(body)
    assert results_page.MASK in body and results_page.PHONE_MASK in body  # the citizen's, and any other number
    assert "Phường Bình Đức" in body and "Giao thông" in body  # commune and category are public
    private_absent(body)

    # a citizen (or anyone outside the staff) cannot publish it
    await citizen.say(f"/congkhai {code}")
    await citizen.expect("chỉ dành cho cán bộ")
    intruder = Person(d, STAFF, user_id=6666, name="Người Lạ")
    await intruder.say(f"/congkhai {code}")
    await intruder.expect("chỉ dành cho cán bộ")
    assert app.db.call(lambda s: s.get(Ticket, 1).public_at) is None
    private_absent((await get(url))[1])

    # the officer publishes it: the words and hamlet appear, never the name or phone
    await officer.say(f"/congkhai {code}")
    await officer.expect(f"Đã công khai nội dung phản ánh {code}")
    status, body, _ = await get(url)
    shown = html.unescape(body)
    assert TEXT in shown and HAMLET in shown and ANSWER in shown
    private_absent(body, content_too=False)
    await officer.say(f"/congkhai {code}")
    await officer.expect("đã được công khai")

    # …and takes it back
    await officer.say(f"/congkhai {code} tắt")
    await officer.expect(f"Đã thôi công khai nội dung phản ánh {code}")
    status, body, _ = await get(url)
    assert ANSWER in html.unescape(body)
    private_absent(body)
    await officer.say(f"/congkhai {code} hello")
    await officer.expect("Chưa hiểu «hello»")

    audit = app.db.call(lambda s: s.execute(sa.select(AuditLog.actor, AuditLog.action, AuditLog.target)
                                            .where(AuditLog.action.in_(("ticket_public", "ticket_unpublic", "refused")))
                                            .order_by(AuditLog.id)).all())
    assert [(a, t) for _, a, t in audit if a != "refused"] == [("ticket_public", code), ("ticket_unpublic", code)]
    assert {(actor, t) for actor, a, t in audit if a == "refused"} >= {("telegram:5101", "/congkhai"),
                                                                         ("telegram:6666", "/congkhai")}

    # /xoadulieu takes the decision back with the citizen's words
    await officer.say(f"/congkhai {code}")
    await officer.expect("Đã công khai")
    await citizen.say("/xoadulieu")
    ask = await citizen.expect("Xóa dữ liệu cá nhân của bạn")
    await citizen.press(button(ask, "priv:yes:"), message_id=ask.message_id)
    await citizen.expect("Đã xóa dữ liệu cá nhân của bạn")
    assert app.db.call(lambda s: s.get(Ticket, 1).public_at) is None
    body = (await get(url))[1]
    private_absent(body)  # the answer quoted the name: nothing left to mask it with, so the answer is not shown
    assert code in body and results_page.FORGOTTEN in html.unescape(body) and ANSWER not in html.unescape(body)


async def test_a_place_not_among_the_102_units_is_not_shown(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    now = app.services.clock()

    def seed(s):
        t, _ = ticketing.create_ticket(s, app.settings, now, channel="telegram", chat_id="1", user_id="1", draft_key="d1",
                                       category=ticketing.categories(app.settings)[0], description="x",
                                       commune_name="Xóm Nhà Ông Bảy Tự Gõ", commune_input="Xóm Nhà Ông Bảy Tự Gõ")
        ticketing.answer(s, app.settings, now, t, "Đã chuyển xã kiểm tra", "telegram:9001", "Cán bộ")

    app.db.call(seed)
    status, body, _ = await get(f"http://127.0.0.1:{app.settings.http_port}/congkhai")
    assert status == 200 and "Đã chuyển xã kiểm tra" in body and "Ông Bảy" not in body
    assert results_page.UNPLACED in body and parse_page(body)["unit"][""] == 1


# ---------------------------------------------------------------- safety
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'


async def test_html_in_every_field_is_shown_as_text(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg, agency_name="Văn phòng " + EVIL, agency_contact=EVIL,
                                         ticket_categories=f"Giao thông {EVIL}:5, Điện:3"))
    now = app.services.clock()
    units = __import__("knowledge.communes", fromlist=["load"]).load()

    def seed(s):
        cats = ticketing.categories(app.settings)
        for i, cat in enumerate(cats):
            t, _ = ticketing.create_ticket(s, app.settings, now, channel="telegram", chat_id=str(i), user_id=str(i),
                                           draft_key=f"d{i}", category=cat, description="Nội dung " + EVIL,
                                           commune_code=units[0].code, commune_name=units[0].name,
                                           commune_input=EVIL, hamlet="Ấp " + EVIL, contact_name="Tên " + EVIL,
                                           contact_phone="0912345678", consent_at=now)
            ticketing.answer(s, app.settings, now, t, "Trả lời " + EVIL, "telegram:9001", EVIL)
            ticketing.set_status(s, app.settings, now, t, "closed", "telegram:9001", reason="Kết quả " + EVIL)
            t.public_at = now  # published: its words and hamlet are on the page too
            s.add(t)

    app.db.call(seed)
    url = f"http://127.0.0.1:{app.settings.http_port}/congkhai"
    status, body, headers = await get(url)
    assert status == 200
    assert "<script" not in body and "<img" not in body and "onerror=alert" not in body.replace("onerror=alert(1)&gt;", "")
    escaped = html.escape(EVIL, quote=True)
    for field in ("Văn phòng ", "Nội dung ", "Ấp ", "Trả lời ", "Kết quả ", "Giao thông "):
        assert html.escape(field) + escaped in body or field + escaped in body, field
    # the query string is never echoed, whatever it holds
    for query in ({"thang": EVIL}, {"thang": "2026-10", "trang": EVIL}, {"trang": "-5"}, {"thang": "13/2026"},
                  {"thang": "x" * 5000}):
        status, body, _ = await get(url, params=query)
        assert status in (200, 400) and "<script" not in body and EVIL not in body, query
    assert (await get(url, params={"thang": "13/2026"}))[0] == 400
    assert "Tháng chưa đúng" in (await get(url, params={"thang": EVIL}))[1]


async def test_only_get_a_csp_and_no_third_party_url(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    url = f"http://127.0.0.1:{app.settings.http_port}/congkhai"
    import aiohttp

    async with aiohttp.ClientSession() as s:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            async with s.request(method, url, data=b"thang=2026-10") as r:
                assert r.status == 405, method
        async with s.head(url) as r:
            assert r.status == 200
        async with s.get(url) as r:
            body = await r.text()
            csp = r.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "style-src 'self'" in csp and "script-src" not in csp
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        for asset in re.findall(r'(?:href|src)="([^"#]+)"', body):
            assert asset.startswith("/congkhai"), asset  # nothing from another host
            async with s.get(f"http://127.0.0.1:{app.settings.http_port}{asset.replace('&amp;', '&')}") as r:
                assert r.status == 200, asset
    assert "<script" not in body and "http://" not in body.replace('xmlns="http://www.w3.org/2000/svg"', "")


async def test_a_flood_from_one_address_is_refused_others_still_served(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    url = f"http://127.0.0.1:{app.settings.http_port}/congkhai"
    import aiohttp

    async def one(s, addr):
        async with s.get(url, headers={"X-Forwarded-For": f"198.51.100.7, {addr}"}) as r:
            return r.status, await r.text(), r.headers.get("Retry-After")

    async with aiohttp.ClientSession() as s:
        results = await asyncio.gather(*(one(s, "203.0.113.5") for _ in range(45)))
        codes = [c for c, _, _ in results]
        assert codes.count(200) == 30 and codes.count(429) == 15
        refused = next(r for r in results if r[0] == 429)
        assert "Tải trang quá nhanh" in refused[1] and int(refused[2]) >= 1
        assert (await one(s, "203.0.113.6"))[0] == 200  # another citizen is not affected
        async with s.get(f"http://127.0.0.1:{app.settings.http_port}/healthz") as r:
            assert r.status == 200


def test_the_address_limiter_refills_and_stays_bounded():
    clock = [0.0]
    lim = AddressLimiter(per_minute=60, burst=2, max_addresses=3, clock=lambda: clock[0])
    assert [lim.take("a") for _ in range(3)] == [0, 0, 1.0]
    clock[0] += 1.0
    assert lim.take("a") == 0 and lim.take("a") > 0
    for addr in "bcde":
        lim.take(addr)
    assert len(lim._buckets) == 3 and "a" not in lim._buckets
