"""Load, check and query the knowledge base.

`KnowledgeBase.load()` reads every YAML file under knowledge/data/, validates it against the schema and
builds the matcher. A knowledge base with errors is never put into service: `load` raises, and a
running bot keeps its previous content (see `bot.app.App.reload_kb`).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import os
import pickle
import re
import sys
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import yaml
from pydantic import ValidationError

from knowledge import yamlload
from knowledge.decision import MODEL_PATH, DecisionModel, Thresholds, content_hash
from knowledge.features import FEATURES, LOCAL, Retriever
from knowledge.matcher import Matcher, _criterion_number as criterion_number
from knowledge.normalize import normalized, tokens
from knowledge.reading import LEXICON_PATH, Reading
from knowledge.schema import PERIOD_END, PERIOD_LABELS, Entry, EntryFile, Facts, Source, local_today, years_of

DATA_DIR = Path(__file__).resolve().parent / "data"
# Platform text limits (characters after NFC): Telegram 4096, Zalo 2000.
CHANNEL_LIMITS = {"telegram": 4096, "zalo": 2000}
PHONE_BUDGET = 900  # answer + source line, in characters: one phone screen; longer -> split into "xem thêm" entries
FIGURE_MAX_AGE = dt.timedelta(days=365)  # figures older than this need a review note (`review_note`, `reviewed`)
PLACEHOLDER_STANDIN = 60  # characters counted for a {placeholder} when no configured value is given
MIN_PARAPHRASES = 4
MAX_ID_LEN = 48
LOCAL_HEDGE = 0.5  # a province entry among a whole-country entry's first three is answered (hedged) from this first-stage probability
DECISION_CACHE = 4096  # distinct questions whose decision is kept
CACHE_VERSION = 1  # bump when the pickled structures change shape
SUGGEST_SHARE = 0.5
PERIOD_SWAP_SHARE = 0.3  # a candidate of the period the question names wins over one of the other period this far ahead  # a suggestion below half the best one's probability is not shown
PLACEHOLDERS = ("agency_name", "agency_contact", "contact_retention_months")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


class KnowledgeBaseError(Exception):
    def __init__(self, problems: list["Problem"]):
        self.problems = problems
        errors = [p for p in problems if p.level == "error"]
        super().__init__(f"{len(errors)} lỗi trong cơ sở tri thức: " + "; ".join(str(p) for p in errors[:5]))


@dataclass(frozen=True)
class Problem:
    level: str  # error | warning
    where: str  # file and/or entry id
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper()} {self.where}: {self.message}"


@dataclass
class Ranked:
    entry_id: str
    prob: float  # how likely this entry answers the question (0..1, calibrated)
    score: float  # the paraphrase matcher's score (0..100), for logs and tuning


@dataclass
class Decision:
    """What the bot does with a question: answer it, offer suggestions, say it is not sure, or say it is not
    about what the bot covers."""

    kind: str  # answer | suggest | decline | offtopic
    entry: Entry | None
    suggestions: list[Entry]
    score: float  # the best candidate's probability, as a percentage (0..100)
    ranked: list[Ranked] = field(default_factory=list)  # best first
    reading: "Reading | None" = None
    note: str = ""  # a line shown before the answer ("today's set has 10 criteria; this one is of the old set")
    also: list[Entry] = field(default_factory=list)  # entries offered as buttons beside the answer
    hedged: bool = False  # answered with less certainty: the reply says how the question was understood
    decided: list[float] = field(default_factory=list)  # what the thresholds read (knowledge.decision), best first

    @property
    def best(self) -> Ranked | None:
        return self.ranked[0] if self.ranked else None


PLACE_OUTSIDE = FEATURES.index("place_outside")
_WHOLE_COUNTRY = re.compile(r"\b(?:ca nuoc|toan quoc)\b")
FIRST_SURE = 0.8  # the first stage's own probability of its best from which a hesitant second stage still answers (hedged)
ANSWER_FLOOR = 0.3  # the best candidate's own (first-stage) probability below which nothing is answered
WHOLE_COUNTRY_TAG = "ca-nuoc"  # … or an entry tagged so (the national programme's targets: "OCOP 2021–2025 đặt mục tiêu gì")
COMPARISON_TAG = "so-sanh"  # an entry that says how two periods, sets or things differ


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Unpickling creates a few hundred thousand objects, each a reason for the cycle collector to run: it tripled
    the load time. None of them is garbage, so it waits until the load is done."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class KnowledgeBase:
    entries: dict[str, Entry]
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    facts: Facts = field(default_factory=Facts)

    def __post_init__(self) -> None:
        self._decisions: OrderedDict[tuple, Decision] = OrderedDict()
        self._lock = threading.Lock()  # database worker threads share the knowledge base
        self.matcher = Matcher(
            {e.id: [*e.questions, e.title] for e in self.entries.values()},
            {e.id: e.tags for e in self.entries.values()},
        )
        self.retriever = Retriever(self.entries.values(), self.matcher)
        self.content_hash = content_hash(
            [LEXICON_PATH.read_text(encoding="utf-8")]
            + [f"{e.id}\n{e.title}\n{e.answer}\n{e.period}\n{' '.join(e.tags)}\n" + "\n".join(e.questions)
               for e in sorted(self.entries.values(), key=lambda e: e.id)])
        self.model = DecisionModel.load() or _fallback_model()

    def with_model(self, model: DecisionModel) -> "KnowledgeBase":
        """The same content decided by another model (a retrained one)."""
        self.model = model
        with self._lock:
            self._decisions.clear()
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_decisions"] = OrderedDict()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def model_is_current(self) -> bool:
        """Was the decision model trained on this content (else a retrained one should replace it)?"""
        return self.model.kb_hash == self.content_hash

    # -- loading
    @classmethod
    def load(cls, data_dir: Path | str = DATA_DIR, today: dt.date | None = None,
             cache_dir: Path | str | None = None) -> "KnowledgeBase":
        """Read, check and index the content. With `cache_dir`, the built knowledge base is kept there, keyed by
        every byte it depends on (content, lexicon, model, the code of this package): a process that starts on
        unchanged content (`ntm-bot ask`, a restart) reads it back instead of indexing again."""
        data_dir = Path(data_dir)
        today = today or local_today()
        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"kb-{_source_key(data_dir, today)}.pickle"
            try:
                with open(path, "rb") as fh, _no_gc():
                    kb = pickle.load(fh)
                if isinstance(kb, cls):
                    return kb
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
                pass
        entries, facts, files, problems = read_content(data_dir)
        problems += check_entries(entries, today=today)
        problems += check_facts(facts, {e.id: e for _, e in entries})
        if any(p.level == "error" for p in problems):
            raise KnowledgeBaseError(problems)
        kb = cls({e.id: e for _, e in entries}, files, problems, facts=facts)
        if path is not None:
            _write_cache(path, kb)
        return kb

    @classmethod
    def for_settings(cls, settings: object) -> "KnowledgeBase":
        """The content the settings point at (KB_DIR), or the curated content shipped with the bot; built once per
        content version (cached under DATA_DIR/cache), with the retrained decision model when there is one."""
        kb_dir = getattr(settings, "kb_dir", None)
        data_dir = getattr(settings, "data_dir", None)
        cache = Path(data_dir) / "cache" if data_dir else None
        kb = cls.load(kb_dir or DATA_DIR, cache_dir=cache)
        if cache is not None and not kb.model_is_current:
            retrained = DecisionModel.load(cache / f"model-{kb.content_hash}.json")
            if retrained is not None:
                kb.with_model(retrained)
        return kb

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> "KnowledgeBase":
        return cls({e.id: e for e in entries})

    # -- querying
    def decide(self, question: str, exclude: tuple[str, str] | None = None) -> Decision:
        if exclude is not None:
            return self._decide(question, exclude)
        # Citizens ask the same questions again and again, typed many ways: decisions are cached by the
        # question's words (after folding), per content version (a reload builds a new KnowledgeBase, so a
        # stale decision is never served).
        key = tokens(question)
        cache = self._decisions
        with self._lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
                return hit
        d = self._decide(question, None)
        with self._lock:
            cache[key] = d
            if len(cache) > DECISION_CACHE:
                cache.popitem(last=False)
        return d

    def _decide(self, question: str, exclude: tuple[str, str] | None) -> Decision:
        retrieval = self.retriever.retrieve(question, exclude=exclude)
        model = self.model
        domain = [model.domain_logit(retrieval.reading.all_words)]
        rows = {c.entry_id: c.x + domain for c in retrieval.candidates}
        ranked = sorted((Ranked(c.entry_id, model.prob(rows[c.entry_id]), c.matcher_score) for c in retrieval.candidates),
                        key=lambda r: (-r.prob, r.entry_id))
        first = ranked[0].entry_id if ranked else None
        ranked, note, also = self._criterion_period(retrieval.reading, ranked)
        if not also:
            ranked, also = self._period_preference(retrieval.reading, ranked)
        if retrieval.reading.compare and not note:
            ranked = self._comparison(retrieval.reading, ranked)
        probs = [r.prob for r in ranked]
        # The second stage judges the model's own best candidate (a rule that chose another entry keeps the
        # confidence the rule gave it).
        if ranked and ranked[0].entry_id == first:
            decided = model.decision_probs(probs, rows[first])
        else:
            decided = probs
        kind = model.thresholds.kind(decided)
        t = model.thresholds
        if kind == "suggest" and ranked and ranked[0].entry_id == first and ranked[0].prob >= FIRST_SURE:
            # The second stage hesitates because another entry is plausible too (two entries of one plan, of one
            # programme), while the first stage itself is sure of its best: that one is answered, saying how the
            # question was understood, with the other one a tap away (below, as for every hedged answer).
            kind = "hedged"
        if kind in ("answer", "hedged") and ranked and ranked[0].prob < ANSWER_FLOOR:
            # the second stage reads only the shape of the candidates' probabilities: it can be sure of a lone
            # candidate the first stage itself gives less than a third of a chance; that one is offered, not answered
            kind = "suggest"
        if kind in ("answer", "hedged") and ranked[0].entry_id == first and rows[first][PLACE_OUTSIDE]:
            # It names another province, and the entry speaks only of An Giang or the whole country ("Cà Mau có
            # bao nhiêu sản phẩm OCOP"): however sure the words, that is not an answer to it.
            kind = "suggest"
        if kind in ("answer", "hedged", "suggest") and self._country_for_province(retrieval.reading, ranked[0].entry_id):
            # … and the province's own entries among the first three are offered first; one the first stage finds
            # likely, well ahead of any other of them, is answered, saying how the question was understood
            kind = "suggest"
            local = [r for r in ranked[:3] if self.entries[r.entry_id].topic == "an-giang"]
            ranked = local + [r for r in ranked if r not in local]
            probs = [r.prob for r in ranked]
            if local and local[0].prob >= LOCAL_HEDGE and (len(local) == 1 or local[1].prob < local[0].prob / 2):
                kind = "hedged"
        if kind == "decline" and len(probs) > 1 and probs[1] >= t.suggest:
            kind = "suggest"  # two entries are plausible and the model cannot tell which: offer both
        elif kind == "suggest" and probs and probs[0] < t.suggest and not retrieval.reading.topics \
                and not self._quotes_figure(retrieval.reading, ranked[0].entry_id):
            kind = "offtopic"  # no entry is plausible and no topic of the base is named ("giá lúa hôm nay")
        if kind == "suggest" and not note and not also:
            twin = self._criterion_twin(retrieval.reading, ranked)
            if twin is not None:
                # "kênh mương bồi lắng hết… thuộc tiêu chí nào": the two criteria sets each have a criterion for it,
                # and the model hesitates between them: the first is answered, saying which one the other set has
                kind, also = "hedged", [twin]
                note = "Mỗi bộ tiêu chí có một tiêu chí cho việc này. " + self.first_line(twin)
        score = 100.0 * decided[0] if decided else 0.0
        if kind == "hedged" and len(ranked) > 1 and ranked[1].prob >= ranked[0].prob * SUGGEST_SHARE \
                and ranked[1].entry_id not in also:
            also = [*also, ranked[1].entry_id]  # answered saying how it was understood: the close other one a tap away
        if kind in ("answer", "hedged"):
            return Decision("answer", self.entries[ranked[0].entry_id], [], score, ranked, retrieval.reading,
                            note, [self.entries[i] for i in also], hedged=kind == "hedged", decided=decided)
        if kind == "suggest":
            close = [self.entries[r.entry_id] for r in ranked[:3] if r.prob >= min(t.suggest, probs[0]) * SUGGEST_SHARE
                     and r.prob >= probs[0] * SUGGEST_SHARE]
            return Decision("suggest", None, close, score, ranked, retrieval.reading, decided=decided)
        if kind == "offtopic" and retrieval.reading.topics:
            kind = "decline"  # it names what the bot covers ("… nông thôn mới …"): not sure, rather than off-topic
        return Decision(kind, None, [], score, ranked, retrieval.reading, decided=decided)

    def _country_for_province(self, reading: Reading, entry_id: str) -> bool:
        """"ocop 5 sao tỉnh mình có mấy sp": the question asks about An Giang («tỉnh mình», «An Giang»), the entry
        gives the whole country's figures (its title says «cả nước», or it is tagged `ca-nuoc`) and never names An
        Giang (outside its contrast lines, as the place features read it): offered, not answered (the mirror of
        another province named)."""
        e = self.entries[entry_id]
        if e.topic == "an-giang" or not (WHOLE_COUNTRY_TAG in e.tags or _WHOLE_COUNTRY.search(normalized(e.title))):
            return False
        return bool(LOCAL.search(" ".join(reading.raw))) and " an giang " not in self.retriever.places_said[entry_id]

    def _criterion_twin(self, reading: Reading, ranked: list[Ranked]) -> str | None:
        """The second entry, when the two best are criteria of the two criteria sets, close to each other, and the
        question speaks of NTM («tiêu chí», «nông thôn mới»: "coi quy hoạch đất nhà mình ở đâu" does not) and names
        neither a period nor a criterion number (those are for `_criterion_period`)."""
        if len(ranked) < 2 or reading.period is not None or reading.compare or criterion_number(reading.words) \
                or "ntm" not in reading.topics:
            return None
        a, b = ranked[0], ranked[1]
        sets = {s.period for s in self.facts.criteria_sets}
        criteria = self.retriever.criteria
        pa, pb = self.entries[a.entry_id].period, self.entries[b.entry_id].period
        if not (criteria.get(a.entry_id) and criteria.get(b.entry_id) and pa != pb and {pa, pb} <= sets):
            return None
        return b.entry_id if b.prob >= a.prob * SUGGEST_SHARE else None

    def _quotes_figure(self, reading: Reading, entry_id: str) -> bool:
        """The question quotes a figure of the entry ("vốn 423 nghìn tỷ là cho mấy năm": 423.000): it is about what
        the base covers, even with no word of its topics. Years and small numbers say too little."""
        vocab = self.retriever.vocab[entry_id]
        return any(w.isdigit() and len(w) >= 3 and not 1900 <= int(w) <= 2100 and w in vocab for w in reading.words)

    def criterion_entries(self, n: str) -> dict[str, str]:
        """Criterion number `n` -> its entry in each criteria set (facts.criteria_sets), by the set's period."""
        sets = {s.period for s in self.facts.criteria_sets}
        criteria = self.retriever.criteria
        return {self.entries[i].period: i for i in sorted(criteria) if n in criteria[i] and self.entries[i].period in sets}

    def first_line(self, entry_id: str) -> str:
        """The first line of an entry's answer as the citizen reads it (a criterion's names the criterion)."""
        return self.render(self.entries[entry_id]).splitlines()[0].strip()

    def _criterion_period(self, reading: Reading, ranked: list[Ranked]) -> tuple[list[Ranked], str, list[str]]:
        """"tiêu chí (số) N": the entry of criterion N of the period the question means. A bare number means the
        set that applies today (facts.criteria_sets, `current`), with a button to the same number in the other
        set; a number only the old set has is answered from it, saying that today's set is shorter."""
        if not ranked or reading.period == "both":
            return ranked, "", []
        n = criterion_number(reading.words)
        if n is None:
            return ranked, "", []
        current = self.facts.current_criteria_set
        if current is None:
            return ranked, "", []
        of_n = self.criterion_entries(n)
        if not of_n:
            return ranked, "", []
        old = [p for p in of_n if p != current.period]
        if reading.period == "old":
            chosen = of_n.get(old[0]) if old else None
            other = of_n.get(current.period)
        else:
            # a number only the old set has, asked bare or of today's set ("bộ 2026–2030 tiêu chí số 15"): the old
            # one, saying that today's set is shorter
            chosen = of_n.get(current.period) or (of_n[old[0]] if old else None)
            other = of_n[old[0]] if old and chosen == of_n.get(current.period) else None
            if reading.period is None and other is not None and self._names_better(reading, n, other, chosen):
                chosen, other = other, chosen  # "tiêu chí số 8 thông tin và truyền thông": the old set's 8 by its name
        if chosen is None:
            return ranked, "", []
        note = ""
        if reading.period != "old" and chosen != of_n.get(current.period) and of_n.get(current.period) is None:
            label = PERIOD_LABELS[current.period]
            note = (f"Lưu ý: bộ tiêu chí đang áp dụng ({label}) có {current.count} tiêu chí; tiêu chí số {n} dưới "
                    f"đây thuộc bộ tiêu chí {PERIOD_LABELS[self.entries[chosen].period]}.")
        top = max(r.prob for r in ranked)
        rest = [r for r in ranked if r.entry_id not in (chosen, other)]  # the twin is a button, not a rival
        mine = next((r for r in ranked if r.entry_id == chosen), Ranked(chosen, 0.0, 0.0))
        vocab = self.retriever.vocab[chosen]
        rest_words = [w for w in reading.words if w not in ("tieu", "chi", "so", "thu", n) and w not in vocab]
        if not rest_words:  # "tiêu chí số 9 hiện nay là gì": the number says it all
            top = max(top, self.model.thresholds.sure)
        if mine.prob < top:
            mine = Ranked(chosen, top, mine.score)  # the rule decides which entry; the model, whether to answer
        also = [other] if other and other != chosen and reading.period != "old" else []
        return [mine] + rest, note, also

    def _period_preference(self, reading: Reading, ranked: list[Ranked]) -> tuple[list[Ranked], list[str]]:
        """"bây giờ xã cần bao nhiêu tiêu chí", "xã cần bao nhiêu tiêu chí": a question that does not ask about an ended
        period gets the entry in force (`superseded_by`, set by the editors), with the same confidence, and the old
        entry as a button; one that names the ended period, the other way round."""
        if not ranked or reading.period == "both":
            return ranked, []
        top = ranked[0]
        if reading.period == "old":
            # "bộ 19 tiêu chí có bao nhiêu chỉ tiêu", "bộ 2021–2025 …": the ended period is named, so the entry it
            # replaced answers (the best-ranked of them), with the same confidence, the one in force as a button
            if reading.compare:
                return ranked, []
            before = [r for r in ranked if self.entries[r.entry_id].superseded_by == top.entry_id]
            if not before:
                return ranked, []
            pick = before[0]
            rest = [r for r in ranked if r.entry_id not in (top.entry_id, pick.entry_id)]
            return [Ranked(pick.entry_id, max(top.prob, pick.prob), pick.score)] + rest, [top.entry_id]
        succ = self.entries[top.entry_id].superseded_by
        if succ is None or succ not in self.entries:
            return ranked, []
        rest = [r for r in ranked if r.entry_id not in (top.entry_id, succ)]
        mine = next((r for r in ranked if r.entry_id == succ), Ranked(succ, 0.0, 0.0))
        return [Ranked(succ, max(top.prob, mine.prob), mine.score)] + rest, [top.entry_id]

    def _comparison(self, reading: Reading, ranked: list[Ranked]) -> list[Ranked]:
        """"khác nhau chỗ nào", "so với": the comparison entry (tagged `so-sanh`) of the topic the question is about.
        Naming both periods ("hồi trước 19 tiêu chí, giờ giai đoạn mới …") asks for the comparison of the set in
        force with the one before, which then answers without a second look by the model."""
        in_force = self.facts.current_criteria_set
        current = in_force.period if in_force else None
        both = reading.period == "both" and current is not None
        if not ranked or (not both and any(w.isdigit() for w in reading.words)):
            return ranked  # "QĐ 1489 thay đổi gì", "tăng mấy lần so với 2020": what one thing changed, not two compared
        topic = self.entries[ranked[0].entry_id].topic
        of_topic = [i for i in sorted(self.entries) if COMPARISON_TAG in self.entries[i].tags
                    and self.entries[i].topic == topic]
        mine = [r.entry_id for r in ranked if r.entry_id in of_topic]
        if both:
            mine = [i for i in of_topic if self.entries[i].period == current] + mine
        if not mine:  # none among the candidates: the topic's comparison entry, when it has only one
            mine = of_topic if len(of_topic) == 1 else []
        pick = mine[0] if mine else None
        if pick is None or pick == ranked[0].entry_id:
            return ranked
        top = ranked[0].prob
        if both and {"tieu", "chi"} <= set(reading.words):  # two criteria sets named, and how they differ asked
            top = max(top, self.model.thresholds.sure)
        old = next((r for r in ranked if r.entry_id == pick), Ranked(pick, 0.0, 0.0))
        if not both and reading.period is None and old.prob < ranked[0].prob * SUGGEST_SHARE:
            return ranked  # no period named and the model finds little of a comparison ("chỉ tiêu từng vùng có khác
            # nhau không": regions compared, the entry ranked first answers it)
        return [Ranked(pick, max(top, old.prob), old.score)] + [r for r in ranked if r.entry_id != pick]

    def _names_better(self, reading: Reading, n: str, a: str, b: str) -> bool:
        """Do the question's other words name criterion `a` (by its title) more than `b`?"""
        words = [w for w in reading.all_words if w not in ("tieu", "chi", "so", "thu", n)]
        if not words:
            return False
        idf = self.retriever.bm25.idf

        def named(entry_id: str) -> float:
            title = set(self.retriever.title_words[entry_id])
            return sum(idf.get(w, 0.0) for w in set(words) if w in title)

        return named(a) > named(b)

    def render(self, entry: Entry, values: Mapping[str, object] | None = None) -> str:
        """The full text a citizen sees for an entry: answer, then its source line."""
        return f"{fill_placeholders(entry.answer, values or {})}\n\n{entry.source_line()}"

    def see_also(self, entry: Entry) -> list[Entry]:
        return [self.entries[i] for i in entry.see_also if i in self.entries]

    def by_topic(self, topic: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.topic == topic]


