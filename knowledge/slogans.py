"""The campaign slogan library (knowledge/slogans.yaml), validated when loaded.

Every slogan must carry at least one source, and each source's verbatim quote must contain the slogan,
so only sourced slogans can reach citizens (/khauhieu, the slogan of the week).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge import yamlload

SLOGANS_PATH = Path(__file__).resolve().parent / "slogans.yaml"
KINDS = ("nguyên tắc", "phương châm", "mục tiêu", "phong trào", "khẩu hiệu")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


class SloganError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Source:
    doc: str
    date: dt.date
    issuer: str
    quote: str
    via: str = ""
    url: str = ""

    def cite(self) -> str:
        """"Kế hoạch 328/KH-UBND ngày 05/5/2023 của UBND tỉnh An Giang"."""
        return f"{self.doc} ngày {self.date.day:02d}/{self.date.month}/{self.date.year} của {self.issuer}"


@dataclass(frozen=True)
class Slogan:
    id: str
    text: str
    kind: str
    note: str
    sources: tuple[Source, ...]

    def render(self) -> str:
        """What a citizen sees (`**bold**` markup)."""
        parts = [f"📣 **{self.text}**"]
        if self.note:
            parts.append(self.note)
        parts.append("Nguồn: " + "; ".join(s.cite() for s in self.sources) + ".")
        return "\n\n".join(parts)


@dataclass(frozen=True)
class SloganLibrary:
    slogans: tuple[Slogan, ...]

    def get(self, slogan_id: str) -> Slogan | None:
        return next((s for s in self.slogans if s.id == slogan_id), None)

    def of_week(self, day: dt.date) -> Slogan:
        """The same slogan all week, the next one the week after (ISO weeks)."""
        year, week, _ = day.isocalendar()
        return self.slogans[(year * 53 + week) % len(self.slogans)]

    def after(self, slogan_id: str) -> Slogan:
        ids = [s.id for s in self.slogans]
        i = ids.index(slogan_id) if slogan_id in ids else -1
        return self.slogans[(i + 1) % len(self.slogans)]


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(text.split())


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def parse(data: Any) -> SloganLibrary:
    problems: list[str] = []
    items = data.get("slogans") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise SloganError(["tệp không có danh sách «slogans» nào"])
    seen: set[str] = set()
    out: list[Slogan] = []
    for n, item in enumerate(items, 1):
        where = f"khẩu hiệu thứ {n}"
        if not isinstance(item, dict):
            problems.append(f"{where}: không phải một mục")
            continue
        sid = str(item.get("id") or "")
        where = f"khẩu hiệu «{sid or n}»"
        text = str(item.get("text") or "").strip()
        kind = str(item.get("kind") or "").strip()
        if not _ID.match(sid):
            problems.append(f"{where}: id phải gồm chữ thường không dấu, số, dấu gạch ngang")
        elif sid in seen:
            problems.append(f"{where}: trùng id")
        seen.add(sid)
        if not text or len(text) > 300:
            problems.append(f"{where}: thiếu câu khẩu hiệu (hoặc dài quá 300 ký tự)")
        if kind not in KINDS:
            problems.append(f"{where}: kind phải là một trong {', '.join(KINDS)}")
        sources: list[Source] = []
        raw_sources = item.get("sources")
        if not isinstance(raw_sources, list) or not raw_sources:
            problems.append(f"{where}: không có nguồn (chỉ đưa vào câu có nguồn)")
            raw_sources = []
        for m, src in enumerate(raw_sources, 1):
            if not isinstance(src, dict):
                problems.append(f"{where}, nguồn {m}: không phải một mục")
                continue
            date = _date(src.get("date"))
            doc, issuer, quote = (str(src.get(k) or "").strip() for k in ("doc", "issuer", "quote"))
            if not doc or not issuer or date is None:
                problems.append(f"{where}, nguồn {m}: cần doc, issuer và date (YYYY-MM-DD)")
                continue
            if not quote:
                problems.append(f"{where}, nguồn {m}: cần trích dẫn nguyên văn (quote)")
                continue
            if text and _norm(text) not in _norm(quote):
                problems.append(f"{where}, nguồn {m}: trích dẫn không chứa nguyên văn câu khẩu hiệu")
                continue
            sources.append(Source(doc, date, issuer, " ".join(quote.split()), str(src.get("via") or ""), str(src.get("url") or "")))
        note = " ".join(str(item.get("note") or "").split())
        out.append(Slogan(sid, " ".join(text.split()), kind, note, tuple(sources)))
    if problems:
        raise SloganError(problems)
    return SloganLibrary(tuple(out))


def load(path: Path | str = SLOGANS_PATH) -> SloganLibrary:
    try:
        data = yamlload.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SloganError([f"không đọc được {path}: {err}"]) from err
    return parse(data)


@functools.lru_cache(maxsize=1)
def library() -> SloganLibrary:
    """The shipped library (loaded once)."""
    return load()
