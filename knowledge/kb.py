"""Load, check and query the knowledge base.

`KnowledgeBase.load()` reads every YAML file under knowledge/data/, validates it against the schema and
builds the matcher. A knowledge base with errors is never put into service: `load` raises, and a
running bot keeps its previous content (see `bot.app.App.reload_kb`).
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import yaml
from pydantic import ValidationError

from knowledge.matcher import Matcher, MatchResult, Params
from knowledge.normalize import content_tokens, normalized
from knowledge.schema import PERIOD_END, Entry, EntryFile

DATA_DIR = Path(__file__).resolve().parent / "data"
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser when available (10x faster)
# Platform text limits (characters after NFC): Telegram 4096, Zalo 2000.
CHANNEL_LIMITS = {"telegram": 4096, "zalo": 2000}
PHONE_SCREEN = 1500  # an answer longer than this should be split into "xem thêm" follow-ups
MIN_PARAPHRASES = 4
MAX_ID_LEN = 48
DECISION_CACHE = 4096  # distinct questions whose decision is kept  # "faq:" + id must fit Telegram's 64-byte callback data
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
class Decision:
    """What the bot does with a question: answer it, offer suggestions, or say it is not sure."""

    kind: str  # answer | suggest | unknown
    entry: Entry | None
    suggestions: list[Entry]
    score: float
    result: MatchResult


@dataclass
class KnowledgeBase:
    entries: dict[str, Entry]
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def __post_init__(self) -> None:
        self._decisions: OrderedDict[tuple[tuple[str, ...], float, float, float], Decision] = OrderedDict()
        self._lock = threading.Lock()  # database worker threads share the knowledge base
        self.matcher = Matcher(
            {e.id: [*e.questions, e.title] for e in self.entries.values()},
            {e.id: e.tags for e in self.entries.values()},
        )

    def with_params(self, params: "Params") -> "KnowledgeBase":
        """The same content matched with other weights (tuning)."""
        other = KnowledgeBase.__new__(KnowledgeBase)
        other.entries, other.files, other.problems, other.loaded_at = self.entries, self.files, self.problems, self.loaded_at
        other._decisions, other._lock = OrderedDict(), threading.Lock()
        other.matcher = Matcher({e.id: [*e.questions, e.title] for e in self.entries.values()},
                                {e.id: e.tags for e in self.entries.values()}, params)
        return other

    # -- loading
    @classmethod
    def load(cls, data_dir: Path | str = DATA_DIR, today: dt.date | None = None) -> "KnowledgeBase":
        entries, files, problems = read_entries(Path(data_dir))
        problems += check_entries(entries, today=today)
        if any(p.level == "error" for p in problems):
            raise KnowledgeBaseError(problems)
        return cls({e.id: e for _, e in entries}, files, problems)

    @classmethod
    def for_settings(cls, settings: object) -> "KnowledgeBase":
        """The content the settings point at (KB_DIR), or the curated content shipped with the bot."""
        kb_dir = getattr(settings, "kb_dir", None)
        return cls.load(kb_dir) if kb_dir else cls.load()

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> "KnowledgeBase":
        return cls({e.id: e for e in entries})

    # -- querying
    def decide(self, question: str, answer_at: float, suggest_at: float, margin: float = 3.0,
               exclude: tuple[str, str] | None = None) -> Decision:
        if exclude is not None:
            return self._decide(question, answer_at, suggest_at, margin, exclude)
        # Citizens ask the same questions again and again, typed many ways: decisions are cached by the
        # question's meaningful words (all the matcher reads), per content version (a reload builds a new
        # KnowledgeBase, so a stale decision is never served).
        key = (content_tokens(question), answer_at, suggest_at, margin)
        cache = self._decisions
        with self._lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
                return hit
        d = self._decide(question, answer_at, suggest_at, margin, None)
        with self._lock:
            cache[key] = d
            if len(cache) > DECISION_CACHE:
                cache.popitem(last=False)
        return d

    def _decide(self, question: str, answer_at: float, suggest_at: float, margin: float,
                exclude: tuple[str, str] | None) -> Decision:
        result = self.matcher.match(question, exclude=exclude)
        best = result.best
        if best is None or best.score < suggest_at:
            return Decision("unknown", None, [], best.score if best else 0.0, result)
        entry = self.entries[best.entry_id]
        runner_up = result.candidates[1].score if len(result.candidates) > 1 else 0.0
        close = [
            self.entries[c.entry_id]
            for c in result.candidates[:3]
            if c.score >= suggest_at and c.score >= best.score - 15
        ]
        clear_winner = best.score - runner_up >= margin or best.score >= answer_at + 15
        if best.score >= answer_at and clear_winner:
            return Decision("answer", entry, [], best.score, result)
        return Decision("suggest", None, close, best.score, result)

    def render(self, entry: Entry, values: Mapping[str, object] | None = None) -> str:
        """The full text a citizen sees for an entry: answer, then its source line."""
        return f"{fill_placeholders(entry.answer, values or {})}\n\n{entry.source_line()}"

    def see_also(self, entry: Entry) -> list[Entry]:
        return [self.entries[i] for i in entry.see_also if i in self.entries]

    def by_topic(self, topic: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.topic == topic]


def fill_placeholders(text: str, values: Mapping[str, object]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


Located = tuple[str, Entry]  # (file relative to the data dir, entry)


def read_entries(data_dir: Path) -> tuple[list[Located], list[Path], list[Problem]]:
    entries: list[Located] = []
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
    return entries, files, problems


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
