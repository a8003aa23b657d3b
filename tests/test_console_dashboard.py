"""The console's dashboard over real HTTP on SQLite and PostgreSQL: its figures equal `/stats` asked in the
officers' Telegram group (one computation: bot.features.results.figures), per month; a commune officer's
dashboard counts only their communes; the drill-down lists the counted tickets; CSV and XLSX exports hold the
same tickets with phone numbers masked as `/export` masks them."""
from __future__ import annotations

import csv
import html
import io
import re

import pytest

from bot.features.console import accounts
from bot.features.tickets import service as ticketing
from bot.features.tickets.reports import CSV_COLUMNS
from bot.storage.tickets import STATUS_LABELS
from tests.console_helpers import PASSWORD, Client
from tests.results_helpers import expected, month_start, parse_stats, plant, vn_int
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, plain, ticket_settings


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database of this test's own on each engine (PostgreSQL: conftest's `own_pg`, skipped or failed as there)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dash.sqlite3'}"
    return request.getfixturevalue("own_pg")


def parse_dashboard(body: str) -> dict:
    return {
        "figure": {k: html.unescape(v) for k, v in re.findall(r'data-figure="([\w-]+)">([^<]*)<', body)},
        "status": {k: vn_int(v) for k, v in re.findall(r'data-status="(\w+)">([^<]*)<', body)},
        "category": {html.unescape(k): vn_int(v) for k, v in re.findall(r'data-category="([^"]*)">([^<]*)<', body)},
        "commune": {html.unescape(k): vn_int(v) for k, v in re.findall(r'data-commune="([^"]*)">([^<]*)<', body)},
    }


async def test_dashboard_equals_stats_and_exports_mask_phones(tmp_path, fake_tg, make_app, database_url):
    from openpyxl import load_workbook

    app = await make_app(ticket_settings(tmp_path, fake_tg, database_url=database_url))
    now = app.services.clock()
    planted = app.db.call(plant, app.settings, now)
    this_month = ticketing.local_date(now).replace(day=1)
    unit = next(p.commune_code for p in planted  # a commune with reports this month
                if p.commune_code and ticketing.local_date(p.created).replace(day=1) == this_month)
    app.db.call(accounts.save_account, now, login="lanhdao", name="Lãnh Đạo", role="supervisor", password=PASSWORD)
    app.db.call(accounts.save_account, now, login="canbo.xa", name="Cán Bộ Xã", communes=[unit], password=PASSWORD)

    def with_phone(session):
        ticketing.create_ticket(session, app.settings, now, channel="telegram", chat_id="6001", user_id="6001",
                                draft_key="phone", category=ticketing.categories(app.settings)[0],
                                description="Có số điện thoại", commune_code=None, commune_name="Nơi khác",
                                contact_name="Người Dân", contact_phone="0912345678", consent_at=now)
    app.db.call(with_phone)
    base = f"http://127.0.0.1:{app.settings.http_port}"
    officer = Person(Driver(fake_tg, app), STAFF, user_id=OFFICER, name="Cán Bộ")
    today = ticketing.local_date(now)
    sup, xa = Client(base), Client(base)
    try:
        await sup.login("lanhdao")
        await xa.login("canbo.xa")
        for back in range(3):
            start = month_start(today, back)
            status, body = await sup.get(f"/canbo/thong-ke?thang={start:%Y-%m}")
            assert status == 200
            page = parse_dashboard(body)
            await officer.say(f"/stats {start.month}/{start.year}")
            stats = parse_stats(plain((await officer.expect("Thống kê phản ánh")).text))
            sections = stats["sections"]
            assert vn_int(page["figure"]["total"]) == stats["total"]
            assert {STATUS_LABELS[s]: n for s, n in page["status"].items() if n} == sections["Theo trạng thái:"]
            assert page["category"] == sections["Theo loại việc:"]
            for name, n in sections["Theo xã, phường (nhiều nhất):"].items():
                if name in page["commune"]:
                    assert page["commune"][name] == n
            if stats["on_time"] == "chưa có số liệu":
                assert page["figure"]["on-time"] == "chưa có"
            else:
                assert stats["on_time"].split("(")[1].startswith(page["figure"]["on-time"])
            if stats["rating"] == "chưa có đánh giá":
                assert page["figure"]["rating"] == "chưa có"
            else:
                assert page["figure"]["rating"] == stats["rating"].split(" ")[0]
            # the commune officer's dashboard: only that commune
            want = expected(planted, start)
            _, body = await xa.get(f"/canbo/thong-ke?thang={start:%Y-%m}")
            assert vn_int(parse_dashboard(body)["figure"]["total"]) == want["unit"].get(unit, 0)
        # drill-down: the commune's bar links to the inbox of exactly those tickets
        _, body = await sup.get("/canbo/thong-ke")
        link = html.unescape(re.search(rf'href="(/canbo/hop-thu\?[^"]*xa={unit}[^"]*)"', body).group(1))
        _, inbox = await sup.get(link)
        assert vn_int(re.search(r'data-figure="total">([^<]*)<', inbox).group(1)) == expected(planted, month_start(today, 0))["unit"][unit]
        # 12 months of trend, SVG, server-rendered
        assert body.count('class="received"') == 12 and "<svg" in body
        # exports: the same tickets as the dashboard, phones masked
        total = vn_int(parse_dashboard(body)["figure"]["total"])
        status, raw = await sup.get("/canbo/thong-ke/xuat.csv")
        assert status == 200
        rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
        assert rows[0] == CSV_COLUMNS and len(rows) - 1 == total
        assert "0912345678" not in raw and "09xx xxx 678" in raw
        async with sup.http.get(base + "/canbo/thong-ke/xuat.xlsx") as r:
            assert r.status == 200 and "spreadsheetml" in r.headers["Content-Type"]
            wb = load_workbook(io.BytesIO(await r.read()))
        sheet = list(wb.active.iter_rows(values_only=True))
        assert list(sheet[0]) == CSV_COLUMNS and len(sheet) - 1 == total
        cells = [str(c) for row in sheet for c in row if c is not None]
        assert "09xx xxx 678" in " ".join(cells) and "0912345678" not in " ".join(cells)
        # the commune officer's export: only their commune
        _, raw = await xa.get("/canbo/thong-ke/xuat.csv")
        codes = {r[4] for r in list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))[1:]}
        assert codes == {unit}
    finally:
        await sup.close()
        await xa.close()
