"""Does a message report a local problem ("đường ấp 3 bị sụt lún mấy tháng rồi không ai sửa")?

Citizens often write a complaint as plain text instead of starting the report conversation. Such a message
gets an offer to file a report, pre-filled with it: the category guessed from its words, the commune when it
names one. The words are data (`complaints:` in knowledge/lexicon.yaml).

- strong: something is wrong, with a place, a duration or a request, and it is not a question about the
  programme — the offer is the reply;
- weak: the same words inside a programme question ("đường lầy lội thuộc tiêu chí nào") — the question is
  answered and the offer is a button beside the answer.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from knowledge import yamlload
from knowledge.normalize import fold
from knowledge.reading import LEXICON_PATH

if TYPE_CHECKING:
    from knowledge.communes import CommuneFinder


def _phrases(items: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(fold(p).split()) for p in items if fold(p))


def _has(words: tuple[str, ...], phrases: tuple[tuple[str, ...], ...],
         present: frozenset[str] | None = None) -> tuple[str, ...] | None:
    present = present if present is not None else frozenset(words)
    for p in phrases:
        if p[0] not in present:
            continue
        n = len(p)
        for i in range(len(words) - n + 1):
            if words[i : i + n] == p:
                return p
    return None


@dataclass(frozen=True)
class Complaint:
    strength: str  # strong | weak
    category: str | None  # ticket category slug
    commune_code: str | None
    commune_name: str | None


@dataclass(frozen=True)
class ComplaintWords:
    problems: tuple[tuple[str, ...], ...]
    problems_exact: re.Pattern[str] | None
    context: tuple[tuple[str, ...], ...]
    questions: tuple[tuple[str, ...], ...]
    categories: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]

    @classmethod
    def load(cls, path: Path | str = LEXICON_PATH) -> "ComplaintWords":
        raw = (yamlload.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("complaints") or {}
        exact = [unicodedata.normalize("NFC", p).lower() for p in raw.get("problems_exact", [])]
        return cls(
            _phrases(raw.get("problems", [])),
            re.compile(r"(?<!\w)(?:" + "|".join(exact) + r")(?!\w)") if exact else None,
            _phrases(raw.get("context", [])),
            _phrases(raw.get("questions", [])),
            tuple((slug, _phrases(words)) for slug, words in (raw.get("categories") or {}).items()),
        )


@functools.lru_cache(maxsize=4)
def default_words(path: str = str(LEXICON_PATH)) -> ComplaintWords:
    return ComplaintWords.load(path)


def detect(text: str, finder: "CommuneFinder | None" = None, words: ComplaintWords | None = None,
           categories: Iterable[str] | None = None) -> Complaint | None:
    """`categories`: the slugs configured (a guess outside them is dropped)."""
    words = words or default_words()
    raw = unicodedata.normalize("NFC", text or "").lower()
    folded = tuple(fold(raw).split())
    if len(folded) < 3:
        return None
    present = frozenset(folded)
    problem = _has(folded, words.problems, present) or (words.problems_exact is not None and words.problems_exact.search(raw))
    if not problem:
        return None
    context = _has(folded, words.context, present) is not None
    question = _has(folded, words.questions, present) is not None
    commune = None
    if finder is not None:
        found = finder.find(text)
        if found.kind == "one" and found.best is not None:
            commune = found.best.commune
    if not (context or commune):
        return None
    allowed = set(categories) if categories is not None else None
    category, best = None, 0
    for slug, phrases in words.categories:  # the category whose words say the most; the problem's own words count double
        if allowed is not None and slug not in allowed:
            continue
        weight = sum(len(p) * (2 if isinstance(problem, tuple) and _has(problem, (p,)) else 1)
                     for p in phrases if _has(folded, (p,), present))
        if weight > best:
            category, best = slug, weight
    strength = "weak" if question else "strong"
    return Complaint(strength, category, commune.code if commune else None, commune.name if commune else None)


# ------------------------------------------------------------------ the hamlet a message names
_HAMLET_WORDS = {"ap": "ấp", "khom": "khóm"}
NOT_A_HAMLET = frozenset({"dung", "luc", "suat", "thap", "cao", "tran"})  # after «ap»: «áp dụng», «áp lực», «áp thấp»…
# Where a hamlet's name stops: the commune, or the problem ("ấp 2 xã Mỹ Hòa Hưng", "ấp Hòa Long bị ngập")
_HAMLET_STOP = frozenset("""xa phuong thi huyen tinh bi hu da co khong ko k sut ngap mat cup nuoc duong cau kenh den
    rac tu may thang nam roi nay o cua em toi minh tui nha va voi gan ben canh truoc sau la thi dang cho bo lo""".split())


@functools.lru_cache(maxsize=1)
def _problem_words() -> frozenset[str]:
    """The first words of the problems the complaint reader knows ("bồi lấp", "sạt lở", "hư…")."""
    return frozenset(p[0] for p in default_words().problems)


def hamlet_in(text: str) -> str:
    """The hamlet a message names, as typed ("ấp 2", "ấp Hòa Long", "khóm 5"), for a report's place; "" when
    there is none (the person is asked, as before)."""
    words = re.findall(r"\w+", unicodedata.normalize("NFC", text or ""))
    folded = [fold(w) for w in words]
    for i, w in enumerate(folded):
        if w not in _HAMLET_WORDS or i + 1 >= len(folded) or folded[i + 1] in NOT_A_HAMLET | _HAMLET_STOP:
            continue
        j = i + 1
        if folded[j].isdigit():  # "ấp 5", "ấp 3 A": a number, and a letter after it
            j += 1 + (j + 1 < len(folded) and len(folded[j + 1]) == 1 and words[j + 1].isupper())
        else:  # "ấp Hòa Long": up to three words, to the commune or the problem
            stop = _HAMLET_STOP | _problem_words()
            while j < len(folded) and j - i <= 3 and folded[j] not in stop:
                j += 1
        return " ".join([_HAMLET_WORDS[w] if words[i].islower() else _HAMLET_WORDS[w].capitalize(), *words[i + 1:j]])
    return ""
