"""Candidate entries for a question, and what is known about each: the inputs of the decision model.

Two retrievers read the same question: the paraphrase matcher (how the entry is asked) and BM25 over the
whole entry (how it is asked and what it answers, syllables and syllable pairs). Their top candidates are
pooled; each gets a row of numbers that do not depend on which entry it is — scores, ranks, margins, how much
of the question the entry explains, whether numbers and periods agree — so that a model trained on one
version of the knowledge base reads another one the same way.
"""
from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from knowledge.communes import default_finder, outside_an_giang
from knowledge.matcher import Matcher, _criterion_number
from knowledge.normalize import content_tokens, fold
from knowledge.reading import Reader, Reading
from knowledge.retrieval import Bm25, terms

if TYPE_CHECKING:
    from knowledge.schema import Entry

POOL = 6  # candidates taken from each retriever
_CRITERION_TAG = re.compile(r"^(?:tieu-chi|tc)-0*(\d{1,2})$")
OLD_PERIODS = frozenset({"2016-2020", "2018-2020", "2021-2025"})
NEW_PERIODS = frozenset({"2026-2030", "2026-2035"})

FEATURES: tuple[str, ...] = (
    "q_words", "q_known", "q_pairs_known", "q_added", "q_number", "q_corrected",
    "m_score", "m_cosine", "m_coverage", "m_phrase", "m_fuzzy", "m_rank", "m_gap", "m_in",
    "b_score", "b_rel", "b_rank", "b_in",
    "k_cover", "k_pairs", "num_miss", "crit_match", "crit_other",
    "period_conflict", "period_agree", "period_unsaid_old", "topic_named", "q_no_topic", "t_cover",
    "def_match", "star_match", "star_other", "name_match", "name_other", "place_outside", "local_match", "star_unsaid",
)
# "X là gì", "X nghĩa là sao", "khái niệm X": a question asking what something is
_DEFINITION = re.compile(r"\b(?:la gi|nghia la|la sao|la cai gi|la chuong trinh gi|khai niem|dinh nghia|hieu the nao|"
                         r"hieu la gi|la j)\b")
_TITLE_DEFINITION = re.compile(r"\b(?:la gi|nghia la gi|la sao)\s*$")
_STAR_TAG = re.compile(r"^(\d)-sao$")
_Q_STARS = re.compile(r"\b(\d)\s+sao\b")
# A proper name in an answer: two or more capitalised syllables in a row ("bánh hạnh nhân Tiến Anh",
# "khô cá lóc Kim Loan"), the first one not opening a sentence or a line.
_TOKEN = re.compile(r"[^\W\d_]+|[^\w\s]|\d+", re.UNICODE)
_CONTRAST = re.compile(r"^\W*(?:khác|đừng nhầm|không nhầm|không phải)\b", re.IGNORECASE)  # "Khác Kế hoạch 328 của tỉnh Nghệ An"
# "tỉnh mình", "An Giang", "ở tỉnh": the question is about the province, not the whole country
LOCAL = re.compile(r"\b(?:an giang|tinh (?:minh|ta|nha|em|toi|tui)|o tinh|cua tinh|tinh dat|tinh co|tinh da|"
                    r"tinh muon|tinh dang|ca tinh|toan tinh|tinh an giang)\b")
NAME_MAX_ENTRIES = 2  # a name more entries answer with ("An Giang", "Thủ tướng Chính phủ") says nothing


def answer_names(entries: Mapping[str, str], places: Iterable[str] = ()) -> dict[tuple[str, ...], frozenset[str]]:
    """The rare proper names of the answers, as folded syllables, with the entries that say them. Place names
    are left out: an answer lists places by the way ("Tân Châu: mắm cá mè vinh …" ), a question names its own."""
    skip = {tuple(p.split()) for p in places}
    seen: dict[tuple[str, ...], set[str]] = {}
    for entry_id, text in entries.items():
        for line in text.splitlines():
            if _CONTRAST.match(line):
                continue
            run: list[str] = []
            opening = True  # the first word of a sentence is capitalised anyway
            for tok in [*_TOKEN.findall(line), "."]:
                if tok[0].isalpha() and tok[0].isupper() and not (opening and not run):
                    run.append(tok)
                    continue
                if len(run) >= 2:
                    seen.setdefault(tuple(fold(" ".join(run)).split()), set()).add(entry_id)
                run = []
                opening = not tok[0].isalnum() and tok in ".!?:•;" or (opening and tok[0].isalpha() and tok[0].isupper())
    return {n: frozenset(ids) for n, ids in seen.items() if len(ids) <= NAME_MAX_ENTRIES and n not in skip}


