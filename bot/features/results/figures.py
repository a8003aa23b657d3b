"""The figures of a period of reports: one computation for `/stats` and the public page, so they cannot disagree.

A report belongs to the month it was sent in (local time, Asia/Ho_Chi_Minh). "Today" decides whether an open
report is already late (on-time rate), so both callers pass the same clock's date.
"""
from __future__ import annotations

import collections
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Iterable

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.features.tickets import texts as T
from bot.features.tickets.calendar import LOCAL_TZ, local_date
from bot.storage.tickets import CLOSED, IN_PROGRESS, NEED_INFO, NEW, RESOLVED, Ticket
from knowledge.normalize import fold
from knowledge.numbers import vn_number

STATUS_ORDER = (NEW, IN_PROGRESS, NEED_INFO, RESOLVED, CLOSED)
WORKING = (NEW, IN_PROGRESS, NEED_INFO)  # received and not yet resolved: "đang giải quyết"

# Only what the figures need: never the citizen's words or contact.
_COLUMNS = (Ticket.id, Ticket.status, Ticket.category_label, Ticket.commune_code, Ticket.commune_name,
            Ticket.due_date, Ticket.created_at, Ticket.resolved_at, Ticket.closed_at, Ticket.close_reason, Ticket.rating)


def parse_month(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """"" -> this month; "10/2026", "2026-10", "10", "thang 10" -> that month. (start, end) inclusive."""
    s = fold(text).replace("thang", "").strip()
    if not s or s == "nay":
        y, m = today.year, today.month
    else:
        mm = re.fullmatch(r"(\d{1,2})(?:\s+|/|-)?(\d{4})?", s.replace(" nam ", " ")) or None
        iso = re.fullmatch(r"(\d{4})\s*-?\s*(\d{1,2})", s)
        if iso:
            y, m = int(iso.group(1)), int(iso.group(2))
        elif mm:
            m = int(mm.group(1))
            y = int(mm.group(2)) if mm.group(2) else (today.year if m <= today.month else today.year - 1)
        else:
            return None
        if not 1 <= m <= 12 or not 2000 <= y <= 9999:
            return None
    return month_span(y, m)


def percent(part: int, whole: int) -> str:
    """A share as people read it: "87,5%", "100%" (one decimal, none when it is whole)."""
    if not whole:
        return "0%"
    text = vn_number(100 * part / whole, 1)
    return (text[:-2] if text.endswith(",0") else text) + "%"


def month_span(year: int, month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def range_utc(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    lo = dt.datetime.combine(start, dt.time(0), LOCAL_TZ).astimezone(dt.timezone.utc)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), LOCAL_TZ).astimezone(dt.timezone.utc)
    return lo, hi


def on_time(t: Ticket, today: dt.date) -> bool | None:
    """Answered by its due date: True/False once it is known. None while it is open and not yet due, and for a
    ticket closed because the citizen erased their data before officers resolved it (nothing was answered).
    A reopened ticket (a low rating) is open again: it counts as answered only once it is resolved again."""
    if t.is_open:
        return False if t.due_date < today else None
    if t.resolved_at is None or (t.close_reason == T.ERASED_CLOSE_REASON and t.resolved_at == t.closed_at):
        return None
    return local_date(t.resolved_at) <= t.due_date


@dataclass
class Figures:
    """What happened to the reports sent in [start, end]."""

    start: dt.date
    end: dt.date
    total: int = 0
    by_status: collections.Counter[str] = field(default_factory=collections.Counter)  # status -> n (first seen first)
    by_category: collections.Counter[str] = field(default_factory=collections.Counter)  # category label -> n
    by_commune: collections.Counter[str] = field(default_factory=collections.Counter)  # name as stored (officers)
    by_unit: collections.Counter[str] = field(default_factory=collections.Counter)  # code of one of the 102 units -> n
    on_time_ok: int = 0
    on_time_known: int = 0
    rating_sum: int = 0
    rating_n: int = 0

    @property
    def unplaced(self) -> int:
        """Reports whose place is not one of the 102 units (not found, or not given)."""
        return self.total - sum(self.by_unit.values())

    @property
    def working(self) -> int:
        return sum(self.by_status[s] for s in WORKING)

    @property
    def resolved(self) -> int:
        return self.by_status[RESOLVED]

    @property
    def closed(self) -> int:
        return self.by_status[CLOSED]

    @property
    def rating_avg(self) -> float | None:
        return self.rating_sum / self.rating_n if self.rating_n else None

    def add(self, t: Ticket, today: dt.date) -> None:
        self.total += 1
        self.by_status[t.status] += 1
        self.by_category[t.category_label] += 1
        self.by_commune[t.commune_name or T.PLACE_UNKNOWN] += 1
        if t.commune_code:
            self.by_unit[t.commune_code] += 1
        ok = on_time(t, today)
        if ok is not None:
            self.on_time_known += 1
            self.on_time_ok += ok
        if t.rating:
            self.rating_sum += t.rating
            self.rating_n += 1


def _rows(session: Session, start: dt.date, end: dt.date, communes: Iterable[str] | None = None) -> Iterable[Ticket]:
    lo, hi = range_utc(start, end)
    q = (select(Ticket).options(sa.orm.load_only(*_COLUMNS))
         .where(Ticket.created_at >= lo, Ticket.created_at < hi).order_by(col(Ticket.id)))
    if communes is not None:
        q = q.where(col(Ticket.commune_code).in_(list(communes)))
    return session.exec(q).all()


def figures(session: Session, start: dt.date, end: dt.date, today: dt.date,
            communes: Iterable[str] | None = None) -> Figures:
    """The figures of the reports sent from `start` to `end` (local dates, inclusive); only those of `communes`
    when given (a commune officer's console dashboard)."""
    out = Figures(start, end)
    for t in _rows(session, start, end, communes):
        out.add(t, today)
    return out


def months_back(last: dt.date, n: int) -> list[tuple[dt.date, dt.date]]:
    """The n months ending with the month of `last`, oldest first."""
    y, m = last.year, last.month
    spans = []
    for _ in range(n):
        spans.append(month_span(y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return spans[::-1]


def monthly(session: Session, last: dt.date, n: int, today: dt.date,
            communes: Iterable[str] | None = None) -> list[Figures]:
    """The figures of each of the n months ending with `last`'s month (one query), oldest first."""
    spans = months_back(last, n)
    out = [Figures(a, b) for a, b in spans]
    by_month = {(f.start.year, f.start.month): f for f in out}
    for t in _rows(session, spans[0][0], spans[-1][1], communes):
        day = local_date(t.created_at)
        by_month[(day.year, day.month)].add(t, today)
    return out


def first_month(session: Session) -> dt.date | None:
    """The month of the first report ever received (the period picker starts there)."""
    first = session.exec(select(sa.func.min(Ticket.created_at))).one()
    if first is None:
        return None
    if first.tzinfo is None:  # SQLite hands back naive UTC
        first = first.replace(tzinfo=dt.timezone.utc)
    return local_date(first).replace(day=1)
