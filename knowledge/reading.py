"""Reading a citizen's message before it is matched: what the words are, what they mean here, which period.

    text ──► content words (`normalize`) ──► spelling against the knowledge base's own words ──► everyday
    words mapped to the base's terms (`lexicon.yaml`) ──► period cues ("bây giờ", "hồi trước", "19 tiêu chí")

Spelling: a word the base has never seen is corrected only to a known word one edit away (two for long
words) that forms a pair the base has seen with a neighbouring word: "kieu mao" -> "kieu mau", "sam pham" ->
"san pham". Vietnamese syllables without diacritics are short and many are one edit apart, so the neighbour is
what makes a correction safe; a word with no such neighbour is left as typed.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from rapidfuzz.distance import Levenshtein

from knowledge import yamlload
from knowledge.normalize import content_of, content_tokens, fold, tokens
from knowledge.syllables import is_syllable

LEXICON_PATH = Path(__file__).resolve().parent / "lexicon.yaml"
EXPANSION_TRUST = 0.6  # weight of a word the lexicon added, against 1 for a word typed
CORRECTION_TRUST = 0.85
REAL_WORD_MIN_PAIRS = 8  # a known word is replaced only by one that the base pairs with its neighbour this often
REAL_WORD_MAX_COUNT = 3  # … and only if the base itself uses it at most this often
# An unknown word that is a possible syllable is corrected only into a pair the base has this often (5 turned
# "tách thửa" into "tách chưa"; 10: calibration out of fold 74,1% right, was 73,3%).
SYLLABLE_MIN_PAIRS = 10
READ_MEMO = 4096  # texts whose reading is kept (cleared whole when full)


@dataclass(frozen=True)
class Concept:
    means: tuple[str, ...]  # folded words of the base
    when: tuple[tuple[str, ...], ...]  # folded phrases
    exact: re.Pattern[str] | None  # phrases with diacritics, on the lower-cased text


@dataclass(frozen=True)
class Lexicon:
    concepts: tuple[Concept, ...] = ()
    address: frozenset[str] = frozenset()
    particles: frozenset[str] = frozenset()
    periods: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    period_only: tuple[tuple[str, ...], ...] = ()  # cue phrases that say nothing but the period
    topics: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)  # topic -> its words

    def __post_init__(self) -> None:
        by_first: dict[str, list[tuple[tuple[str, ...], int]]] = defaultdict(list)
        for k, c in enumerate(self.concepts):
            for p in c.when:
                by_first[p[0]].append((p, k))
        object.__setattr__(self, "_by_first", dict(by_first))
        # Every other phrase list (periods, period-only cues, topics) by its first word: a message is read once.
        named: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for kind, phrases in self.periods.items():
            for p in phrases:
                named[p[0]].append((p, f"period:{kind}"))
        for p in self.period_only:
            named[p[0]].append((p, "only"))
        for topic, phrases in self.topics.items():
            for p in phrases:
                named[p[0]].append((p, f"topic:{topic}"))
        object.__setattr__(self, "_named", dict(named))

    def phrases_in(self, raw: tuple[str, ...]) -> list[tuple[int, tuple[str, ...], str]]:
        """(position, phrase, what it names) for every period/topic phrase of the lexicon in `raw`."""
        out = []
        named = self._named  # type: ignore[attr-defined]  # set in __post_init__ of the frozen dataclass
        for i, w in enumerate(raw):
            for phrase, what in named.get(w, ()):
                if raw[i : i + len(phrase)] == phrase:
                    out.append((i, phrase, what))
        return out

    def concepts_in(self, raw: tuple[str, ...], lowered: str) -> list[Concept]:
        """The concepts a text names, in the lexicon's order."""
        hits: set[int] = set()
        by_first = self._by_first  # type: ignore[attr-defined]  # set in __post_init__ of the frozen dataclass
        for i, w in enumerate(raw):
            for phrase, k in by_first.get(w, ()):
                if raw[i : i + len(phrase)] == phrase:
                    hits.add(k)
        for k, c in enumerate(self.concepts):
            if k not in hits and c.exact is not None and c.exact.search(lowered):
                hits.add(k)
        return [self.concepts[k] for k in sorted(hits)]

    @classmethod
    def load(cls, path: Path | str = LEXICON_PATH) -> "Lexicon":
        raw = yamlload.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        concepts = []
        for c in raw.get("concepts", []):
            exact = [unicodedata.normalize("NFC", p).lower() for p in c.get("exact", [])]
            pattern = re.compile(r"(?<!\w)(?:" + "|".join(exact) + r")(?!\w)") if exact else None
            concepts.append(Concept(tuple(fold(c["means"]).split()), tuple(tuple(fold(p).split()) for p in c.get("when", [])),
                                    pattern))
        addr = raw.get("address", {})
        periods = {k: tuple(tuple(fold(p).split()) for p in v) for k, v in (raw.get("periods") or {}).items()}
        only = tuple(tuple(fold(p).split()) for p in raw.get("period_only", []))
        topics = {k: tuple(tuple(fold(p).split()) for p in v) for k, v in (raw.get("topics") or {}).items()}
        return cls(tuple(concepts), frozenset(fold(w) for w in addr.get("words", [])),
                   frozenset(fold(w) for w in addr.get("particles", [])), periods, only, topics)