def names_in(words: Sequence[str], names: Mapping[tuple[str, ...], frozenset[str]],
             first: Mapping[str, tuple[int, ...]]) -> set[str]:
    """The entries whose rare names the question writes out."""
    found: set[str] = set()
    for i, w in enumerate(words):
        for n in first.get(w, ()):
            name = tuple(words[i:i + n])
            if name in names:
                found |= names[name]
    return found


@dataclass
class Candidate:
    entry_id: str
    x: list[float]
    matcher_score: float = 0.0
    prob: float = 0.0


@dataclass
class Retrieval:
    reading: Reading
    candidates: list[Candidate] = field(default_factory=list)


def entry_texts(e: "Entry") -> list[str]:
    return [e.title, *e.questions]


class Retriever:
    """Everything built once per knowledge base version to read and rank questions."""

    def __init__(self, entries: Iterable["Entry"], matcher: Matcher | None = None):
        self.entries = {e.id: e for e in entries}
        asked = {e.id: [*entry_texts(e), *(t.replace("-", " ") for t in e.tags)] for e in self.entries.values()}
        answers = {e.id: e.answer for e in self.entries.values()}
        self.matcher = matcher or Matcher({i: entry_texts(e) for i, e in self.entries.items()},
                                          {i: e.tags for i, e in self.entries.items()})
        self.bm25 = Bm25(asked, answers)
        self.reader = Reader([t for i in sorted(asked) for t in [*asked[i], answers[i]]])
        # Every syllable and syllable pair an entry asks or answers with: the BM25 index's own term counts.
        self.vocab: Mapping[str, Mapping[str, float]] = self.bm25.tf
        self.criteria: dict[str, frozenset[str]] = {
            i: frozenset(m.group(1) for t in e.tags if (m := _CRITERION_TAG.match(t))) for i, e in self.entries.items()}
        self.definition = {i: bool(_TITLE_DEFINITION.search(fold(e.title))) for i, e in self.entries.items()}
        # The star ratings an entry is about ("OCOP 4 sao cần mấy điểm?"): from its title, or its tags ("4-sao").
        self.stars = {i: frozenset({m.group(1) for m in _Q_STARS.finditer(fold(e.title))}
                                   | {m.group(1) for t in e.tags if (m := _STAR_TAG.match(t))}) for i, e in self.entries.items()}
        # The words of each entry's title (its canonical question), for how much of it a question says.
        self.title_words: dict[str, tuple[str, ...]] = {
            i: tuple(dict.fromkeys(w for w in content_tokens(e.title) if not w.isdigit())) for i, e in self.entries.items()}
        idf = self.bm25.idf
        self._title_idf = {i: tuple((w, idf.get(w, 0.0)) for w in tw) for i, tw in self.title_words.items()}
        self._title_total = {i: sum(x for _, x in ti) or 1.0 for i, ti in self._title_idf.items()}
        self.names = answer_names(answers, (a.folded for a in default_finder().aliases))
        # What each entry answers, folded, without its contrast lines ("Khác Kế hoạch 328 của tỉnh Nghệ An"): does
        # it speak about the place of another province a question names?
        self.places_said = {i: " " + " ".join(fold(t) for t in [e.title, *e.answer.splitlines()]
                                              if not _CONTRAST.match(t)) + " " for i, e in self.entries.items()}
        lengths: dict[str, set[int]] = {}
        for n in self.names:
            lengths.setdefault(n[0], set()).add(len(n))
        self._name_first = {w: tuple(sorted(ls)) for w, ls in lengths.items()}

    def read(self, text: str) -> Reading:
        return self.reader.read(text)

    def retrieve(self, text: str, exclude: tuple[str, str] | None = None, reading: Reading | None = None) -> Retrieval:
        reading = reading or self.read(text)
        words = reading.words
        if not words and not reading.added:
            return Retrieval(reading)
        m = self.matcher.match(text, limit=POOL, exclude=exclude, reading=reading)
        b = self.bm25.scores(reading.all_words, exclude=exclude)
        b_top = [k for _, k in heapq.nsmallest(POOL, ((-v, k) for k, v in b.items()))]
        pool = list(dict.fromkeys([c.entry_id for c in m.candidates] + b_top))
        if not pool:
            return Retrieval(reading)
        m_scores = {c.entry_id: c for c in m.candidates}
        m_best = m.candidates[0].score if m.candidates else 0.0
        b_best = b[b_top[0]] if b_top else 0.0
        b_self = self.bm25.self_score(reading.all_words)
        b_rank = {k: r for r, k in enumerate(b_top)}
        m_rank = {c.entry_id: r for r, c in enumerate(m.candidates)}

        # Question-level numbers, the same for every candidate.
        weight = {w: self.bm25.idf.get(w, 0.0) for w in set(words)}
        known = [w for w in words if self.reader.known(w)]
        q_pairs = list(zip(words, words[1:]))
        known_pairs = [f"{a}_{b}" for a, b in q_pairs if (a, b) in self.reader.pairs]
        known_set = set(known)
        total_known = sum(weight[w] for w in known_set) or 1.0
        numbers = {w for w in words if w.isdigit()}
        q_crit = _criterion_number(words) if numbers else None
        q_all = frozenset(reading.all_words)
        raw = " ".join(reading.raw)
        q_def = bool(_DEFINITION.search(raw))
        q_stars = {m.group(1) for m in _Q_STARS.finditer(raw)}
        named = names_in(reading.raw, self.names, self._name_first) | names_in(words, self.names, self._name_first)
        # Another province named ("Cà Mau có bao nhiêu sản phẩm OCOP"): an entry that never names it answers for
        # An Giang or the whole country, not for it.
        local = bool(LOCAL.search(raw))
        outside = outside_an_giang(raw)
        outside_name = f" {outside.folded} " if outside else ""
        qrow = [
            math.log1p(len(words)),
            len(known) / len(words) if words else 0.0,
            len(known_pairs) / len(q_pairs) if q_pairs else 1.0,
            float(bool(reading.added)),
            float(bool(numbers)),
            float(bool(reading.corrected)),
        ]
        out = []
        for entry_id in pool:
            e = self.entries[entry_id]
            mc = m_scores.get(entry_id)
            vocab = self.vocab[entry_id]
            k_cover = sum(weight[w] for w in known_set if w in vocab) / total_known
            k_pairs = (sum(1 for p in known_pairs if p in vocab) / len(known_pairs)) if known_pairs else 0.0
            entry_numbers = vocab
            num_miss = sum(1 for n in numbers if n not in entry_numbers)
            crit = self.criteria[entry_id]
            crit_match = float(q_crit is not None and q_crit in crit)
            crit_other = float(q_crit is not None and bool(crit) and q_crit not in crit)
            old, new = e.period in OLD_PERIODS, e.period in NEW_PERIODS
            p = reading.period
            conflict = float((p == "new" and old) or (p == "old" and new))
            agree = float((p == "new" and new) or (p == "old" and old))
            unsaid_old = float(p is None and old)
            topic_named = float(e.topic in reading.topics)
            t_cover = sum(x for w, x in self._title_idf[entry_id] if w in q_all) / self._title_total[entry_id]
            bs = b.get(entry_id, 0.0)
            row = qrow + [
                (mc.score / 100.0) if mc else 0.0,
                mc.cosine if mc else 0.0,
                mc.coverage if mc else 0.0,
                mc.phrase if mc else 0.0,
                mc.fuzzy if mc else 0.0,
                float(m_rank.get(entry_id, POOL)),
                ((mc.score - m_best) / 100.0) if mc else -1.0,
                float(mc is not None),
                bs / b_self,
                (bs / b_best) if b_best else 0.0,
                float(b_rank.get(entry_id, POOL)),
                float(entry_id in b_rank),
                k_cover,
                k_pairs,
                float(num_miss),
                crit_match,
                crit_other,
                conflict,
                agree,
                unsaid_old,
                topic_named,
                float(not reading.topics),
                t_cover,
                float(q_def and self.definition[entry_id]),
                float(bool(q_stars) and bool(q_stars & self.stars[entry_id])),
                float(bool(q_stars) and bool(self.stars[entry_id]) and not (q_stars & self.stars[entry_id])),
                float(entry_id in named),
                float(bool(named) and entry_id not in named),
                float(bool(outside_name) and outside_name not in self.places_said[entry_id]),
                float(local and e.topic == "an-giang"),
                # an entry about one star rating, and the question says nothing of stars ("sao" at all)
                float(not q_stars and "sao" not in reading.raw and bool(self.stars[entry_id])),
            ]
            out.append(Candidate(entry_id, row, mc.score if mc else 0.0))
        return Retrieval(reading, out)


def terms_of(words: Sequence[str]) -> list[str]:
    return terms(words)
