"""The public results page in tests: reports of several months planted through the ticket functions, the page
and /stats read back and parsed, so a test can say they agree (and with what was planted)."""
from __future__ import annotations

import collections
import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.features.tickets import calendar
from bot.features.tickets import service as ticketing
from bot.storage.tickets import CLOSED, IN_PROGRESS, NEED_INFO, NEW, RESOLVED, STATUS_LABELS
from knowledge import communes

UTC = dt.timezone.utc


@dataclass
class Planted:
    created: dt.datetime
    category: str
    commune_code: str | None
    status: str
    rating: int | None


def month_start(today: dt.date, back: int) -> dt.date:
    y, m = today.year, today.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


def plant(session: Any, settings: Any, now: dt.datetime, months: int = 4) -> list[Planted]:
    """Reports in the current month and the `months - 1` before it, in every state, with ratings, in several
    communes and categories (one with a place that is not one of the 102 units)."""
    cats = ticketing.categories(settings)
    units = communes.load()
    outcomes = [NEW, "answered", RESOLVED, CLOSED, NEED_INFO, CLOSED, "reopened", RESOLVED]
    out: list[Planted] = []
    today = ticketing.local_date(now)
    n = 0
    for back in range(months - 1, -1, -1):
        first = month_start(today, back)
        count = 3 + (back * 2) % 5  # 3, 5, 7, 4 … reports a month
        for i in range(count):
            n += 1
            if back == 0:
                created = now - dt.timedelta(minutes=30 * (i + 1))
            else:
                local = dt.datetime.combine(first + dt.timedelta(days=(3 * i) % 27), dt.time(8 + i % 9),
                                            calendar.LOCAL_TZ)
                created = local.astimezone(UTC)
            cat = cats[n % len(cats)]
            unit = None if n % 6 == 0 else units[(n * 7) % 5]  # a few communes, so counts add up
            t, _ = ticketing.create_ticket(
                session, settings, created, channel="telegram", chat_id=str(70_000 + n), user_id=str(70_000 + n),
                draft_key=f"plant:{n}", category=cat, description=f"Nội dung riêng số {n} của người dân",
                commune_code=unit.code if unit else None, commune_name=unit.name if unit else f"Xóm tự gõ {n}",
                hamlet=f"Ấp riêng {n}")
            outcome = outcomes[n % len(outcomes)]
            # handled 1 to 20 days later (this month's: within the hour, never in the future)
            later = created + (dt.timedelta(minutes=10) if back == 0 else dt.timedelta(days=1 + n % 20))
            rating = None
            if outcome != NEW:
                ticketing.answer(session, settings, created + dt.timedelta(minutes=5), t,
                                 f"Trả lời công khai số {n}", "telegram:9001", "Cán bộ")
            if outcome == NEED_INFO:
                ticketing.set_status(session, settings, later, t, NEED_INFO, "telegram:9001", reason="cần ảnh")
            if outcome in (RESOLVED, CLOSED, "reopened"):
                ticketing.set_status(session, settings, later, t, RESOLVED, "telegram:9001")
            if outcome in (CLOSED, "reopened"):
                ticketing.set_status(session, settings, later, t, CLOSED, "telegram:9001", reason=f"Kết quả số {n}")
                rating = 2 if outcome == "reopened" else 3 + n % 3
                ticketing.rate(session, settings, later + dt.timedelta(hours=1), t, rating, "telegram:x")
            status = {"answered": IN_PROGRESS, "reopened": IN_PROGRESS}.get(outcome, outcome)
            assert t.status == status, (outcome, t.status)
            out.append(Planted(created, cat.label, unit.code if unit else None, status, rating))
    return out


def expected(planted: list[Planted], start: dt.date) -> dict[str, Any]:
    """What the page must say for the month starting `start`, from what was planted (not from the code)."""
    rows = [p for p in planted if ticketing.local_date(p.created).replace(day=1) == start]
    statuses = collections.Counter(p.status for p in rows)
    ratings = [p.rating for p in rows if p.rating]
    return {
        "total": len(rows),
        "status": {s: statuses[s] for s in (NEW, IN_PROGRESS, NEED_INFO, RESOLVED, CLOSED)},
        "category": dict(collections.Counter(p.category for p in rows)),
        "unit": dict(collections.Counter(p.commune_code for p in rows if p.commune_code)),
        "unplaced": sum(1 for p in rows if not p.commune_code),
        "rating": (sum(ratings), len(ratings)),
    }


