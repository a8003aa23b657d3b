"""BM25 over whole entries: what the entry asks (title, paraphrases, tags) and what it answers.

The paraphrase matcher (`knowledge.matcher`) compares a question with the ways an entry is asked; this index
also reads the answer, where the everyday words of a topic often are ("đường", "chợ", "rác"), and scores
syllable pairs as well as syllables: in Vietnamese most words have two syllables, and "giá lúa" or "kết hôn"
mean nothing here even though each syllable occurs somewhere in the base.

Fields are weighted (asked > answered): an answer mentions many things it is not about.
"""
from __future__ import annotations

import heapq
import math
from array import array
from collections import Counter, defaultdict
from operator import add
from typing import Iterable, Mapping, Sequence

from knowledge.normalize import content_tokens

K1 = 1.2
B = 0.75
PAIR_WEIGHT = 1.0  # a syllable pair counts like one more word
FIELD_WEIGHTS = {"asked": 1.0, "answer": 0.35}
MIN_IDF = 0.0  # every term is scored (a question of common words only, "nông thôn mới là gì", needs them)
IMPACT_BUDGET = 4000  # entry scores added per question before the commonest terms are added to the best only
RESCORE = 60
DENSE_SHARE = 8  # a term in at least 1/8 of the entries is added densely


def dense_rows(postings: Mapping[str, Sequence[tuple[int, float]]], n: int) -> dict[str, array[float]]:
    """The keys found in at least 1/DENSE_SHARE of n entries, as one value per entry (0.0 where absent): a question
    adds such a row in one pass of C (map) instead of a Python loop over its postings."""
    rows: dict[str, array[float]] = {}
    for key, v in postings.items():
        if len(v) * DENSE_SHARE >= n:
            row = array("d", bytes(8 * n))
            for i, x in v:
                row[i] = x
            rows[key] = row
    return rows


def terms(words: Sequence[str]) -> list[str]:
    """Syllables and adjacent syllable pairs ("giao", "thong", "giao_thong")."""
    return [*words, *(f"{a}_{b}" for a, b in zip(words, words[1:]))]


class Bm25:
    """BM25F-like scoring of entries: per-field term frequencies weighted before saturation."""

    def __init__(self, asked: Mapping[str, Iterable[str]], answers: Mapping[str, str]):
        self.tf: dict[str, Counter[str]] = {}
        self.length: dict[str, float] = {}
        self._asked: dict[str, list[str]] = {}  # entry -> its asked texts (leave-one-out recounts one)
        df: Counter[str] = Counter()
        wa = FIELD_WEIGHTS["answer"]
        assert FIELD_WEIGHTS["asked"] == 1.0  # asked terms are counted as they are (Counter.update)
        for entry_id in sorted(asked):
            texts = list(asked[entry_id])
            tf: Counter[str] = Counter()
            for text in texts:
                tf.update(terms(content_tokens(text)))
            for t, n in Counter(terms(content_tokens(answers.get(entry_id, "")))).items():
                tf[t] += wa * n
            self.tf[entry_id] = tf
            self._asked[entry_id] = texts
            self.length[entry_id] = sum(tf.values())
            df.update(tf.keys())
        self.n = max(len(self.tf), 1)
        self.avg = (sum(self.length.values()) / self.n) or 1.0
        self.idf = {t: math.log(1 + (self.n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        # Each term's contribution to each entry, computed once: a question costs one sum per shared term.
        impact: dict[str, list[tuple[str, float]]] = defaultdict(list)
        idf, k1 = self.idf, K1
        for entry_id, tf in self.tf.items():
            norm = k1 * (1 - B + B * self.length[entry_id] / self.avg)
            for t, f in tf.items():
                w = idf[t] * (PAIR_WEIGHT if "_" in t else 1.0)
                impact[t].append((entry_id, w * f * (k1 + 1) / (f + norm)))
        # … by the entry's position in `ids`: a question's scores are summed in a list, not a dict of names.
        self.ids: list[str] = sorted(self.tf)
        position = {e: i for i, e in enumerate(self.ids)}
        self._impact_at: dict[str, tuple[tuple[int, float], ...]] = {
            t: tuple((position[e], x) for e, x in v) for t, v in impact.items()}
        # A term in many entries ("xã", "nông thôn") is also kept as one score per entry (0.0 where absent), added to
        # a question's scores in one pass of C (map) instead of a Python loop; x + 0.0 is x, so the sums are the same.
        self._dense = dense_rows(self._impact_at, len(self.ids))

    def _term_score(self, term: str, f: float, length: float) -> float:
        w = self.idf[term] * (PAIR_WEIGHT if "_" in term else 1.0)
        norm = K1 * (1 - B + B * length / self.avg)
        return w * f * (K1 + 1) / (f + norm)

    def known(self, term: str) -> bool:
        return term in self.idf

    def scores(self, words: Sequence[str], exclude: tuple[str, str] | None = None) -> dict[str, float]:
        """entry -> BM25 score for a question's content words (only entries sharing a term)."""
        q = Counter(terms(words))
        skip_entry, skip_tf = None, None
        if exclude is not None and exclude[1] in self._asked.get(exclude[0], ()):
            skip_entry = exclude[0]
            skip_tf = Counter(terms(content_tokens(exclude[1])))
        acc = [0.0] * len(self.ids)  # by position in self.ids
        # Rarest terms first; once IMPACT_BUDGET entry scores were added, the commonest terms are added only to the
        # RESCORE best entries so far (a large base: "xã", "nông thôn" are in thousands of entries).
        visited, skipped = 0, []
        for t in sorted(q, key=lambda t: (len(self._impact_at.get(t, ())), t)):
            if self.idf.get(t, 0.0) < MIN_IDF:
                continue
            impacts = self._impact_at.get(t, ())
            if visited and visited + len(impacts) > IMPACT_BUDGET:
                skipped.append(t)
                continue
            visited += len(impacts)
            dense = self._dense.get(t)
            if dense is not None:
                acc = list(map(add, acc, dense))
                continue
            for i, score in impacts:
                acc[i] += score
        ids = self.ids
        out: dict[str, float] = {ids[i]: x for i, x in enumerate(acc) if x}
        if skipped:
            for entry_id, _ in heapq.nlargest(RESCORE, out.items(), key=lambda kv: (kv[1], kv[0])):
                tf, length = self.tf[entry_id], self.length[entry_id]
                for t in skipped:
                    f = tf.get(t)
                    if f:
                        out[entry_id] += self._term_score(t, f, length)
        if skip_tf is not None and skip_entry in out:  # leave-one-out: that entry scored without the paraphrase
            length = self.length[skip_entry] - FIELD_WEIGHTS["asked"] * sum(skip_tf.values())
            total = 0.0
            for t in q:
                f = self.tf[skip_entry].get(t, 0.0) - FIELD_WEIGHTS["asked"] * skip_tf.get(t, 0)
                if self.idf.get(t, 0.0) >= MIN_IDF and f > 1e-9:
                    total += self._term_score(t, f, length)
            out[skip_entry] = total
            if total <= 0.0:
                del out[skip_entry]
        return out

    def self_score(self, words: Sequence[str]) -> float:
        """An upper reference for a question's scores: every term matched once at saturation in an average entry."""
        return sum(idf * (PAIR_WEIGHT if "_" in t else 1.0) for t in set(terms(words))
                   if (idf := self.idf.get(t, 0.0)) >= MIN_IDF) or 1.0
