"""Match a citizen's question to knowledge-base entries.

Scoring per candidate entry blends three signals, each in 0..1:
- coverage: how much of the question's meaning (IDF-weighted content words) the entry's vocabulary covers.
  Words the knowledge base has never seen weigh like the rarest word, so "giá cá tra hôm nay" stays
  uncovered and is not answered with something unrelated;
- phrase: how many of the question's adjacent word pairs occur in one of the entry's paraphrases;
- fuzzy: rapidfuzz similarity with the closest paraphrase (typos, word order).
Candidates come from an inverted index, so cost grows with the words of the question, not the size of
the knowledge base. Typos in words outside the vocabulary are corrected to the closest known word.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from rapidfuzz import fuzz, process

from knowledge.normalize import FILLERS, tokens

# Weights of the three signals.
W_COVERAGE, W_PHRASE, W_FUZZY = 0.55, 0.20, 0.25
NUMBER_MISMATCH = 0.55  # factor when the question names a number the entry never mentions
CANDIDATES = 40


@dataclass(frozen=True)
class Doc:
    """A matchable text of an entry: one paraphrase, or the title."""

    entry_id: str
    text: str  # normalised string for fuzzy comparison
    words: tuple[str, ...]  # content tokens
    pairs: frozenset[tuple[str, str]]


@dataclass
class Candidate:
    entry_id: str
    score: float
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


def _pairs(words: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    return frozenset(zip(words, words[1:]))


def _content(text: str) -> tuple[tuple[str, ...], str]:
    toks = tokens(text)
    words = tuple(t for t in toks if t not in FILLERS)
    return words, " ".join(words)


class Matcher:
    def __init__(self, docs_by_entry: dict[str, list[str]], extra_words: dict[str, Iterable[str]] | None = None):
        """docs_by_entry: entry id -> texts (paraphrases, title). extra_words: entry id -> tags etc."""
        self.docs: list[Doc] = []
        self.docs_of: dict[str, list[Doc]] = defaultdict(list)
        self.vocab_of: dict[str, frozenset[str]] = {}
        self.pairs_of: dict[str, frozenset[tuple[str, str]]] = {}
        postings: dict[str, set[str]] = defaultdict(set)
        for entry_id, texts in docs_by_entry.items():
            vocab: set[str] = set()
            pairs: set[tuple[str, str]] = set()
            for text in texts:
                words, norm = _content(text)
                if not words:
                    continue
                doc = Doc(entry_id, norm, words, _pairs(words))
                self.docs.append(doc)
                self.docs_of[entry_id].append(doc)
                vocab.update(words)
                pairs.update(doc.pairs)
            for w in (extra_words or {}).get(entry_id, ()):
                vocab.update(_content(w)[0])
            self.vocab_of[entry_id] = frozenset(vocab)
            self.pairs_of[entry_id] = frozenset(pairs)
            for w in vocab:
                postings[w].add(entry_id)
        n = max(len(self.vocab_of), 1)
        self.idf: dict[str, float] = {w: math.log((n + 1) / (len(ids) + 0.5)) for w, ids in postings.items()}
        self.max_idf = math.log((n + 1) / 0.5)
        self.postings: dict[str, tuple[str, ...]] = {w: tuple(ids) for w, ids in postings.items()}
        self.vocabulary: list[str] = sorted(w for w in postings if len(w) >= 3 and not w.isdigit())

    # -- query side
    def _correct(self, word: str) -> tuple[str, float]:
        """Known word, or the closest known word for a typo (with a confidence factor)."""
        if word in self.idf or word.isdigit() or len(word) < 4:
            return word, 1.0
        hit = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=80)
        if hit is None:
            return word, 1.0
        return hit[0], 0.85

    def _weight(self, word: str) -> float:
        return self.idf.get(word, self.max_idf)

    def match(self, query: str, limit: int = 5) -> MatchResult:
        words, _ = _content(query)
        if not words:
            return MatchResult(query)
        corrected: list[str] = []
        trust: dict[str, float] = {}
        for w in words:
            c, f = self._correct(w)
            corrected.append(c)
            trust[c] = min(trust.get(c, 1.0), f)
        q_words = tuple(corrected)
        q_set = set(q_words)
        q_pairs = _pairs(q_words)
        q_text = " ".join(q_words)
        q_numbers = {w for w in q_set if w.isdigit()}
        total = sum(self._weight(w) for w in q_set)

        # Candidate entries by accumulated IDF of shared words.
        acc: dict[str, float] = defaultdict(float)
        for w in q_set:
            ids = self.postings.get(w)
            if ids:
                weight = self._weight(w)
                for entry_id in ids:
                    acc[entry_id] += weight
        if not acc:
            return MatchResult(query)
        shortlist = sorted(acc, key=acc.__getitem__, reverse=True)[:CANDIDATES]

        scored: list[Candidate] = []
        for entry_id in shortlist:
            vocab = self.vocab_of[entry_id]
            coverage = sum(self._weight(w) * trust[w] for w in q_set if w in vocab) / total
            phrase = (len(q_pairs & self.pairs_of[entry_id]) / len(q_pairs)) if q_pairs else coverage
            fuzzy = max(fuzz.token_sort_ratio(q_text, d.text) for d in self.docs_of[entry_id]) / 100.0
            score = 100.0 * (W_COVERAGE * coverage + W_PHRASE * phrase + W_FUZZY * fuzzy)
            if q_numbers and not q_numbers <= vocab:
                score *= NUMBER_MISMATCH
            scored.append(Candidate(entry_id, round(score, 2), coverage, phrase, fuzzy))
        scored.sort(key=lambda c: c.score, reverse=True)
        return MatchResult(query, scored[:limit])
