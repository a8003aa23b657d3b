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
mentions is penalised. A question naming a criterion by its number ("tiêu chí số 3", "tc 17") favours the
entries tagged with that criterion (`tieu-chi-3`, `tc-17`) over ones where the number means something else
("3 nhóm xã", "10 tiêu chí"). Candidates come from an inverted index, so cost grows with the words of the
question, not with the size of the knowledge base. Typos outside the vocabulary are corrected to the
closest known word.
"""
from __future__ import annotations

import heapq
import math
import re
from operator import add, mul
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import TYPE_CHECKING, Iterable

from rapidfuzz import fuzz, process

from knowledge.normalize import content_tokens
from knowledge.retrieval import dense_rows

if TYPE_CHECKING:
    from knowledge.reading import Reading

CANDIDATES = 24
_CRITERION_TAG = re.compile(r"^(tieu-chi|tc)-(\d{1,2})$")
POSTINGS_BUDGET = 800  # entries visited while shortlisting; the most common words are skipped beyond it
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
    min_information: float = 2.0  # total IDF below which a question is too vague to answer outright
    vague: float = 0.75  # factor for such questions ("có bão không": "bão" folds to the "bao" of "bao nhiêu")
    anchor_information: float = 3.0  # a topic word alone ("ocop là gì") is specific enough
    criterion_match: float = 1.12  # "tiêu chí số N": the entry is criterion N
    criterion_other: float = 0.85  # … the entry is another criterion
    criterion_none: float = 0.92  # … the entry is about no single criterion (where N may mean a count)


class Doc:
    """A matchable text of an entry: one paraphrase, or the title."""

    __slots__ = ("entry_id", "text", "words", "pairs", "norm")

    def __init__(self, entry_id: str, text: str, words: frozenset[str], pairs: frozenset[tuple[str, str]]):
        self.entry_id = entry_id
        self.text = text  # normalised words joined, for fuzzy comparison
        self.words = words
        self.pairs = pairs
        self.norm = 1.0  # IDF length, set once the IDF is known


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
        self.docs_of: dict[str, list[Doc]] | None = {}
        self.extra_of: dict[str, frozenset[str]] = {}
        self.criteria_of: dict[str, frozenset[str]] = {}  # entry -> criterion numbers it is about (from tags)
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
            crit = {m.group(2).lstrip("0") for t in (extra_words or {}).get(entry_id, ()) if (m := _CRITERION_TAG.match(t))}
            if crit:
                self.criteria_of[entry_id] = frozenset(crit)
            for w in self._vocab(entry_id):
                postings[w].add(entry_id)
        n = max(len(self.docs_of), 1)
        self.idf: dict[str, float] = {w: math.log((n + 1) / (len(ids) + 0.5)) for w, ids in postings.items()}
        self.max_idf = math.log((n + 1) / 0.5)
        # Postings as positions in `ids` (sorted): a question's overlap is summed in a list, not a dict of names.
        self.ids: list[str] = sorted(self.docs_of)
        position = {e: i for i, e in enumerate(self.ids)}
        self.postings: dict[str, tuple[int, ...]] = {w: tuple(sorted(position[e] for e in ids))
                                                     for w, ids in postings.items()}
        # A word in many entries is also kept as 1.0/0.0 per entry, added in one pass of C (x + w * 0.0 is x).
        self._dense = dense_rows({w: [(i, 1.0) for i in at] for w, at in self.postings.items()}, len(self.ids))
        self.vocabulary: list[str] = sorted(w for w in postings if len(w) >= 3 and not w.isdigit())
        for docs in self.docs_of.values():
            for d in docs:
                d.norm = self._length(d.words)
        self.texts_of: dict[str, list[str]] = {e: [d.text for d in docs] for e, docs in self.docs_of.items()}
        # Their words sorted: fuzz.ratio on sorted words is fuzz.token_sort_ratio, without sorting them per question.
        self._sorted_of: dict[str, list[str]] = {e: [_sorted_words(t) for t in ts] for e, ts in self.texts_of.items()}
        self.doc_index_of: dict[str, dict[str, list[int]]] = {e: self._doc_index(docs) for e, docs in self.docs_of.items()}
        self.inv_norms_of: dict[str, list[float]] = {e: [1.0 / d.norm for d in docs] for e, docs in self.docs_of.items()}
        self.vocab_of: dict[str, frozenset[str]] = {e: self._vocab(e) for e in self.docs_of}
        self.pairs_of: dict[str, frozenset[tuple[str, str]]] = {
            e: frozenset().union(*(d.pairs for d in docs)) for e, docs in self.docs_of.items()
        }
        self._inv_vocab_norm: dict[str, float] = {e: 1.0 / self._length(v) for e, v in self.vocab_of.items()}
        self._inv_vocab_norm_at: list[float] = [self._inv_vocab_norm[e] for e in self.ids]
        # Paraphrases by their set of words: a question that says exactly one of them is always shortlisted (a short
        # exact entry with many long paraphrases has a low density and would be crowded out by common words).
        exact: dict[frozenset[str], set[str]] = defaultdict(set)
        for e, docs in self.docs_of.items():
            for d in docs:
                exact[d.words].add(e)
        self.exact: dict[frozenset[str], tuple[str, ...]] = {k: tuple(sorted(v)) for k, v in exact.items()}
        self.known_pairs: frozenset[tuple[str, str]] = frozenset(
            p for docs in self.docs_of.values() for d in docs for p in d.pairs
        )

    def __getstate__(self) -> dict:
        # The paraphrases as Doc objects are needed only to leave one out (training); a process that reads the
        # index back from its cache rebuilds them from the texts when it does.
        state = dict(self.__dict__)
        state["docs_of"] = None
        return state

    def _docs(self) -> dict[str, list[Doc]]:
        if self.docs_of is None:
            docs_of: dict[str, list[Doc]] = {}
            for e, texts in self.texts_of.items():
                docs = []
                for text in texts:
                    words = tuple(text.split())
                    d = Doc(e, text, frozenset(words), _pairs(words))
                    d.norm = self._length(d.words)
                    docs.append(d)
                docs_of[e] = docs
            self.docs_of = docs_of
        return self.docs_of

    def _vocab(self, entry_id: str, skip: Doc | None = None) -> frozenset[str]:
        words: set[str] = set(self.extra_of.get(entry_id, ()))
        for d in self._docs()[entry_id]:
            if d is not skip:
                words |= d.words
        return frozenset(words)

    @staticmethod
    def _doc_index(docs: list[Doc]) -> dict[str, list[int]]:
        """word -> positions of the entry's paraphrases that contain it."""
        index: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(docs):
            for w in d.words:
                index[w].append(i)
        return dict(index)

    def _weight(self, word: str) -> float:
        return self.idf.get(word, self.max_idf)

    def _length(self, words: Iterable[str]) -> float:
        return math.sqrt(sum(self._weight(w) ** 2 for w in sorted(words))) or 1.0

    def _correct(self, word: str) -> tuple[str, float]:
        """Known word, or the closest known word for a typo (with a confidence factor)."""
        if word in self.idf or word.isdigit() or len(word) < 4:
            return word, 1.0
        hit = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=80)
        if hit is None:
            return word, 1.0
        return hit[0], 0.85

    def match(self, query: str, limit: int = 5, exclude: tuple[str, str] | None = None,
              reading: "Reading | None" = None) -> MatchResult:
        """Rank entries for a question. `exclude=(entry_id, text)` hides one paraphrase (leave-one-out).
        `reading` (see knowledge.reading) gives the words already corrected, and words the lexicon added."""
        raw = reading.words if reading is not None else content_words(query)
        if not raw:
            return MatchResult(query)
        trust: dict[str, float] = {}
        words: list[str] = []
        for w in raw:
            c, f = self._correct(w)
            words.append(c)
            trust[c] = min(trust.get(c, 1.0), f * (reading.trust.get(w, 1.0) if reading is not None else 1.0))
        q_words = tuple(words)
        added = tuple(w for w in (reading.added if reading is not None else ()) if w not in trust)
        for w in added:
            trust[w] = reading.trust.get(w, 0.6) if reading is not None else 0.6
        q_set = frozenset(q_words + added)
        # Iterated in a fixed order: float sums and ties must not depend on the process's hash seed (the same
        # question would get another answer after a restart).
        q_uniq = tuple(sorted(q_set))
        q_pairs = _pairs(q_words)
        q_sorted = _sorted_words(" ".join(q_words))
        q_numbers = {w for w in q_uniq if w.isdigit()}
        q_criterion = _criterion_number(q_words) if q_numbers else None
        q_anchors = [a for a in ANCHORS if _contains(q_words, a)]
        # Word pairs no paraphrase of the whole base contains: "kết hôn" folds to two known syllables
        # ("kết" of "kết quả", "hơn"), but the pair is foreign to this subject.
        novelty = (len([p for p in q_pairs if p not in self.known_pairs]) / len(q_pairs)) if q_pairs else 0.0
        prm = self.params
        q_weight = {w: self._weight(w) * trust[w] for w in q_uniq}
        total = sum(q_weight.values())
        q_len = math.sqrt(sum(v * v for v in q_weight.values())) or 1.0
        information = sum(q_weight[w] for w in q_uniq if not any(w in a for a in q_anchors))
        information += prm.anchor_information * len(q_anchors)
        vague = prm.vague if information < prm.min_information else 1.0

        skip_entry, skip_doc = None, None
        if exclude is not None:
            skip_entry = exclude[0]
            target = " ".join(content_words(exclude[1]))
            skip_doc = next((d for d in self._docs().get(skip_entry, []) if d.text == target), None)

        # Rarest words first; stop walking postings of very common words once the budget is spent (they
        # still count fully when the shortlisted candidates are scored).
        acc = [0.0] * len(self.ids)  # by position in self.ids
        walked: list[tuple[int, ...]] = []
        visited = 0
        for w in sorted(q_uniq, key=lambda x: len(self.postings.get(x, ()))):
            at = self.postings.get(w, ())
            if visited and visited + len(at) > POSTINGS_BUDGET:
                break
            visited += len(at)
            walked.append(at)
            weight = q_weight[w]
            dense = self._dense.get(w)
            if dense is not None:
                acc = list(map(add, acc, map(mul, dense, repeat(weight))))
                continue
            for i in at:
                acc[i] += weight
        # Entries in the order they were first reached (ties in the shortlist keep that order).
        keys = list(dict.fromkeys(chain.from_iterable(walked)))
        if not keys:
            return MatchResult(query)
        # Shortlist by raw overlap and by overlap relative to the entry's size, so that a short, exact entry
        # ("nông thôn mới là gì") is not crowded out by long entries that merely mention the same words.
        half = CANDIDATES // 2
        if len(keys) <= CANDIDATES:
            by_overlap, by_density = keys, []
        else:
            density = list(map(mul, acc, self._inv_vocab_norm_at))
            by_overlap = heapq.nlargest(half, keys, key=acc.__getitem__)
            by_density = heapq.nlargest(half, keys, key=density.__getitem__)
        ids = self.ids
        shortlist = list(dict.fromkeys([ids[i] for i in by_overlap + by_density]
                                       + list(self.exact.get(frozenset(q_words), ()))))

        # Per-word products for the cosine, computed once per question.
        q_idf = {w: q_weight[w] * self._weight(w) for w in q_uniq}
        # Three signals and the penalties first; fuzzy last, and only where it can still change the top `limit`.
        common = (1.0 - prm.novelty * novelty) * vague
        partial: list[tuple[float, float, str, float, float, float, float, list[str]]] = []
        for entry_id in shortlist:
            if skip_doc is not None and entry_id == skip_entry:
                docs = [d for d in self._docs()[entry_id] if d is not skip_doc]
                vocab = self._vocab(entry_id, skip_doc)
                pairs = frozenset().union(*(d.pairs for d in docs))
                texts = [_sorted_words(d.text) for d in docs]
                doc_words = self._doc_index(docs)
                inv_norms = [1.0 / d.norm for d in docs]
            else:
                vocab, pairs = self.vocab_of[entry_id], self.pairs_of[entry_id]
                texts, doc_words = self._sorted_of[entry_id], self.doc_index_of[entry_id]
                inv_norms = self.inv_norms_of[entry_id]
            if not texts:
                continue
            shared = sorted(q_set & vocab)  # in q_uniq's order: float sums do not depend on the hash seed
            coverage = sum(q_weight[w] for w in shared) / total
            dots = [0.0] * len(texts)
            for w in shared:  # dot products only with the paraphrases that contain the word
                weight = q_idf[w]
                for i in doc_words.get(w, ()):
                    dots[i] += weight
            cosine = max(map(mul, dots, inv_norms)) / q_len
            phrase = len(q_pairs & pairs) / len(q_pairs) if q_pairs else coverage
            mult = common
            for n in sorted(q_numbers - vocab):
                mult *= prm.year_mismatch if len(n) == 4 else prm.number_mismatch
            for a in q_anchors:
                if not set(a) <= vocab:
                    mult *= prm.anchor_missing
            if q_criterion is not None:
                crit = self.criteria_of.get(entry_id)
                if crit is None:
                    mult *= prm.criterion_none
                else:
                    mult *= prm.criterion_match if q_criterion in crit else prm.criterion_other
            base = 100.0 * (prm.w_cosine * cosine + prm.w_coverage * coverage + prm.w_phrase * phrase)
            upper = (base + 100.0 * prm.w_fuzzy) * mult  # fuzzy is at most 1
            partial.append((upper, base, entry_id, mult, cosine, coverage, phrase, texts))
        partial.sort(key=lambda p: p[0], reverse=True)
        scored: list[Candidate] = []
        for upper, base, entry_id, mult, cosine, coverage, phrase, texts in partial:
            if len(scored) >= limit and upper < scored[limit - 1].score:
                break  # neither this candidate nor any after it can enter the top `limit`
            cutoff = 0.0
            if len(scored) >= limit and mult > 0:  # the similarity it needs to enter the top `limit` at all
                cutoff = max(0.0, (scored[limit - 1].score / mult - base) / prm.w_fuzzy)
            hit = process.extractOne(q_sorted, texts, scorer=fuzz.ratio, score_cutoff=cutoff)  # token sort ratio
            if hit is None:
                continue
            fuzzy = hit[1] / 100.0
            score = (base + 100.0 * prm.w_fuzzy * fuzzy) * mult
            scored.append(Candidate(entry_id, round(score, 2), cosine, coverage, phrase, fuzzy))
            scored.sort(key=lambda c: c.score, reverse=True)
        return MatchResult(query, scored[:limit])


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _criterion_number(words: tuple[str, ...]) -> str | None:
    """N in "tiêu chí (số|thứ) N" (also "tc N", which folds to the same words)."""
    for i in range(len(words) - 2):
        if words[i] == "tieu" and words[i + 1] == "chi":
            j = i + 2
            if j < len(words) and words[j] in ("so", "thu"):
                j += 1
            counted = i > 0 and words[i - 1] == "bo" and words[j + 1 : j + 3] == ("tieu", "chi")
            if j < len(words) and words[j].isdigit() and len(words[j]) <= 2 and not counted:
                return words[j].lstrip("0") or None  # (not "bộ tiêu chí [có] 10 tiêu chí": a count)
    return None
