"""Load, check and query the knowledge base.

`KnowledgeBase.load()` reads every YAML file under knowledge/data/, validates it against the schema and
builds the matcher. A knowledge base with errors is never put into service: `load` raises, and a
running bot keeps its previous content (see `bot.app.App.reload_kb`).
"""
from __future__ import annotations

import datetime as dt
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
from typing import Iterable, Mapping

import yaml
from pydantic import ValidationError

from knowledge.decision import MODEL_PATH, DecisionModel, Thresholds, content_hash
from knowledge.features import FEATURES, Retriever
from knowledge.matcher import Matcher, _criterion_number as criterion_number
from knowledge.normalize import normalized, tokens
from knowledge.reading import LEXICON_PATH, Reading
from knowledge.schema import PERIOD_END, PERIOD_LABELS, Entry, EntryFile, Facts

DATA_DIR = Path(__file__).resolve().parent / "data"
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser when available (10x faster)
# Platform text limits (characters after NFC): Telegram 4096, Zalo 2000.
CHANNEL_LIMITS = {"telegram": 4096, "zalo": 2000}
PHONE_SCREEN = 1500  # an answer longer than this should be split into "xem thêm" follow-ups
MIN_PARAPHRASES = 4
MAX_ID_LEN = 48
DECISION_CACHE = 4096  # distinct questions whose decision is kept
CACHE_VERSION = 1  # bump when the pickled structures change shape
SUGGEST_SHARE = 0.5  # a suggestion below half the best one's probability is not shown
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

    @property
    def best(self) -> Ranked | None:
        return self.ranked[0] if self.ranked else None


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
        today = today or dt.date.today()
        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"kb-{_source_key(data_dir, today)}.pickle"
            try:
                with open(path, "rb") as fh:
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
        ranked = sorted((Ranked(c.entry_id, model.prob(c.x), c.matcher_score) for c in retrieval.candidates),
                        key=lambda r: (-r.prob, r.entry_id))
        ranked, note, also = self._criterion_period(retrieval.reading, ranked)
        probs = [r.prob for r in ranked]
        kind = model.thresholds.kind(probs)
        t = model.thresholds
        score = 100.0 * probs[0] if probs else 0.0
        if kind == "answer":
            return Decision("answer", self.entries[ranked[0].entry_id], [], score, ranked, retrieval.reading,
                            note, [self.entries[i] for i in also])
        if kind == "suggest":
            close = [self.entries[r.entry_id] for r in ranked[:3] if r.prob >= t.suggest * SUGGEST_SHARE
                     and r.prob >= probs[0] * SUGGEST_SHARE]
            return Decision("suggest", None, close, score, ranked, retrieval.reading)
        return Decision(kind, None, [], score, ranked, retrieval.reading)

    def _criterion_period(self, reading: Reading, ranked: list[Ranked]) -> tuple[list[Ranked], str, list[str]]:
        """"tiêu chí (số) N": the entry of criterion N of the period the question means. A bare number means the
        set that applies today (facts.criteria_sets, `current`), with a button to the same number in the other
        set; a number only the old set has is answered from it, saying that today's set is shorter."""
        if not ranked or reading.period == "both":
            return ranked, "", []
        n = criterion_number(reading.words)
        if n is None:
            return ranked, "", []
        sets = {s.period: s for s in self.facts.criteria_sets}
        current = next((s for s in sets.values() if s.current), None)
        if current is None:
            return ranked, "", []
        criteria = self.retriever.criteria
        of_n = {self.entries[i].period: i for i in sorted(criteria) if n in criteria[i]
                and self.entries[i].period in sets}
        if not of_n:
            return ranked, "", []
        old = [p for p in of_n if p != current.period]
        if reading.period == "old":
            chosen = of_n.get(old[0]) if old else None
            other = of_n.get(current.period)
        else:
            chosen = of_n.get(current.period) or (of_n[old[0]] if old and reading.period is None else None)
            other = of_n[old[0]] if old and chosen == of_n.get(current.period) else None
        if chosen is None:
            return ranked, "", []
        note = ""
        if reading.period is None and chosen != of_n.get(current.period):
            label = PERIOD_LABELS[current.period]
            note = (f"Lưu ý: bộ tiêu chí đang áp dụng ({label}) có {current.count} tiêu chí; tiêu chí số {n} dưới "
                    f"đây thuộc bộ tiêu chí {PERIOD_LABELS[self.entries[chosen].period]}.")
        top = max(r.prob for r in ranked)
        rest = [r for r in ranked if r.entry_id not in (chosen, other)]  # the twin is a button, not a rival
        mine = next((r for r in ranked if r.entry_id == chosen), Ranked(chosen, 0.0, 0.0))
        if mine.prob < top:
            mine = Ranked(chosen, top, mine.score)  # the rule decides which entry; the model, whether to answer
        also = [other] if other and other != chosen and reading.period != "old" else []
        return [mine] + rest, note, also

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
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
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


def check_entries(entries: list[Located], today: dt.date | None = None) -> list[Problem]:
    """Content rules beyond the schema. Errors block loading; warnings ask for a review."""
    today = today or dt.date.today()
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
        if len(full) > PHONE_SCREEN:
            problems.append(Problem("warning", where, f"dài {len(full)} ký tự: nên tách thành phần 'xem thêm'"))
        for name in _PLACEHOLDER_RE.findall(e.answer):
            if name not in PLACEHOLDERS:
                problems.append(Problem("error", where, f"chỗ trống không biết: {{{name}}}"))
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


def _fallback_model() -> DecisionModel:
    """Used only when knowledge/model.json is missing or unreadable (a broken checkout): answer only what the
    paraphrase matcher alone is sure of. `ntm-bot kb train` writes the real one."""
    coef = [0.0] * len(FEATURES)
    coef[FEATURES.index("m_score")] = 12.0
    return DecisionModel(list(FEATURES), [0.0] * len(FEATURES), [1.0] * len(FEATURES), coef, -7.0,
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