def _source_key(data_dir: Path, today: dt.date) -> str:
    h = hashlib.sha256(f"{CACHE_VERSION}|{sys.version}|{today.isoformat()}|{data_dir.resolve()}".encode())
    here = Path(__file__).resolve().parent
    for path in [*sorted(data_dir.rglob("*.yaml")), LEXICON_PATH, MODEL_PATH, *sorted(here.glob("*.py"))]:
        try:
            h.update(path.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            h.update(path.as_posix().encode() + b"\0missing\0")
    return h.hexdigest()[:20]


def _write_cache(path: Path, kb: "KnowledgeBase") -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("kb-*.pickle"):  # one version kept: the cache must not grow
            old.unlink(missing_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(kb, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError:
        pass  # a read-only data directory: no cache, nothing else changes


def fill_placeholders(text: str, values: Mapping[str, object]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


Located = tuple[str, Entry]  # (file relative to the data dir, entry)


def read_entries(data_dir: Path) -> tuple[list[Located], list[Path], list[Problem]]:
    entries, _, files, problems = read_content(data_dir)
    return entries, files, problems


def read_content(data_dir: Path) -> tuple[list[Located], Facts, list[Path], list[Problem]]:
    """Entries and facts of every YAML file under `data_dir` (a file holds entries, facts, or both)."""
    entries: list[Located] = []
    facts = Facts()
    problems: list[Problem] = []
    files = sorted(data_dir.rglob("*.yaml"))
    if not files:
        problems.append(Problem("error", str(data_dir), "không có tệp YAML nào"))
    for path in files:
        rel = path.relative_to(data_dir).as_posix()
        try:
            raw = yamlload.safe_load(path.read_text(encoding="utf-8"))
            parsed = EntryFile.model_validate(raw)
        except yaml.YAMLError as err:
            problems.append(Problem("error", rel, f"YAML không hợp lệ: {err}"))
            continue
        except ValidationError as err:
            for e in err.errors():
                loc = ".".join(str(x) for x in e["loc"])
                problems.append(Problem("error", rel, f"{loc}: {e['msg']}"))
            continue
        entries.extend((rel, e) for e in parsed.entries)
        if parsed.facts is not None:
            facts = merge_facts(facts, parsed.facts, rel, problems)
    return entries, facts, files, problems


def merge_facts(into: Facts, more: Facts, where: str, problems: list[Problem]) -> Facts:
    data = into.model_dump(exclude_defaults=True)
    for key, value in more.model_dump(exclude_defaults=True).items():
        if key == "criteria_sets":
            data[key] = data.get(key, []) + value
        elif key in data:
            problems.append(Problem("error", where, f"facts.{key} đã khai báo ở tệp khác"))
        else:
            data[key] = value
    return Facts.model_validate(data)


# -- content rules (kb check)
# A press/portal source note saying its day is not known (the date then carries a placeholder day).
_DAY_UNKNOWN_RE = re.compile(
    r"quy ước|chỉ biết (?:tháng|năm)|(?:không|chưa) rõ ngày|ngày đăng[^.;]{0,40}(?:không|chưa) (?:rõ|có|nêu|hiện|ghi)"
    r"|mốc (?:của )?số liệu|bổ sung ngày", re.IGNORECASE)
_YEAR_ONLY_RE = re.compile(r"chỉ (?:biết|xác định|ghi)(?: được)? năm", re.IGNORECASE)
_DOC_PERIOD_RE = re.compile(r"(?:giai đoạn|gđ)\s*(\d{4}\s*[-–]\s*\d{4})", re.IGNORECASE)
# A dated figure written in the answer: "đến 11/2025", "tính đến tháng 5/2024", "rà soát đến 11/2025".
_FIGURE_DATE_RE = re.compile(r"(?:đến|tính đến)\s+(?:tháng\s+)?\d{1,2}/\d{4}", re.IGNORECASE)
_YOU_RE = re.compile(r"(?<![\w])bạn(?! bè)(?![\w])", re.IGNORECASE)
# Words of English that Vietnamese text does not use; a title made of them is English.
_ENGLISH = frozenset(
    "the of and for with have has is are was were by from at least strives products product province ministry "
    "agriculture environment strategic direction development sustainable decision rural criteria items star three "
    "four five national new about how what which".split())
_WORD_RE = re.compile(r"[^\W\d_]+")
# Long agency names: said once in full, shortened after ("VPĐP nông thôn mới tỉnh", "Sở NN&MT").
LONG_NAMES = (
    "Văn phòng Điều phối nông thôn mới tỉnh",
    "Sở Nông nghiệp và Môi trường tỉnh An Giang",
    "Bộ Nông nghiệp và Môi trường",
    "Chương trình mục tiêu quốc gia",
)


def looks_english(text: str) -> bool:
    words = _WORD_RE.findall(text)
    english = sum(w.lower() in _ENGLISH for w in words)
    return english >= 2 and english * 3 >= len(words)


def source_period(src: Source) -> tuple[int, int] | None:
    """The instrument's own period: `covers`, else a "giai đoạn 2023–2025" in its number/title."""
    if src.covers:
        return years_of(src.covers)
    m = _DOC_PERIOD_RE.search(src.doc)
    return years_of(m.group(1)) if m else None


def phone_text(e: Entry, values: Mapping[str, object] | None = None) -> str:
    """What a citizen reads for the entry (answer and source line), placeholders filled or stood in for."""
    answer = _PLACEHOLDER_RE.sub(
        lambda m: str((values or {}).get(m.group(1), "x" * PLACEHOLDER_STANDIN)), e.answer)
    return unicodedata.normalize("NFC", f"{answer}\n\n{e.source_line()}")


def figure_stale_since(e: Entry) -> dt.date | None:
    return e.as_of.last_day() + FIGURE_MAX_AGE if e.as_of else None


def _source_problems(where: str, e: Entry, today: dt.date, dated: str) -> list[Problem]:
    out: list[Problem] = []
    for src in e.sources:
        cited = f"nguồn {src.doc!r}"
        if src.kind == "van-ban" and src.date is None:
            out.append(Problem("error", where, f"{cited}: văn bản phải có ngày ban hành (date)"))
        if src.date is not None and src.date.first_day() > today:
            out.append(Problem("error", where, f"{cited}: ngày {src.date} ở tương lai"))
        if src.kind != "van-ban" and src.date is not None:
            note = src.note or ""
            if src.date.day and _DAY_UNKNOWN_RE.search(note):
                out.append(Problem("error", where, f"{cited}: ngày {src.date.text()} chính xác hơn nguồn (ghi chú nói "
                                                  "chưa rõ ngày): chỉ ghi năm hoặc tháng đã biết, vd 2014, 2025-07"))
            elif src.date.month and _YEAR_ONLY_RE.search(note):
                out.append(Problem("error", where, f"{cited}: ghi chú nói chỉ biết năm, ngày nguồn phải là năm ({src.date.year})"))
            elif src.date.day == 1 and not src.day_confirmed:
                out.append(Problem("error", where, f"{cited}: ngày 01/{src.date.month:02d}/{src.date.year} thường là ngày "
                                                  "đoán: ghi tháng (" + f"{src.date.year}-{src.date.month:02d}" + ") "
                                                  "hoặc, nếu đúng là ngày 1, thêm day_confirmed: true"))
        period = source_period(src)
        if e.period == "hien-hanh" and period and dt.date(period[1], 12, 31) < today:
            out.append(Problem(dated, where, f"nhãn «hiện hành» nhưng {src.doc} chỉ áp dụng giai đoạn "
                                             f"{period[0]}–{period[1]} (đã kết thúc): đổi giai đoạn hoặc bỏ nguồn này"))
        for text in (src.doc, src.issuer or ""):
            if looks_english(text):
                out.append(Problem("error", where, f"tên nguồn bằng tiếng Anh, người dân sẽ thấy: {text!r}"))
    return out


def _text_problems(where: str, e: Entry, today: dt.date, dated: str, values: Mapping[str, object] | None) -> list[Problem]:
    out: list[Problem] = []
    shown = phone_text(e, values)
    if len(shown) > PHONE_BUDGET:
        out.append(Problem("error", where, f"dài {len(shown)} ký tự kể cả dòng nguồn, quá {PHONE_BUDGET} (một màn hình "
                                           "điện thoại): tách phần phụ sang mục 'xem thêm' (see_also)"))
    if looks_english(e.title) or any(looks_english(line) for line in e.answer.splitlines()):
        out.append(Problem("error", where, "câu hỏi chuẩn hoặc câu trả lời có câu tiếng Anh"))
    if _YOU_RE.search(e.answer):
        out.append(Problem("error", where, "xưng hô: câu trả lời gọi người đọc là «bà con», không dùng «bạn»"))
    answer = unicodedata.normalize("NFC", e.answer)
    for name in LONG_NAMES:
        if answer.count(name) > 1:
            out.append(Problem("error", where, f"«{name}» viết đủ {answer.count(name)} lần: lần sau viết gọn"))
    m = _FIGURE_DATE_RE.search(answer)
    if m and e.as_of is None:
        out.append(Problem("error", where, f"câu trả lời có số liệu theo mốc («{m.group(0)}») nhưng thiếu as_of "
                                           "(ngày của số liệu mới nhất, hiện cho người dân là «Số liệu đến …»)"))
    if e.as_of is not None:
        if e.as_of.first_day() > today:
            out.append(Problem("error", where, f"as_of {e.as_of} ở tương lai"))
        stale = figure_stale_since(e)
        if stale is not None and stale < today and not (e.review_note and e.reviewed >= stale):
            out.append(Problem(dated, where, f"số liệu đến {e.as_of.text()} đã cũ hơn {FIGURE_MAX_AGE.days} ngày: tìm "
                                             "số liệu mới hơn, hoặc ghi review_note (đã tìm gì, ở đâu) và cập nhật reviewed"))
    return out


def check_entries(entries: list[Located], today: dt.date | None = None, strict: bool = False,
                  values: Mapping[str, object] | None = None) -> list[Problem]:
    """Content rules beyond the schema. Errors block loading; warnings ask for a review.

    Rules that depend on today's date (a "hiện hành" instrument whose period has ended, figures older than
    FIGURE_MAX_AGE) are errors for `kb check` (strict) and warnings when the bot loads its content, so a running
    bot never refuses its knowledge base because time has passed.
    """
    today = today or local_today()
    dated = "error" if strict else "warning"
    problems: list[Problem] = []
    files_of: dict[str, list[str]] = {}
    for rel, e in entries:
        files_of.setdefault(e.id, []).append(rel)
    known = set(files_of)
    for dup, where in sorted(files_of.items()):
        if len(where) > 1:
            problems.append(Problem("error", dup, f"id bị trùng ({', '.join(where)})"))
    seen_questions: dict[str, str] = {}
    for rel, e in entries:
        where = f"{rel}:{e.id}"
        if len(e.id) > MAX_ID_LEN:
            problems.append(Problem("error", where, f"id dài quá {MAX_ID_LEN} ký tự"))
        if len(e.questions) < MIN_PARAPHRASES:
            problems.append(Problem("error", where, f"cần ít nhất {MIN_PARAPHRASES} cách hỏi (có {len(e.questions)})"))
        full = unicodedata.normalize("NFC", f"{e.answer}\n\n{e.source_line()}")
        for channel, limit in CHANNEL_LIMITS.items():
            if len(full) > limit:
                problems.append(Problem("error", where, f"dài {len(full)} ký tự, quá giới hạn {channel} ({limit})"))
        problems += _source_problems(where, e, today, dated)
        problems += _text_problems(where, e, today, dated, values)
        for name in _PLACEHOLDER_RE.findall(e.answer):
            if name not in PLACEHOLDERS:
                problems.append(Problem("error", where, f"chỗ trống không biết: {{{name}}}"))
        if e.superseded_by is not None:
            succ = next((x for _, x in entries if x.id == e.superseded_by), None)
            if succ is None:
                problems.append(Problem("error", where, f"superseded_by trỏ tới id không có: {e.superseded_by}"))
            elif (PERIOD_END.get(succ.period) or dt.date.max) <= (PERIOD_END.get(e.period) or dt.date.max):
                problems.append(Problem("error", where, f"superseded_by: {succ.id} ({succ.period}) không thuộc giai đoạn sau {e.period}"))
        for ref in e.see_also:
            if ref not in known:
                problems.append(Problem("error", where, f"see_also trỏ tới id không có: {ref}"))
            if ref == e.id:
                problems.append(Problem("error", where, "see_also trỏ tới chính nó"))
        for q in e.questions:
            key = normalized(q)
            other = seen_questions.get(key)
            if other and other != e.id:
                problems.append(Problem("warning", where, f"cách hỏi trùng với {other}: {q!r}"))
            seen_questions.setdefault(key, e.id)
        if e.review_by and e.review_by < today:
            problems.append(Problem("warning", where, f"quá hạn rà soát ({e.review_by:%d/%m/%Y})"))
        end = PERIOD_END.get(e.period)
        if end and end < today and e.reviewed <= end:
            problems.append(
                Problem("warning", where, f"giai đoạn {e.period} đã kết thúc mà nội dung chưa rà soát lại từ đó")
            )
        if e.reviewed > today:
            problems.append(Problem("error", where, "ngày rà soát ở tương lai"))
    return problems


def freshness_report(entries: Iterable[Entry], today: dt.date | None = None, limit: int = 30,
                     as_json: bool = False) -> str:
    """For the officer who maintains the content: the oldest figures first (with their review notes), then the
    entries reviewed longest ago."""
    import json

    today = today or local_today()
    entries = list(entries)
    dated = sorted((e for e in entries if e.as_of), key=lambda e: (e.as_of.last_day(), e.id))
    undated = sorted((e for e in entries if not e.as_of), key=lambda e: (e.review_by or e.reviewed, e.reviewed, e.id))

    def state(e: Entry) -> str:
        stale = figure_stale_since(e)
        if stale is not None and stale < today:
            return "đã ghi chú" if e.review_note and e.reviewed >= stale else "CẦN RÀ SOÁT"
        if e.review_by and e.review_by < today:
            return "quá hạn rà soát"
        end = PERIOD_END.get(e.period)
        return "giai đoạn đã kết thúc" if end and end < today else ""

    if as_json:
        rows = [{"id": e.id, "as_of": str(e.as_of) if e.as_of else None, "reviewed": e.reviewed.isoformat(),
                 "review_by": e.review_by.isoformat() if e.review_by else None, "period": e.period,
                 "state": state(e), "review_note": e.review_note, "title": e.title} for e in [*dated, *undated]]
        return json.dumps(rows, ensure_ascii=False, indent=1)
    day = lambda d: d.strftime("%d/%m/%Y") if d else "—"  # noqa: E731
    lines = [f"Nội dung cũ nhất trước (ngày {day(today)}; số liệu cũ hơn {FIGURE_MAX_AGE.days} ngày cần tìm số mới "
             "hoặc ghi review_note).", "", f"Số liệu theo mốc ({len(dated)} mục):",
             f"  {'số liệu đến':11s} {'rà soát':10s} {'hạn rà soát':11s} {'tình trạng':16s} mục"]
    for e in dated[:limit]:
        lines.append(f"  {e.as_of.text():11s} {day(e.reviewed):10s} {day(e.review_by):11s} {state(e):16s} {e.id}")
        if e.review_note:
            lines.append(f"      ghi chú: {e.review_note}")
    lines += ["", f"Các mục khác, rà soát lâu nhất trước ({len(undated)} mục):",
              f"  {'rà soát':10s} {'hạn rà soát':11s} {'tình trạng':21s} mục"]
    for e in undated[:limit]:
        lines.append(f"  {day(e.reviewed):10s} {day(e.review_by):11s} {state(e):21s} {e.id}")
    return "\n".join(lines)


def _fallback_model() -> DecisionModel:
    """Used only when knowledge/model.json is missing or unreadable (a broken checkout): answer only what the
    paraphrase matcher alone is sure of. `ntm-bot kb train` writes the real one."""
    names = [*FEATURES, "q_domain"]
    coef = [0.0] * len(names)
    coef[names.index("m_score")] = 12.0
    return DecisionModel(names, [0.0] * len(names), [1.0] * len(names), coef, -7.0,
                         Thresholds(0.6, 0.1, 0.85, 0.3, 0.1))


def _numbers_in(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:,\d+)?", text.replace(".", "")))


def check_facts(facts: Facts, entries: Mapping[str, Entry]) -> list[Problem]:
    """Computed answers must say what the entries they cite say: every number a fact holds appears in its entry."""
    problems: list[Problem] = []

    def need(where: str, entry_id: str | None, numbers: Iterable[float | int] = ()) -> None:
        if entry_id is None:
            return
        e = entries.get(entry_id)
        if e is None:
            problems.append(Problem("error", where, f"trỏ tới id không có: {entry_id}"))
            return
        found = _numbers_in(e.answer)
        for n in numbers:
            text = f"{n:g}".replace(".", ",")
            if text not in found:
                problems.append(Problem("error", where, f"con số {text} không có trong câu trả lời của {entry_id}"))

    s = facts.ocop_scale
    if s is not None:
        need("facts.ocop_scale", s.entry, [b.from_points for b in s.bands if b.from_points > 0] + [s.certified_from])
        for b in s.bands:
            need(f"facts.ocop_scale.bands[{b.stars}]", b.entry)
        need("facts.ocop_scale.parts", s.parts_entry, s.parts.values())
    v = facts.ocop_validity
    if v is not None:
        need("facts.ocop_validity", v.entry, [v.months])
        need("facts.ocop_validity.renew_entry", v.renew_entry)
    for c in facts.criteria_sets:
        need(f"facts.criteria_sets[{c.period}]", c.entry, [c.count])
    if sum(c.current for c in facts.criteria_sets) > 1:
        problems.append(Problem("error", "facts.criteria_sets", "chỉ một bộ tiêu chí được đánh dấu current"))
    need("facts.former_units_entry", facts.former_units_entry)
    w = facts.withdrawal
    if w is not None:
        need("facts.withdrawal", w.entry, [w.partial_from, w.full_from])
        e = entries.get(w.entry)
        for name in w.key_criteria:
            if e is not None and name.lower() not in e.answer.lower():
                problems.append(Problem("error", "facts.withdrawal", f"tiêu chí «{name}» không có trong {w.entry}"))
        if not any(c.period == w.period for c in facts.criteria_sets):
            problems.append(Problem("error", "facts.withdrawal", f"không có bộ tiêu chí {w.period} trong criteria_sets"))
    return problems
