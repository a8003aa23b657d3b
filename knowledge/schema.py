"""Schema of knowledge-base entries (YAML files under knowledge/data/).

One file holds a list of entries under the key ``entries``. Every entry answers one question
a citizen may ask, in plain Vietnamese, and cites the official document it comes from.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator

# Periods an answer can speak of. "hien-hanh" = current rules not tied to a programme period.
Period = Literal["2016-2020", "2018-2020", "2021-2025", "2026-2030", "2026-2035", "hien-hanh"]
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_today() -> dt.date:
    """Today in Vietnam. Content dates (reviewed, review_by, as_of, a period's end) are Vietnamese dates and the
    console stamps them so; the server's own clock zone (often UTC, seven hours behind) must not make an entry
    reviewed this morning "reviewed in the future" between 00:00 and 07:00."""
    return dt.datetime.now(LOCAL_TZ).date()


PERIOD_LABELS: dict[str, str] = {
    "2016-2020": "giai đoạn 2016–2020",
    "2018-2020": "giai đoạn 2018–2020",
    "2021-2025": "giai đoạn 2021–2025",
    "2026-2030": "giai đoạn 2026–2030",
    "2026-2035": "giai đoạn 2026–2035",
    "hien-hanh": "hiện hành",
}
# Last day of each period; `kb check` warns when a period has ended (the answer must then say so).
PERIOD_END: dict[str, dt.date] = {
    "2016-2020": dt.date(2020, 12, 31),
    "2018-2020": dt.date(2020, 12, 31),
    "2021-2025": dt.date(2025, 12, 31),
    "2026-2030": dt.date(2030, 12, 31),
    "2026-2035": dt.date(2035, 12, 31),
}
Topic = Literal["ntm", "ocop", "an-giang", "bot"]
SourceKind = Literal["van-ban", "cong-thong-tin", "bao-chi", "huong-dan"]  # huong-dan: the bot's own user guide (README, docs/)

ID_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_RANGE_RE = re.compile(r"^(\d{4})\s*[-–]\s*(\d{4})$")


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date known to the year ("2014"), the month ("2025-07") or the day ("2025-07-25"): a source is cited,
    and a figure dated, with only the precision that is known."""

    year: int
    month: int | None = None
    day: int | None = None

    @classmethod
    def parse(cls, v: Any) -> "PartialDate":
        if isinstance(v, PartialDate):
            return v
        if isinstance(v, dt.datetime):
            v = v.date()
        if isinstance(v, dt.date):
            return cls(v.year, v.month, v.day)
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        m = _PARTIAL_RE.match(v.strip()) if isinstance(v, str) else None
        if not m:
            raise ValueError("ngày: ghi năm (2014), tháng/năm (2025-07) hoặc ngày đầy đủ (2025-07-25)")
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if month is not None and not 1 <= int(month) <= 12:
            raise ValueError(f"tháng không hợp lệ: {v}")
        if day is not None:
            dt.date(year, int(month), int(day))  # raises on 2025-02-30
        return cls(year, int(month) if month else None, int(day) if day else None)

    @property
    def precision(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)

    def last_day(self) -> dt.date:
        if self.day:
            return dt.date(self.year, self.month or 1, self.day)
        month = self.month or 12
        return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])

    def text(self) -> str:
        """As a citizen reads it: "25/07/2025", "7/2025", "2025"."""
        if self.day:
            return f"{self.day:02d}/{self.month:02d}/{self.year}"
        if self.month:
            return f"{self.month}/{self.year}"
        return str(self.year)

    def cited(self) -> str:
        """After a document number or a title: "ngày 25/07/2025", "tháng 7/2025", "năm 2014"."""
        return {"day": "ngày ", "month": "tháng ", "year": "năm "}[self.precision] + self.text()

    def __str__(self) -> str:
        parts = [f"{self.year:04d}"] + [f"{x:02d}" for x in (self.month, self.day) if x]
        return "-".join(parts)


SourceDate = Annotated[PartialDate, BeforeValidator(PartialDate.parse), PlainSerializer(str, return_type=str)]


