"""What officers write and read in broadcasts: the settings (topics, quiet window, send rates), the communes
(knowledge.communes: the tickets' finder), the scheduling syntax ("... lúc 07:00 25/12/2026") and numbers and
durations in Vietnamese."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from bot.config import Settings, parse_quiet, parse_topics
from bot.features.broadcasts import texts as T
from bot.kernel.channel import CHANNELS
from bot.kernel.jobs import LOCAL_TZ
from knowledge.numbers import vn_number


# ------------------------------------------------------------------ configuration helpers
def topics(settings: Settings) -> dict[str, str]:
    """BROADCAST_TOPICS "ntm=Tin nông thôn mới; ocop=…" -> {"ntm": "Tin nông thôn mới", …} (in order)."""
    return dict(_parse_topics(settings.broadcast_topics))


def _parse_topics(value: str) -> tuple[tuple[str, str], ...]:
    return parse_topics(value)  # validated at start-up


def quiet_window(settings: Settings) -> tuple[dt.time, dt.time] | None:
    """BROADCAST_QUIET_HOURS "21:00-07:00" -> (21:00, 07:00); empty -> None (never quiet)."""
    return parse_quiet(settings.broadcast_quiet_hours or "")


def in_quiet(settings: Settings, now: dt.datetime) -> bool:
    window = quiet_window(settings)
    if window is None:
        return False
    start, end = window
    t = now.astimezone(LOCAL_TZ).time()
    return start <= t < end if start < end else (t >= start or t < end)


def quiet_ends(settings: Settings, now: dt.datetime) -> dt.datetime:
    """When the quiet window containing `now` ends (now itself if not quiet)."""
    window = quiet_window(settings)
    if window is None or not in_quiet(settings, now):
        return now
    local = now.astimezone(LOCAL_TZ)
    end = local.replace(hour=window[1].hour, minute=window[1].minute, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end.astimezone(dt.timezone.utc)


def quiet_label(settings: Settings) -> str:
    window = quiet_window(settings)
    return f"{window[0]:%H:%M}–{window[1]:%H:%M}" if window else ""


def channel_rate(settings: Settings, channel: str) -> float:
    """Broadcast messages a second on a channel (its `ChannelSpec.broadcast_rate`)."""
    return CHANNELS.broadcast_rate(settings, channel)


def local_str(when: dt.datetime) -> str:
    return when.astimezone(LOCAL_TZ).strftime("%H:%M ngày %d/%m/%Y")


def number(n: int) -> str:
    return vn_number(n)


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{max(seconds, 1)} giây"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} phút" + (f" {sec} giây" if sec and minutes < 10 else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} giờ" + (f" {minutes} phút" if minutes else "")


# ------------------------------------------------------------------ communes (knowledge.communes: the tickets' finder)
@dataclass(frozen=True)
class Place:
    code: str
    name: str  # "Phường Bình Đức"
    label: str  # shown when choosing: "Phường Bình Đức (gồm xã Mỹ Khánh cũ)"


def commune_name(code: str | None) -> str | None:
    from knowledge.communes import default_finder

    commune = default_finder().by_code.get(code or "")
    return commune.name if commune else None


def find_commune(text: str) -> tuple[bool, list[Place]]:
    """(sure, places): one sure match, or choices to offer (empty: nothing close)."""
    from knowledge.communes import default_finder

    text = (text or "").strip()
    if not text or len(text) > 100:
        return False, []
    found = default_finder().find(text)
    places = [Place(c.commune.code, c.commune.name, c.label) for c in found.candidates]
    if found.kind != "one":
        # The finder offers "Xã Hòa Hưng" next to "Xã Mỹ Hòa Hưng" for "my hoa hung"; the full current name
        # typed exactly (with or without "xã"/"phường") is sure.
        from knowledge.normalize import fold

        typed = re.sub(r"^(?:xa|phuong|dac khu)\s+", "", fold(text))
        exact = [p for p in places if p.label == p.name and re.sub(r"^(?:xa|phuong|dac khu)\s+", "", fold(p.name)) == typed]
        if len(exact) == 1:
            return True, exact
    return found.kind == "one", places


# ------------------------------------------------------------------ scheduling syntax
_WHEN = re.compile(
    r"\s*\b(?:lúc|luc|vào lúc|vao luc)\s+"
    r"(?:(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})|(?P<d2>\d{1,2})/(?P<mo2>\d{1,2})/(?P<y2>\d{4}))"
    r"(?:\s+|T)(?P<h>\d{1,2})\s*[:hg]\s*(?P<mi>\d{2})\s*$",
    re.IGNORECASE,
)
# Looks like an attempt at a date (has a year) but is not one: say so rather than send at the wrong time.
_WHEN_LOOSE = re.compile(r"\s\b(?:lúc|luc)\s+(?=[\d/:\-hg\sT]*\d{4})[\d/:\-hg\sT]{6,}$", re.IGNORECASE)


def parse_schedule(text: str, now: dt.datetime) -> tuple[str, dt.datetime | None, str | None]:
    """"Nội dung lúc 2026-12-01 07:30" -> ("Nội dung", 2026-12-01 00:30 UTC, None); an error text on bad input."""
    text = unicodedata.normalize("NFC", text or "").rstrip()
    m = _WHEN.search(text)
    if not m:
        loose = _WHEN_LOOSE.search(text)
        if loose:
            return text, None, T.BC_SCHEDULE_BAD.format(text=loose.group(0).strip())
        return text, None, None
    g = m.groupdict()
    try:
        y, mo, d = (int(g["y"]), int(g["mo"]), int(g["d"])) if g["y"] else (int(g["y2"]), int(g["mo2"]), int(g["d2"]))
        when = dt.datetime(y, mo, d, int(g["h"]), int(g["mi"]), tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)
    except ValueError:
        return text, None, T.BC_SCHEDULE_BAD.format(text=m.group(0).strip())
    if when <= now:
        return text, None, T.BC_SCHEDULE_PAST.format(when=local_str(when))
    if when - now > dt.timedelta(days=366):
        return text, None, T.BC_SCHEDULE_FAR
    return text[: m.start()].rstrip(), when, None