@functools.lru_cache(maxsize=4)
def default_lexicon(path: str = str(LEXICON_PATH)) -> Lexicon:
    return Lexicon.load(path)


@dataclass(frozen=True)
class Reading:
    text: str
    words: tuple[str, ...]  # content words, typos corrected
    trust: Mapping[str, float]  # word -> weight factor (corrected and added words count less)
    added: tuple[str, ...] = ()  # words the lexicon added (not in `words`)
    period: str | None = None  # "new" (2026–2030), "old" (2021–2025 and before), "both", or None (not said)
    compare: bool = False  # "khác nhau chỗ nào", "so với"
    corrected: tuple[tuple[str, str], ...] = ()  # (typed, read as)
    raw: tuple[str, ...] = ()  # all folded tokens, fillers included
    topics: frozenset[str] = frozenset()  # the knowledge base's topics the question names words of

    @property
    def all_words(self) -> tuple[str, ...]:
        return self.words + tuple(w for w in self.added if w not in self.words)


def _find(words: tuple[str, ...], phrase: tuple[str, ...]) -> int:
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == phrase:
            return i
    return -1


class Reader:
    """Built once per knowledge base: its vocabulary and word pairs, and the lexicon."""

    def __init__(self, texts: Iterable[str], lexicon: Lexicon | None = None):
        self.lexicon = lexicon or default_lexicon()
        self._memo: dict[str, Reading] = {}
        self.unigrams: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for text in texts:
            words = content_tokens(text)
            self.unigrams.update(words)
            pairs.update(zip(words, words[1:]))
        self.pairs = pairs
        self.after: dict[str, list[str]] = defaultdict(list)  # word -> words seen after it
        self.before: dict[str, list[str]] = defaultdict(list)
        for (a, b) in sorted(pairs):
            self.after[a].append(b)
            self.before[b].append(a)

    # -- spelling
    def known(self, word: str) -> bool:
        return word in self.unigrams

    def correct(self, words: tuple[str, ...], typed_with_marks: frozenset[str] = frozenset()
                ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """Unknown words, and known words that fit neither neighbour while a word one edit away fits one well
        ("ke hoac 328": "hoặc" is a word, but the base says "kế hoạch" many times and "kế hoặc" never). A syllable
        typed with its tone marks is meant ("xổ số" is not "hồ sơ", "hôm nay" not "hỏi"): left as it is."""
        out = list(words)
        fixes = []
        for i, w in enumerate(words):
            if any(ch.isdigit() for ch in w) or len(w) < 2 or (w in typed_with_marks and is_syllable(w)):
                continue  # numbers, and codes or units with a digit ("m2", "qh15", "4g"), are not typos
            left = out[i - 1] if i > 0 else None
            right = words[i + 1] if i + 1 < len(words) else None
            if self.known(w):
                # A word the base uses is replaced only when it is rare here, fits neither neighbour, and a word one
                # edit away is a frequent pair with one of them.
                if (len(w) < 3 or self.unigrams[w] > REAL_WORD_MAX_COUNT or (left, w) in self.pairs
                        or (w, right) in self.pairs):
                    continue
                limit, min_freq = 1, REAL_WORD_MIN_PAIRS
            elif is_syllable(w):
                limit, min_freq = 1, SYLLABLE_MIN_PAIRS  # a real word the base lacks ("chạy", "ruộng"): rarely a typo
            else:
                limit, min_freq = (1 if len(w) <= 5 else 2), 1
            best: tuple[int, str] | None = None
            for neighbour, options, side in ((left, self.after, 0), (right, self.before, 1)):
                if neighbour is None or not self.known(neighbour):
                    continue
                for cand in options.get(neighbour, ()):
                    if cand == w or abs(len(cand) - len(w)) > limit or cand.isdigit():
                        continue
                    if Levenshtein.distance(w, cand, score_cutoff=limit) <= limit:
                        pair = (neighbour, cand) if side == 0 else (cand, neighbour)
                        freq = self.pairs[pair]
                        if freq >= min_freq and (best is None or freq > best[0]):
                            best = (freq, cand)
            if best is not None:
                out[i] = best[1]
                fixes.append((w, best[1]))
        return tuple(out), tuple(fixes)

    # -- reading
    def read(self, text: str) -> Reading:
        """Memoised per text: a question is read by the computed answers, then again by retrieval."""
        hit = self._memo.get(text)
        if hit is None:
            if len(self._memo) >= READ_MEMO:
                self._memo.clear()
            hit = self._memo[text] = self._read(text)
        return hit

    def _read(self, text: str) -> Reading:
        raw = tokens(text)
        vocative = self._address_at(raw)
        words, fixes = self.correct(content_of(tuple(w for i, w in enumerate(raw) if i not in vocative)), _marked(text))
        words = _without_dates(words, text)
        trust: dict[str, float] = {w: 1.0 for w in words}
        for _, c in fixes:
            trust[c] = min(trust.get(c, 1.0), CORRECTION_TRUST)
        corrected_raw = _apply(raw, fixes)
        added: list[str] = []
        lowered = unicodedata.normalize("NFC", text).lower()
        for concept in self.lexicon.concepts_in(corrected_raw, lowered):
            for w in concept.means:
                if w not in trust and w not in added:
                    added.append(w)
        for w in added:
            trust[w] = EXPANSION_TRUST
        found = self.lexicon.phrases_in(corrected_raw)
        period, compare = self.period_of(corrected_raw, found)
        if period is not None:  # "hiện nay", "bây giờ" say when, not what: the period is kept apart
            words = _without(words, [p for _, p, what in found if what == "only"])
        # a word of address names no topic ("… là gì vậy bot" is not a question about the bot)
        topics = frozenset(what[6:] for i, p, what in found if what.startswith("topic:")
                           and not (len(p) == 1 and i in vocative))
        return Reading(text, words, trust, tuple(added), period, compare, fixes, raw, topics)

    def _address_at(self, words: tuple[str, ...]) -> set[int]:
        """Positions of the words of address: "bot ơi", "vậy bot", "nha anh", one next to a chat particle, anywhere."""
        lex = self.lexicon
        out: set[int] = set()
        if not lex.address:
            return out
        for i, w in enumerate(words):
            if w in lex.address:
                nxt = words[i + 1] if i + 1 < len(words) else None
                prev = words[i - 1] if i > 0 else None
                # "tiêu chí", "chủ thể"; a pair with a particle is no word ("vậy bot" is in paraphrases written
                # the way people chat, and is still a word of address)
                part_of_a_word = ((prev, w) in self.pairs and prev not in lex.particles) or \
                    ((w, nxt) in self.pairs and nxt not in lex.particles)
                if not part_of_a_word and (nxt in lex.particles or prev in lex.particles or (nxt is None and len(words) > 2)):
                    out.add(i)
        return out

    def period_of(self, raw: tuple[str, ...], found: list | None = None) -> tuple[str | None, bool]:
        found = self.lexicon.phrases_in(raw) if found is None else found
        kinds = set()
        for i, phrase, what in found:
            if not what.startswith("period:") or what == "period:compare":
                continue
            if len(phrase) == 1 and phrase[0].isdigit() and i > 0 and raw[i - 1].isdigit() and len(raw[i - 1]) < 4:
                continue  # "51/2025": the year of a document number, not a period
            if what == "period:both" and phrase[0] == "moi" and i > 0 and raw[i - 1] == "thon":
                kinds.add("old")  # "nông thôn mới cũ": the old NTM, not "mới với cũ"
                continue
            kinds.add(what[7:])
        compare = any(what == "period:compare" for _, _, what in found)
        if kinds >= {"new", "old"} or "both" in kinds:  # "both" with "old" is both (not whichever a set yields first)
            return "both", compare or "khac" in raw  # "bây giờ khác hồi trước chỗ nào"
        return (kinds.pop() if kinds else None), compare


def _without(words: tuple[str, ...], phrases: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The words minus those of phrases found in the message (fillers among them are already gone: "hiện nay"
    leaves "hien" in the content words)."""
    out = list(words)
    for p in phrases:
        for w in p:
            if w in out:
                out.remove(w)
    return tuple(out) or words


# The day and month of a date ("tháng 11/2025", "ngày 26/6/2025", "5/2023"; not a document number "25/2021/QH15")
# say when, not what: left in, "11" reads as criterion 11 or a figure asked about. The year stays (a period, the
# date of a figure).
_DATE = re.compile(r"\b(?:(\d{1,2})[/.-])?(\d{1,2})[/-]((?:19|20)\d{2})\b(?![/-])|\b(?:tháng|thang)\s*(\d{1,2})\b|"
                   r"\b(?:ngày|ngay)\s*(\d{1,2})\b")


def _without_dates(words: tuple[str, ...], text: str) -> tuple[str, ...]:
    lowered = unicodedata.normalize("NFC", text).lower()
    parts = []
    for m in _DATE.finditer(lowered):
        day, month = m.group(1) or m.group(5), m.group(2) or m.group(4)
        if month and not 1 <= int(month) <= 12 or day and not 1 <= int(day) <= 31:
            continue  # "25/2021", "tháng 13": not a date ("Nghị quyết 25/2021/QH15" is caught by the lookahead)
        parts += [g for g in (day, month) if g]
    if not parts:
        return words
    out = list(words)
    for n in parts:
        for cand in (n, n.lstrip("0")):
            if cand in out:
                out.remove(cand)
                break
    return tuple(out) or words


def _apply(raw: tuple[str, ...], fixes: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    if not fixes:
        return raw
    table = dict(fixes)
    return tuple(table.get(w, w) for w in raw)


def _marked(text: str) -> frozenset[str]:
    """The folded words of a text that were typed with Vietnamese marks (tone marks, ă â ê ô ơ ư đ)."""
    out = set()
    for tok in unicodedata.normalize("NFC", text).lower().split():
        if any(not c.isascii() and c.isalpha() for c in tok):
            out.update(fold(tok).split())
    return frozenset(out)