# ---------------------------------------------------------------- reading what people read
def vn_int(text: str) -> int:
    return int(text.strip().replace(".", ""))


def parse_page(body: str) -> dict[str, Any]:
    """The figures of the page, by the data- attributes the page puts on them."""
    fig = {k: html.unescape(v) for k, v in re.findall(r'data-figure="([\w-]+)">([^<]*)<', body)}
    on_time_note = re.search(r'data-figure="on-time">[^<]*</span><span class="note">([^<]*)<', body)
    rating_note = re.search(r'data-figure="rating">[^<]*</span><span class="note">([^<]*)<', body)
    return {
        "figure": fig,
        "status": {k: vn_int(v) for k, v in re.findall(r'data-status="(\w+)">([^<]*)<', body)},
        "category": {html.unescape(k): vn_int(v) for k, v in re.findall(r'data-category="([^"]*)">([^<]*)<', body)},
        "commune": {html.unescape(k): vn_int(v) for k, v in re.findall(r'data-commune="([^"]*)">([^<]*)<', body)},
        "unit": {k: vn_int(v) for k, v in re.findall(r'data-unit="(\d*)">([^<]*)<', body)},
        "on_time_note": on_time_note.group(1) if on_time_note else "",
        "rating_note": rating_note.group(1) if rating_note else "",
    }


def parse_stats(text: str) -> dict[str, Any]:
    """/stats as an officer reads it: the total, each section's "• name: n" lines, on-time and rating lines."""
    out: dict[str, Any] = {"sections": {}}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if m := re.match(r"Tổng số: ([\d.]+)", line):
            out["total"] = vn_int(m.group(1))
        elif line.startswith("Theo ") and line.endswith(":"):
            section = line
            out["sections"][section] = {}
        elif line.startswith("• ") and section and ": " in line:
            name, _, n = line[2:].rpartition(": ")
            out["sections"][section][name] = vn_int(n)
        elif line.startswith("Xử lý đúng hạn:"):
            out["on_time"] = line.split(":", 1)[1].strip()
        elif line.startswith("Đánh giá trung bình:"):
            out["rating"] = line.split(":", 1)[1].strip()
    return out


def assert_page_equals_stats(page: dict[str, Any], stats: dict[str, Any]) -> None:
    sections = stats["sections"]
    by_status = sections["Theo trạng thái:"]
    assert vn_int(page["figure"]["total"]) == stats["total"]
    assert {STATUS_LABELS[s]: n for s, n in page["status"].items() if n} == by_status
    assert vn_int(page["figure"]["working"]) == sum(by_status.get(STATUS_LABELS[s], 0) for s in (NEW, IN_PROGRESS, NEED_INFO))
    assert vn_int(page["figure"]["resolved"]) == by_status.get(STATUS_LABELS[RESOLVED], 0)
    assert vn_int(page["figure"]["closed"]) == by_status.get(STATUS_LABELS[CLOSED], 0)
    assert {k: n for k, n in page["category"].items() if n} == sections["Theo loại việc:"]
    # /stats lists the ten communes with most reports by the name stored (a typed name if it was not found); the
    # page's chart lists the 102 units only: every unit /stats names has the same count on the page
    communes_stats = sections["Theo xã, phường (nhiều nhất):"]
    units = {c.name for c in communes.load()}
    for name, n in communes_stats.items():
        if name in units:
            assert page["commune"].get(name) == n, (name, n, page["commune"])
    # on time: /stats "ok/n (pct; …)", the page "pct" and "ok/n phản ánh …"
    if stats["on_time"] == "chưa có số liệu":
        assert page["figure"]["on-time"] == "chưa có"
    else:
        m = re.match(r"([\d.]+)/([\d.]+) \(([\d,]+%)", stats["on_time"])
        assert m, stats["on_time"]
        assert page["figure"]["on-time"] == m.group(3)
        assert page["on_time_note"].startswith(f"{m.group(1)}/{m.group(2)} ")
    if stats["rating"] == "chưa có đánh giá":
        assert page["figure"]["rating"] == "chưa có"
    else:
        m = re.match(r"([\d,]+)/5 \(([\d.]+) lượt\)", stats["rating"])
        assert m, stats["rating"]
        assert page["figure"]["rating"] == f"{m.group(1)}/5"
        assert page["rating_note"].startswith(f"{m.group(2)} lượt")


async def get(url: str, **kw: Any) -> tuple[int, str, Any]:
    async with aiohttp.ClientSession() as s:
        async with s.get(url, **kw) as r:
            return r.status, await r.text(), r.headers
