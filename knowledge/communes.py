"""The 102 commune-level units of An Giang (knowledge/communes.csv) and a small finder.

    find("my hoa hung")      -> [Commune(code="30313", name="Xã Mỹ Hòa Hưng", …)]
    find("Mỹ Khánh")         -> units formed from a former commune of that name (Phường Bình Đức)
    by_code("30313")         -> Commune | None

Minimal on purpose (broadcast targeting): exact name, then former units named in the resolution, then
fuzzy spelling. The tickets feature may ship a richer finder; keep this API (`find`, `by_code`, `all_communes`).
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from knowledge.normalize import fold

CSV_PATH = Path(__file__).resolve().parent / "communes.csv"
_PREFIX = re.compile(r"^(?:xa|phuong|dac khu|thi tran|tt|p|x)\s+")


@dataclass(frozen=True)
class Commune:
    code: str  # GSO code
    name: str  # "Xã Mỹ Hòa Hưng", "Phường Long Xuyên", "Đặc khu Phú Quốc"
    type: str  # Xã | Phường | Đặc khu
    formed_from: str  # the clause of NQ 1654/NQ-UBTVQH15 naming the former units

    @property
    def base(self) -> str:
        """Folded name without its type word: "my hoa hung"."""
        return _PREFIX.sub("", fold(self.name))


@functools.lru_cache(maxsize=1)
def all_communes() -> tuple[Commune, ...]:
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        return tuple(Commune(r["code"], r["name"], r["type"], r["formed_from"]) for r in csv.DictReader(f))


@functools.lru_cache(maxsize=1)
def _index() -> tuple[dict[str, Commune], dict[str, list[Commune]], dict[str, str]]:
    by_code = {c.code: c for c in all_communes()}
    by_base: dict[str, list[Commune]] = {}
    for c in all_communes():
        by_base.setdefault(c.base, []).append(c)
    former = {c.code: " " + fold(c.formed_from.split(":", 1)[-1]) + " " for c in all_communes()}
    return by_code, by_base, former


def by_code(code: str) -> Commune | None:
    return _index()[0].get(code)


def find(text: str, limit: int = 5) -> list[Commune]:
    """Communes matching what a person typed, best first (empty when nothing is close)."""
    q = _PREFIX.sub("", fold(text or "")).strip()
    if not q or len(q) > 60:
        return []
    codes, by_base, former = _index()
    if q in by_base:
        return by_base[q][:limit]
    # A former commune named in the resolution ("… của xã Mỹ Khánh …").
    needle = f" {q} "
    hits = [codes[code] for code, text_ in former.items() if needle in text_]
    if hits:
        return hits[:limit]
    bases = {c.code: c.base for c in all_communes()}
    found = process.extract(q, bases, scorer=fuzz.ratio, score_cutoff=80, limit=limit)
    return [codes[code] for _, _, code in found]