def years_of(period: str) -> tuple[int, int] | None:
    """'2023-2025' / '2023–2025' -> (2023, 2025)."""
    m = _RANGE_RE.match(period.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


class Source(BaseModel):
    """Where an answer comes from: a document number and its date, at least (a press or portal page whose
    publication date is not known may leave `date` out and say so in `note`)."""

    model_config = ConfigDict(extra="forbid")

    doc: str = Field(min_length=3, description="Số, ký hiệu văn bản, e.g. 'Quyết định 318/QĐ-TTg'; or the Vietnamese title")
    date: SourceDate | None = Field(
        default=None, description="Ngày ban hành (press/portal: publication date), only as precise as known")
    day_confirmed: bool = Field(
        default=False, description="a press/portal date on the 1st of a month is really that day (not a placeholder)")
    issuer: str | None = Field(default=None, description="Cơ quan ban hành, e.g. 'Thủ tướng Chính phủ'")
    kind: SourceKind = "van-ban"
    covers: str | None = Field(
        default=None, description="the instrument's own period, e.g. '2023-2025' (a plan, a programme)")
    url: str | None = None
    note: str | None = None

    @field_validator("covers")
    @classmethod
    def _covers(cls, v: str | None) -> str | None:
        if v is not None:
            years = years_of(v)
            if years is None or years[0] > years[1]:
                raise ValueError("covers: ghi giai đoạn dạng 2023-2025")
        return v

    def citation(self) -> str:
        if self.kind == "van-ban":
            text = f"{self.doc} {self.date.cited()}" if self.date else self.doc
            if self.issuer:
                text += f" của {self.issuer}"
        else:
            text = f"{self.doc} ({self.date.text() if self.date.day else self.date.cited()})" if self.date else self.doc
        return text


class Entry(BaseModel):
    """One question-and-answer unit of the knowledge base."""

    model_config = ConfigDict(extra="forbid")

    id: str
    topic: Topic
    title: str = Field(min_length=3, description="Câu hỏi chuẩn, hiển thị trong gợi ý")
    questions: list[str] = Field(description="Các cách hỏi (paraphrases), as people type them")
    answer: str
    sources: list[Source] = Field(min_length=1)
    period: Period
    tags: list[str] = Field(default_factory=list)
    reviewed: dt.date
    review_by: dt.date | None = None
    as_of: SourceDate | None = Field(
        default=None, description="date of the newest figure in the answer; shown as 'Số liệu đến …'")
    review_note: str | None = Field(
        default=None, description="for the officer: what was checked when the figures got old (not shown to citizens)")
    see_also: list[str] = Field(default_factory=list, description="ids shown as 'Xem thêm' follow-ups")
    superseded_by: str | None = Field(default=None, description="the entry of the period in force that answers the same "
                                      "question today: a question that does not name this entry's period gets that one")

    @field_validator("id")
    @classmethod
    def _id_format(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError("id: chữ thường không dấu, số, '.' hoặc '-' (vd 'ntm2125.tieu-chi-15')")
        return v

    @field_validator("questions")
    @classmethod
    def _questions(cls, v: list[str]) -> list[str]:
        v = [q.strip() for q in v if q and q.strip()]
        if not v:
            raise ValueError("cần ít nhất một câu hỏi")
        return v

    @field_validator("answer")
    @classmethod
    def _answer(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("câu trả lời trống")
        return v

    @model_validator(mode="after")
    def _dates(self) -> "Entry":
        if self.review_by and self.review_by < self.reviewed:
            raise ValueError("review_by phải sau reviewed")
        return self

    def source_line(self) -> str:
        cites = "; ".join(s.citation() for s in self.sources)
        line = f"📄 Nguồn: {cites} ({PERIOD_LABELS[self.period]})."
        if self.as_of:
            line += f" Số liệu đến {self.as_of.text() if self.as_of.month else self.as_of.cited()}."
        return line


class StarBand(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    stars: int = Field(ge=0, le=10)
    from_points: float = Field(alias="from", ge=0, description="lowest total of the band (inclusive)")
    entry: str | None = Field(default=None, description="the entry about this band (linked, its sources cited)")
    note: str | None = Field(default=None, description="one line added to a computed answer in this band")


class OcopScale(BaseModel):
    """The OCOP scoring scale, for answers computed from a citizen's score ("68 điểm là mấy sao")."""

    model_config = ConfigDict(extra="forbid")

    entry: str = Field(description="the entry whose answer states these numbers (cited and linked)")
    max_points: int = 100
    certified_from: int = Field(description="lowest star rating that is certified")
    bands: list[StarBand] = Field(min_length=1)
    parts: dict[str, int] = Field(default_factory=dict, description="part letter -> maximum points")
    parts_entry: str | None = None


class Validity(BaseModel):
    """How long a recognition is valid ("công nhận tháng 3/2023 còn hạn không")."""

    model_config = ConfigDict(extra="forbid")

    entry: str
    months: int = Field(gt=0)
    renew_entry: str | None = None


class CriteriaSet(BaseModel):
    """A set of NTM criteria: how many there are ("tiêu chí 25 là gì")."""

    model_config = ConfigDict(extra="forbid")

    period: Period
    count: int = Field(gt=0)
    entry: str = Field(description="the entry that lists the set")
    current: bool = False  # the set that applies today: a bare criterion number means this one


class Withdrawal(BaseModel):
    """When a commune's recognition is withdrawn ("rớt 7 tiêu chí có thu nhập thì bị thu hồi không")."""

    model_config = ConfigDict(extra="forbid")

    entry: str
    period: Period = Field(description="the criteria set the rule counts in (facts.criteria_sets)")
    partial_from: float = Field(description="% of criteria not met from which a key criterion among them withdraws")
    full_from: float = Field(description="% of criteria not met that withdraws in any case")
    key_criteria: dict[str, list[str]] = Field(description="key criterion as the entry names it -> words people use")


class Facts(BaseModel):
    """Structured facts that answers are computed from. Each names the entry that states it in words, so a
    computed answer cites the same sources, and `kb check` verifies the numbers against that entry."""

    model_config = ConfigDict(extra="forbid")

    ocop_scale: OcopScale | None = None
    ocop_validity: Validity | None = None
    criteria_sets: list[CriteriaSet] = Field(default_factory=list)
    withdrawal: Withdrawal | None = None
    former_units_entry: str | None = Field(default=None, description="the entry that cites the merger resolution")

    @property
    def current_criteria_set(self) -> CriteriaSet | None:
        """The criteria set that applies today (`kb check` allows at most one)."""
        return next((c for c in self.criteria_sets if c.current), None)


class EntryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[Entry] = Field(default_factory=list)
    facts: Facts | None = None
