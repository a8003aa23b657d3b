"""Working days and dates as officers and citizens read them: Vietnam's public holidays (lunar ones included),
the agency's own days off (TICKET_HOLIDAYS), due dates counted in working days."""
from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from bot.config import Settings, parse_holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WEEKDAYS = ["thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật"]


@functools.lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[dt.date]:
    """Vietnam's public holidays of a year, lunar ones (Tết, Giỗ Tổ Hùng Vương) and substitute days included."""
    import holidays

    return frozenset(holidays.country_holidays("VN", years=year))


def is_working_day(day: dt.date, settings: Settings) -> bool:
    once, yearly = parse_holidays(settings.ticket_holidays)  # local days off on top (validated at start-up)
    return (day.weekday() < 5 and day not in _national_holidays(day.year) and day not in once
            and (day.month, day.day) not in yearly)


def add_working_days(start: dt.date, n: int, settings: Settings) -> dt.date:
    """The n-th working day after `start` (the day of filing does not count)."""
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, settings):
            n -= 1
    return day


def working_days_between(a: dt.date, b: dt.date, settings: Settings) -> int:
    """Working days after a up to and including b (0 if b <= a)."""
    n, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        if is_working_day(day, settings):
            n += 1
    return n


def local_date(t: dt.datetime) -> dt.date:
    return t.astimezone(LOCAL_TZ).date()


def fmt_date(d: dt.date, weekday: bool = False) -> str:
    s = d.strftime("%d/%m/%Y")
    return f"{WEEKDAYS[d.weekday()]}, {s}" if weekday else s


def fmt_time(t: dt.datetime) -> str:
    return t.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
