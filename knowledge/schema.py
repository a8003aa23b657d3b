"""Schema of knowledge-base entries (YAML files under knowledge/data/).

One file holds a list of entries under the key ``entries``. Every entry answers one question
a citizen may ask, in plain Vietnamese, and cites the official document it comes from.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Periods an answer can speak of. "hien-hanh" = current rules not tied to a programme period.
Period = Literal["2016-2020", "2018-2020", "2021-2025", "2026-2030", "2026-2035", "hien-hanh"]
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
SourceKind = Literal["van-ban", "cong-thong-tin", "bao-chi"]

ID_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


class Source(BaseModel):
    """Where an answer comes from: a document number and its date, at least."""

    model_config = ConfigDict(extra="forbid")

    doc: str = Field(min_length=3, description="Số, ký hiệu văn bản, e.g. 'Quyết định 318/QĐ-TTg'")
    date: dt.date = Field(description="Ngày ban hành (or the publication date for press/portal)")
    issuer: str | None = Field(default=None, description="Cơ quan ban hành, e.g. 'Thủ tướng Chính phủ'")
    kind: SourceKind = "van-ban"
    url: str | None = None
    note: str | None = None

    def citation(self) -> str:
        day = f"{self.date.day:02d}/{self.date.month:02d}/{self.date.year}"
        if self.kind == "van-ban":
            text = f"{self.doc} ngày {day}"
            if self.issuer:
                text += f" của {self.issuer}"
        else:
            text = f"{self.doc} ({day})"
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
    see_also: list[str] = Field(default_factory=list, description="ids shown as 'Xem thêm' follow-ups")

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
        return f"📄 Nguồn: {cites} ({PERIOD_LABELS[self.period]})."


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


class EntryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[Entry] = Field(default_factory=list)
    facts: Facts | None = None
