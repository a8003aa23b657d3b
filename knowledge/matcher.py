"""Match a citizen's question to knowledge-base entries.

Each candidate entry gets four signals in 0..1, blended into a score out of 100:
- cosine: IDF-weighted cosine between the question's words and the closest paraphrase (precision and recall
  against one way of asking);
- coverage: how much of the question's meaning the entry's whole vocabulary (all paraphrases, title,
  tags) covers. Words the knowledge base has never seen weigh like the rarest word, so "giá cá tra hôm
  nay" stays uncovered and is not answered with something unrelated;
- phrase: how many of the question's adjacent word pairs occur in one of the entry's paraphrases;
- fuzzy: rapidfuzz similarity with the closest paraphrase (typos, word order).
Numbers must agree: a question naming a number (a criterion, a star rating, a year) that the entry never
mentions is penalised. Candidates come from an inverted index, so cost grows with the words of the
question, not with the size of the knowledge base. Typos outside the vocabulary are corrected to the
closest known word.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from rapidfuzz import fuzz, process

from knowledge.normalize import content_tokens

CANDIDATES = 40
# Topic words: a question that names one is about that topic, however common the word is in the base
# (and so however low its IDF). An entry that never mentions it is penalised.
ANCHORS: tuple[tuple[str, ...], ...] = (("ocop",), ("an", "giang"), ("nong", "thon", "moi"))


@dataclass(frozen=True)
class Params:
    w_cosine: float = 0.40
    w_coverage: float = 0.30
    w_phrase: float = 0.12
    w_fuzzy: float = 0.18
    number_mismatch: float = 0.55  # the question names a small number (criterion, stars) the entry never mentions
    year_mismatch: float = 0.85  # … a year the entry never mentions
    anchor_missing: float = 0.80  # the question names a topic word the entry never mentions
    novelty: float = 0.35  # weight of word pairs the whole base has never seen (other subjects)


@dataclass(frozen=True)
class Doc:
    """A matchable text of an entry: one paraphrase, or the title."""

    entry_id: str
    text: str  # normalised words joined, for fuzzy comparison
    words: frozenset[str]
    pairs: frozenset[tuple[str, str]]


@dataclass
class Candidate:
    entry_id: str
    score: float
    cosine: float = 0.0
    coverage: float = 0.0
    phrase: float = 0.0
    fuzzy: float = 0.0


@dataclass
class MatchResult:
    query: str
    candidates: list[Candidate] = field(default_factory=list)  # best first

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def content_words(text: str) -> tuple[str, ...]:
    return content_tokens(text)


def _pairs(words: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    return frozenset(zip(words, words[1:]))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


class Matcher:
    def __init__(self, docs_by_entry: dict[str, list[str]], extra_words: dict[str, Iterable[str]] | None = None,
                 params: Params | None = None):
        """docs_by_entry: entry id -> texts (paraphrases, title). extra_words: entry id -> tags etc."""
        self.params = params or Params()
        self.docs_of: dict[str, list[Doc]] = {}
        self.extra_of: dict[str, frozenset[str]] = {}
        postings: dict[str, set[str]] = defaultdict(set)
        for entry_id, texts in docs_by_entry.items():
            docs = []
            for text in texts:
                words = content_words(text)
                if words:
                    docs.append(Doc(entry_id, " ".join(words), frozenset(words), _pairs(words)))
            self.docs_of[entry_id] = docs
            extra: set[str] = set()
            for w in (extra_words or {}).get(entry_id, ()):
                extra.update(content_words(w.replace("-", " ")))
            self.extra_of[entry_id] = frozenset(extra)
            for w in self._vocab(entry_id):
                postings[w].add(entry_id)
        n = max(len(self.docs_of), 1)
        self.idf: dict[str, float] = {w: math.log((n + 1) / (len(ids) + 0.5)) for w, ids in postings.items()}
        self.max_idf = math.log((n + 1) / 0.5)
        self.postings: dict[str, tuple[str, ...]] = {w: tuple(ids) for w, ids in postings.items()}
        self.vocabulary: list[str] = sorted(w for w in postings if len(w) >= 3 and not w.isdigit())
        self._norm: dict[Doc, float] = {d: self._length(d.words) for docs in self.docs_of.values() for d in docs}
        self._vocab_norm: dict[str, float] = {e: self._length(self._vocab(e)) for e in self.docs_of}
        self.known_pairs: frozenset[tuple[str, str]] = frozenset(
            p for docs in self.docs_of.values() for d in docs for p in d.pairs
        )

    def _vocab(self, entry_id: str, skip: Doc | None = None) -> frozenset[str]:
        words: set[str] = set(self.extra_of.get(entry_id, ()))
        for d in self.docs_of[entry_id]:
            if d is not skip:
                words |= d.words
        return frozenset(words)

    def _weight(self, word: str) -> float:
        return self.idf.get(word, self.max_idf)

    def _length(self, words: Iterable[str]) -> float:
        return math.sqrt(sum(self._weight(w) ** 2 for w in words)) or 1.0

    def _correct(self, word: str) -> tuple[str, float]:
        """Known word, or the closest known word for a typo (with a confidence factor)."""
        if word in self.idf or word.isdigit() or len(word) < 4:
            return word, 1.0
        hit = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=80)
        if hit is None:
            return word, 1.0
        return hit[0], 0.85

    def match(self, query: str, limit: int = 5, exclude: tuple[str, str] | None = None) -> MatchResult:
        """Rank entries for a question. `exclude=(entry_id, text)` hides one paraphrase (leave-one-out)."""
        raw = content_words(query)
        if not raw:
            return MatchResult(query)
        trust: dict[str, float] = {}
        words: list[str] = []
        for w in raw:
            c, f = self._correct(w)
            words.append(c)
            trust[c] = min(trust.get(c, 1.0), f)
        q_words = tuple(words)
        q_set = frozenset(q_words)
        q_pairs = _pairs(q_words)
        q_text = " ".join(q_words)
        q_numbers = {w for w in q_set if w.isdigit()}
        q_anchors = [a for a in ANCHORS if _contains(q_words, a)]
        # Word pairs no paraphrase of the whole base contains: "kết hôn" folds to two known syllables
        # ("kết" of "kết quả", "hơn"), but the pair is foreign to this subject.
        novelty = (len([p for p in q_pairs if p not in self.known_pairs]) / len(q_pairs)) if q_pairs else 0.0
        prm = self.params
        q_weight = {w: self._weight(w) * trust[w] for w in q_set}
        total = sum(q_weight.values())
        q_len = math.sqrt(sum(v * v for v in q_weight.values())) or 1.0

        skip_entry, skip_doc = None, None
        if exclude is not None:
            skip_entry = exclude[0]
            target = " ".join(content_words(exclude[1]))
            skip_doc = next((d for d in self.docs_of.get(skip_entry, []) if d.text == target), None)

        acc: dict[str, float] = defaultdict(float)
        for w in q_set:
            for entry_id in self.postings.get(w, ()):
                acc[entry_id] += q_weight[w]
        if not acc:
            return MatchResult(query)
        # Shortlist by raw overlap and by overlap relative to the entry's size, so that a short, exact entry
        # ("nông thôn mới là gì") is not crowded out by long entries that merely mention the same words.
        by_overlap = sorted(acc, key=acc.__getitem__, reverse=True)[: CANDIDATES // 2]
        by_density = sorted(acc, key=lambda e: acc[e] / self._vocab_norm[e], reverse=True)[: CANDIDATES // 2]
        shortlist = list(dict.fromkeys(by_overlap + by_density))

        scored: list[Candidate] = []
        for entry_id in shortlist:
            skip = skip_doc if entry_id == skip_entry else None
            vocab = self._vocab(entry_id, skip)
            docs = [d for d in self.docs_of[entry_id] if d is not skip]
            if not docs:
                continue
            coverage = sum(q_weight[w] for w in q_set if w in vocab) / total
            cosine = max(
                sum(q_weight[w] * self._weight(w) for w in q_set & d.words) / (q_len * self._norm[d]) for d in docs
            )
            if q_pairs:
                pairs = frozenset().union(*(d.pairs for d in docs))
                phrase = len(q_pairs & pairs) / len(q_pairs)
            else:
                phrase = coverage
            fuzzy = max(fuzz.token_sort_ratio(q_text, d.text) for d in docs) / 100.0
            score = 100.0 * (prm.w_cosine * cosine + prm.w_coverage * coverage + prm.w_phrase * phrase
                             + prm.w_fuzzy * fuzzy)
            score *= 1.0 - prm.novelty * novelty
            for n in q_numbers - vocab:
                score *= prm.year_mismatch if len(n) == 4 else prm.number_mismatch
            for a in q_anchors:
                if not set(a) <= vocab:
                    score *= prm.anchor_missing
            scored.append(Candidate(entry_id, round(score, 2), cosine, coverage, phrase, fuzzy))
        scored.sort(key=lambda c: c.score, reverse=True)
        return MatchResult(query, scored[:limit])
