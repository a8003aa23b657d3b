"""Find a commune-level unit of today's An Giang from what a citizen types.

Since 01/7/2025 An Giang has 102 units (85 xã, 14 phường, 3 đặc khu; NQ 1654/NQ-UBTVQH15) and no districts.
People still name their old commune, so every unit also answers to the former units it was formed from:
"xã Mỹ Khánh" finds Phường Bình Đức. Matching is on folded text (no diacritics), fuzzy (typos), and an
ambiguous name ("Vĩnh Hòa", "Phước Hưng", which was split three ways) gives numbered choices.

The data is `knowledge/communes.csv`: code, name, type, formed_from (the clause of NQ 1654 naming the
former units).

`find` says whether a match is certain (`Found.certain`: the name typed is exactly a unit's name, today's or
former) or only likely ("xa vin trach", a stray place word inside a sentence): the report asks "Có phải …?" then.
`outside_an_giang` recognises places of other provinces ("huyện Gò Công"), from the district-level units of all
63 provinces before 01/7/2025 in `knowledge/districts-2025-03.csv`: the GSO list (danhmuchanhchinh.gso.gov.vn) as
transcribed in GitHub daohoangson/dvhcvn `data/sorted.json` (data date 01/03/2025, commit eaddcea82fc3). Today's An
Giang joined the former provinces An Giang (89) and Kiên Giang (91) (NQ 202/2025/QH15).
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from knowledge.normalize import fold

CSV_PATH = Path(__file__).resolve().parent / "communes.csv"
TYPES = {"xa": "xã", "phuong": "phường", "thi tran": "thị trấn", "dac khu": "đặc khu", "huyen": "huyện"}
# Words people put before a name: "xã", "P.", "TT", "ấp … xã …" (the hamlet part is dropped by the windows).
_TYPE_WORDS = [("thi tran", "thi tran"), ("dac khu", "dac khu"), ("phuong", "phuong"), ("xa", "xa"),
               ("huyen", "huyen"), ("tt", "thi tran"), ("p", "phuong"), ("x", "xa"), ("dk", "dac khu")]
_NOISE = {"tai", "thuoc", "cu", "nay", "truoc", "day", "toi", "em", "nha", "minh"}
_PROVINCE = re.compile(r"\b(?:tinh )?an giang\b(?= *$)|\btinh an giang\b")

SURE = 88  # a match this good is taken without asking (if nothing else is as good)
POSSIBLE = 75  # below this a name is not offered at all
MAX_BONUS = 2 + 3 + 4 + 1  # what `find` may add to a phrase's similarity: after a kind word, whole text, kind, today's name
MAX_CHOICES = 5


@dataclass(frozen=True)
class FormerUnit:
    kind: str  # xã | phường | thị trấn | huyện
    name: str  # "Mỹ Khánh"
    district: str = ""  # disambiguation given by the resolution, e.g. "huyện Phú Tân"
    partial: bool = False  # only part of it went into this unit
    rest: bool = False  # … the part left after another unit took its share ("phần còn lại của xã Vĩnh Châu")

    @property
    def share(self) -> str:
        """How much of it went into the unit, as words before its label ("một phần ", "phần còn lại của ")."""
        return "một phần " if self.partial else "phần còn lại của " if self.rest else ""

    @property
    def label(self) -> str:
        s = f"{self.kind} {self.name}"
        return s + (f" ({self.district})" if self.district else "")


@dataclass(frozen=True)
class Commune:
    code: str
    name: str  # "Phường Bình Đức"
    kind: str  # Xã | Phường | Đặc khu
    former: tuple[FormerUnit, ...] = ()

    @property
    def bare(self) -> str:
        return self.name[len(self.kind):].strip()


@dataclass(frozen=True)
class Candidate:
    commune: Commune
    score: float
    via: FormerUnit | None = None  # matched through a former unit's name

    @property
    def label(self) -> str:
        """What a citizen is shown: "Phường Bình Đức (gồm xã Mỹ Khánh cũ)"."""
        if self.via is None:
            return self.commune.name
        return f"{self.commune.name} (gồm {self.via.share}{self.via.label} cũ)"


@dataclass
class Found:
    kind: str  # one | choices | none
    candidates: list[Candidate] = field(default_factory=list)
    certain: bool = False  # "one", and the name typed is exactly that unit's (or a former unit's) name

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


# ------------------------------------------------------------------ parsing the resolution's wording
_CLAUSE = re.compile(r"^NQ 1654 Điều 1 khoản \d+:\s*")
_SHARE = re.compile(r"(toàn bộ|một phần) diện tích tự nhiên, quy mô dân số của|phần còn lại của")
_AFTER = re.compile(r"\s*sau khi sắp xếp theo quy định tại.*?Điều này")
_KIND = re.compile(r"^(?:các\s+)?(xã|phường|thị trấn|huyện)\s+(.*)$")
_PAREN = re.compile(r"^(.*?)\s*\(([^)]*)\)\s*$")


def parse_former(formed_from: str) -> tuple[FormerUnit, ...]:
    """The former units named in a clause of NQ 1654 (empty for units kept as they were)."""
    text = _CLAUSE.sub("", formed_from.strip())
    if not text or text.startswith("không thực hiện sắp xếp"):
        return ()
    text = _AFTER.sub("", text)
    out: list[FormerUnit] = []
    # Split into (share, list) chunks: "toàn bộ … của A, B và C, một phần … của D"
    pieces = _SHARE.split(text)
    # pieces: [before, share1, list1, share2, list2, …] (the "phần còn lại" group has no capture: None)
    i = 1
    while i < len(pieces):
        share = pieces[i] or "phần còn lại"
        names = pieces[i + 1] if i + 1 < len(pieces) else ""
        i += 2
        partial, rest = share == "một phần", share == "phần còn lại"
        kind = ""
        for raw in re.split(r",\s*|\s+và\s+", names):
            raw = raw.strip(" ,.")
            if not raw:
                continue
            m = _KIND.match(raw)
            if m:
                kind, raw = m.group(1), m.group(2).strip()
            district = ""
            pm = _PAREN.match(raw)
            if pm:
                raw, district = pm.group(1).strip(), pm.group(2).strip()
            if raw and kind:
                out.append(FormerUnit(kind, raw, district, partial, rest))
    return tuple(out)


# Names the resolution does not spell out, that people still use: the communes of the former huyện Kiên Hải
# (khoản 94 names only the district) and spellings of the GSO list that differ from the resolution.
EXTRA_FORMER: dict[str, tuple[FormerUnit, ...]] = {
    "31108": tuple(FormerUnit("xã", n, "huyện Kiên Hải") for n in ("Hòn Tre", "Lại Sơn", "An Sơn", "Nam Du")),
    "30316": (FormerUnit("phường", "Vĩnh Ngươn"),),
    "30481": (FormerUnit("xã", "Ô Long Vỹ"),),
}


@functools.lru_cache(maxsize=4)
def load(path: str = str(CSV_PATH)) -> tuple[Commune, ...]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return tuple(
        Commune(r["code"], r["name"], r["type"], parse_former(r["formed_from"]) + EXTRA_FORMER.get(r["code"], ()))
        for r in rows
    )


# ------------------------------------------------------------------ finding
@dataclass(frozen=True)
class _Alias:
    folded: str  # folded bare name: "my khanh"
    kind: str  # folded kind: "xa"
    commune: Commune
    via: FormerUnit | None


class CommuneFinder:
    def __init__(self, communes: tuple[Commune, ...] | None = None):
        self.communes = communes if communes is not None else load()
        self.by_code = {c.code: c for c in self.communes}
        aliases: list[_Alias] = []
        for c in self.communes:
            aliases.append(_Alias(fold(c.bare), fold(c.kind), c, None))
            for f in c.former:
                aliases.append(_Alias(fold(f.name), fold(f.kind), c, f))
        self.aliases = aliases
        self._names = [a.folded for a in aliases]

    def _shortlist(self, phrases: list[str]) -> list[_Alias]:
        """The aliases some phrase comes near enough to for a score of POSSIBLE: the bonuses below add at most
        MAX_BONUS to a phrase's similarity, so an alias no phrase reaches POSSIBLE - MAX_BONUS with cannot
        be offered. rapidfuzz compares each phrase with every name in C; the few left are scored in full."""
        hits: set[int] = set()
        for phrase in phrases:
            for _, _, i in process.extract(phrase, self._names, scorer=fuzz.ratio, limit=None,
                                           score_cutoff=POSSIBLE - MAX_BONUS):
                hits.add(i)
        return [self.aliases[i] for i in sorted(hits)]

    def find(self, text: str) -> Found:
        folded = _PROVINCE.sub(" ", fold(text))
        words = folded.split()
        if not words:
            return Found("none")
        # Which kind the person named ("xã …", "phường …"), and the words that may be the name.
        kinds: set[str] = set()
        marks: set[int] = set()  # positions in `clean` right after a kind word
        clean: list[str] = []
        i = 0
        while i < len(words):
            for typed, kind in _TYPE_WORDS:
                n = len(typed.split())
                if words[i : i + n] == typed.split() and i + n < len(words):
                    kinds.add(kind)
                    marks.add(len(clean))
                    i += n
                    break
            else:
                if words[i] not in _NOISE:
                    clean.append(words[i])
                i += 1
        windows = [
            (" ".join(clean[start : start + n]), start in marks)
            for start in range(len(clean))
            for n in range(1, 5)
            if start + n <= len(clean)
        ]
        # What was typed as a name: the words after a kind word up to the next one ("xã Tân Phú Đông huyện …" ->
        # "tan phu dong"), or the whole text. A match is certain only when one of these is exactly its name.
        bounds = sorted(marks | {0, len(clean)})
        named = {" ".join(clean[a:b]) for a, b in zip(bounds, bounds[1:]) if a in marks}
        named.add(" ".join(clean))
        if not windows:
            return Found("none")
        best: dict[tuple[str, str], Candidate] = {}  # (commune code, via label) -> best candidate
        whole = " ".join(clean)
        plain = [p for p, marked in windows if not marked]
        after_kind = [p for p, marked in windows if marked]
        for alias in self._shortlist([p for p, _ in windows]):
            # The best window, after a kind word counting 2 more: the short-name rule below only lowers a score
            # that is not 100, so the best of each group, then the rule, is the best of the rule per window.
            score = 0.0
            for group, bonus in ((plain, 0), (after_kind, 2)):
                hit = process.extractOne(alias.folded, group, scorer=fuzz.ratio) if group else None
                if hit is not None:
                    s = hit[1]
                    if len(alias.folded) <= 4 and s < 100:
                        s *= 0.85  # short names ("an", "o lam") only count when typed exactly
                    score = max(score, s + bonus)
            if whole == alias.folded:
                score += 3
            if kinds:
                alias_kind = "xa" if alias.kind == "thi tran" and "xa" in kinds and "thi tran" not in kinds else alias.kind
                if alias_kind in kinds or (alias.kind == "huyen" and "huyen" in kinds):
                    score += 4
                else:
                    score -= 4
            if alias.via is None:
                score += 1  # today's name wins a tie with a former unit of the same name
            if score < POSSIBLE:
                continue
            key = (alias.commune.code, alias.via.label if alias.via else "")
            if key not in best or best[key].score < score:
                best[key] = Candidate(alias.commune, score, alias.via)
        if not best:
            return Found("none")
        ranked = sorted(best.values(), key=lambda c: -c.score)
        # One candidate per commune (its best reason), best first.
        seen: set[str] = set()
        unique: list[Candidate] = []
        for c in ranked:
            if c.commune.code not in seen:
                seen.add(c.commune.code)
                unique.append(c)
        top = unique[0]
        close = [c for c in unique if c.score >= top.score - 6]
        if len(close) > 1 and top.score >= SURE:
            # "xã Mỹ Hòa Hưng" also holds "Hòa Hưng": a name written out in full wins over the names inside it
            padded = f" {' '.join(words)} "
            name = fold(top.via.name if top.via else top.commune.bare)
            inner = [fold(c.via.name if c.via else c.commune.bare) for c in close[1:]]
            if f" {name} " in padded and all(n != name and f" {n} " in f" {name} " for n in inner):
                close = [top]
        if top.score >= SURE and len(close) == 1:
            exact = {a.folded for a in self.aliases if a.commune.code == top.commune.code and
                     (a.via == top.via or a.via is None)}
            return Found("one", [top], certain=bool(exact & named))
        return Found("choices", close[:MAX_CHOICES] if top.score >= SURE else unique[:MAX_CHOICES])


@functools.lru_cache(maxsize=1)
def default_finder() -> CommuneFinder:
    return CommuneFinder()


# ------------------------------------------------------------------ places of other provinces
DISTRICTS_CSV = Path(__file__).resolve().parent / "districts-2025-03.csv"
INSIDE_PROVINCES = ("89", "91")  # former An Giang and Kiên Giang: today's An Giang
# Words before a district- or province-level name: "huyện Gò Công", "tp. Cần Thơ", "tỉnh Đồng Tháp"
_LEVEL_WORDS = ("thanh pho", "thi xa", "huyen", "quan", "tinh", "tp", "tx")


@dataclass(frozen=True)
class OutsidePlace:
    typed: str  # "huyện Gò Công": the words as the person wrote them, with the kind word before them
    province: str  # where it was before 01/7/2025: "tỉnh Tiền Giang" ("" when the typed name is the province)
    folded: str = ""  # the name alone, folded: "go cong"


@functools.lru_cache(maxsize=1)
def _district_rows() -> tuple[dict[str, str], ...]:
    with open(DISTRICTS_CSV, encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@functools.lru_cache(maxsize=1)
def inside_districts() -> frozenset[str]:
    """The folded names of the districts, towns and cities of An Giang and Kiên Giang before 01/7/2025."""
    return frozenset(fold(r["district"]) for r in _district_rows() if r["province_code"] in INSIDE_PROVINCES)


@functools.lru_cache(maxsize=1)
def _inside_names() -> frozenset[str]:
    """Folded names of An Giang's places: its communes (today's and former), districts and provinces."""
    rows = _district_rows()
    inside: set[str] = {a.folded for a in default_finder().aliases} | inside_districts()
    inside |= {fold(r["province"]) for r in rows if r["province_code"] in INSIDE_PROVINCES}
    return frozenset(inside)


@functools.lru_cache(maxsize=1)
def _outside_names() -> tuple[dict[str, set[str]], dict[str, str]]:
    """(folded district name -> "tỉnh X" of the provinces outside An Giang having one, folded province name ->
    "tỉnh X"), leaving out every name that is also a place of An Giang (districts, today's and former communes)."""
    rows = _district_rows()
    inside = _inside_names()
    districts: dict[str, set[str]] = {}
    provinces: dict[str, str] = {}
    for r in rows:
        if r["province_code"] in INSIDE_PROVINCES:
            continue
        d, p = fold(r["district"]), fold(r["province"])
        province = f"{r['province_kind'].lower()} {r['province']}"
        if d not in inside and not d.isdigit():
            districts.setdefault(d, set()).add(province)
        if p not in inside:
            provinces[p] = province
    return districts, provinces


@functools.lru_cache(maxsize=1)
def _outside_starts() -> frozenset[str]:
    """The first words of every outside name: most words of a message start none, and are passed at once."""
    districts, provinces = _outside_names()
    return frozenset(name.split()[0] for name in [*districts, *provinces] if name)


def outside_an_giang(text: str) -> OutsidePlace | None:
    """A place of another province named in text: a district-level name after "huyện", "quận", "thị xã",
    "thành phố" ("huyện Gò Công"), or a province's name anywhere ("Tiền Giang"); names An Giang also has
    ("Châu Thành", "Phú Tân", "Long An") never count, nor a name whose first word ends one of An Giang's."""
    districts, provinces = _outside_names()
    starts = _outside_starts()
    words = fold(text).split()
    inside = _inside_names()
    for i in range(len(words)):
        if words[i] not in starts:
            continue
        # the word ends a name of An Giang ("Thoại Sơn là huyện…": "son la" is not Sơn La)
        if any(" ".join(words[j : i + 1]) in inside for j in range(max(0, i - 3), i)):
            continue
        for n in (4, 3, 2):  # one-word names never count: too many are common words
            if i + n > len(words):
                continue
            phrase = " ".join(words[i : i + n])
            if phrase in provinces:
                return OutsidePlace(_typed(text, phrase), "", phrase)
            if phrase in districts:
                before = " ".join(words[max(0, i - 2) : i])
                if any(before == w or before.endswith(" " + w) for w in _LEVEL_WORDS):
                    return OutsidePlace(_typed(text, phrase), " hoặc ".join(sorted(districts[phrase])[:2]), phrase)
    return None


def _typed(text: str, folded_phrase: str) -> str:
    """The words of text (with their diacritics, and the kind word before them) that fold to folded_phrase."""
    words = text.replace(",", " ").split()
    n = len(folded_phrase.split())
    for i in range(len(words) - n + 1):
        if fold(" ".join(words[i : i + n])) == folded_phrase:
            start = i
            for k in (2, 1):
                if i - k >= 0 and fold(" ".join(words[i - k : i])) in _LEVEL_WORDS:
                    start = i - k
                    break
            return " ".join(words[start : i + n])
    return folded_phrase
