"""Knowledge curation in the console: the questions the bot could not answer, grouped; an officer links a
group to an existing entry (its question becomes a paraphrase) or drafts a new entry with its source, period
and review date; a second officer approves (never their own draft); the draft is checked first by the same
rules as `ntm-bot kb check` (`knowledge.kb.check_entries`, strict); once published it is live at once on every
instance (the knowledge base is rebuilt from the YAML content plus the published rows: `with_curated`, then
the reload request every instance watches); every version is kept with who and when; `ntm-bot kb export-yaml`
writes the additions as YAML for review in git.

The knowledge package is used only through its public API (Entry, KnowledgeBase, check_entries)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from typing import Any

import yaml
from pydantic import ValidationError
from sqlmodel import Session, select

from bot.features.console.accounts import audit
from bot.storage.console import KbDraft
from bot.storage.models import KeyValue
from knowledge.kb import MIN_PARAPHRASES, KnowledgeBase, Problem, check_entries
from knowledge.normalize import fold
from knowledge.schema import PERIOD_LABELS, Entry

log = logging.getLogger(__name__)
KB_RELOAD_KEY = "kb_reload_requested_at"  # watched by every running instance (bot.app)
CURATED_FILE = "canbo"  # where curated entries are said to live in check messages
TOPICS = {"ntm": "Nông thôn mới", "ocop": "OCOP", "an-giang": "An Giang", "bot": "Cách dùng bot"}
SOURCE_KINDS = {"van-ban": "Văn bản", "cong-thong-tin": "Cổng thông tin", "bao-chi": "Báo chí"}


def request_reload(session: Session) -> None:
    """Ask every running instance to rebuild its knowledge base (`ntm-bot kb reload` does the same)."""
    row = session.get(KeyValue, KB_RELOAD_KEY) or KeyValue(key=KB_RELOAD_KEY)
    row.value = {"at": time.time()}
    row.updated_at = dt.datetime.now(dt.timezone.utc)
    session.add(row)


# ------------------------------------------------------------------ the content with the curated rows
def published(session: Session) -> list[KbDraft]:
    return list(session.exec(select(KbDraft).where(KbDraft.status == "published").order_by(KbDraft.id)))


def apply(base: dict[str, Entry], rows: list[KbDraft]) -> tuple[dict[str, Entry], set[str]]:
    """The entries with the curated rows applied (new entries added, paraphrases appended), and the ids of the
    curated new entries."""
    entries = dict(base)
    new_ids: set[str] = set()
    for row in rows:
        if row.kind == "entry" and row.data:
            try:
                entries[row.entry_id] = Entry.model_validate(row.data)
                new_ids.add(row.entry_id)
            except ValidationError:
                log.error("curated entry %s (row %s) does not validate; left out", row.entry_id, row.id)
    for row in rows:
        if row.kind == "paraphrase" and row.entry_id in entries:
            e = entries[row.entry_id]
            if row.question not in e.questions:
                entries[row.entry_id] = e.model_copy(update={"questions": [*e.questions, row.question]})
    return entries, new_ids


def with_curated(kb: KnowledgeBase, rows: list[KbDraft]) -> KnowledgeBase:
    """`kb` (the YAML content) plus the published curated rows, indexed anew; `kb` itself when there are none
    or when the result would not pass the loading rules (the bot keeps answering from its YAML content)."""
    if not rows:
        return kb
    entries, new_ids = apply(kb.entries, rows)
    problems = check_entries([(CURATED_FILE if i in new_ids else "yaml", e) for i, e in entries.items()])
    errors = [p for p in problems if p.level == "error"]
    if errors:
        log.error("curated content refused (%d errors), serving the YAML content: %s", len(errors), errors[0])
        return kb
    out = KnowledgeBase(entries, kb.files, kb.problems, facts=kb.facts)
    return out.with_model(kb.model)


def check(kb: KnowledgeBase, session: Session, draft: KbDraft, today: dt.date) -> list[str]:
    """What `kb check` would refuse if this draft were published (only problems it adds), in Vietnamese."""
    rows = published(session)

    def errors(candidate: list[KbDraft]) -> set[str]:
        entries, new_ids = apply(kb.entries, candidate)
        located = [(CURATED_FILE if i in new_ids else "yaml", e) for i, e in entries.items()]
        found: list[Problem] = check_entries(located, today=today, strict=True)
        return {f"{p.message}" for p in found if p.level == "error" and p.where.endswith(":" + draft.entry_id)}

    if draft.kind == "entry":
        try:
            Entry.model_validate(draft.data or {})
        except ValidationError as err:
            return [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in err.errors()]
    if draft.kind == "paraphrase" and draft.entry_id not in kb.entries and not any(
            r.kind == "entry" and r.entry_id == draft.entry_id for r in rows):
        return [f"không có mục {draft.entry_id}"]
    before = errors(rows)
    candidate = [r for r in rows if not (draft.kind == "entry" and r.kind == "entry" and r.entry_id == draft.entry_id)]
    return sorted(errors([*candidate, draft]) - before)


# ------------------------------------------------------------------ drafting and deciding
class CurationError(ValueError):
    """Why a draft cannot be saved or decided, in Vietnamese."""


def new_id(session: Session, kb: KnowledgeBase, title: str) -> str:
    slug = "-".join(fold(title).replace(".", " ").split())[:30].strip("-") or "muc"
    base = f"canbo.{slug}"
    taken = set(kb.entries) | {r.entry_id for r in session.exec(select(KbDraft).where(KbDraft.kind == "entry"))}
    n, out = 1, base
    while out in taken:
        n += 1
        out = f"{base}-{n}"
    return out


def draft_paraphrase(session: Session, now: dt.datetime, actor: str, name: str, kb: KnowledgeBase, entry_id: str,
                     question: str) -> KbDraft:
    question = " ".join(question.split())[:300]
    if not question:
        raise CurationError("Vui lòng ghi câu hỏi của người dân.")
    if entry_id not in kb.entries:
        raise CurationError("Vui lòng chọn một mục có sẵn trong danh sách.")
    row = KbDraft(kind="paraphrase", entry_id=entry_id, question=question, created_by=actor,
                  created_by_name=name[:128], created_at=now)
    session.add(row)
    session.flush()
    audit(session, now, actor, "kb_draft", target=entry_id, detail=f"cách hỏi: {question}")
    return row


@dataclasses.dataclass
class EntryForm:
    title: str
    questions: list[str]
    answer: str
    topic: str
    period: str
    source_kind: str
    source_doc: str
    source_date: str
    source_issuer: str
    source_url: str
    review_by: str
    entry_id: str = ""  # a new version of this curated entry

    @classmethod
    def parse(cls, form: dict[str, str]) -> "EntryForm":
        return cls(title=form.get("tieu-de", "").strip()[:300],
                   questions=[q.strip()[:300] for q in form.get("cach-hoi", "").splitlines() if q.strip()][:30],
                   answer=form.get("tra-loi", "").strip()[:3000], topic=form.get("chu-de", ""),
                   period=form.get("giai-doan", ""), source_kind=form.get("loai-nguon", "van-ban"),
                   source_doc=form.get("nguon", "").strip()[:300], source_date=form.get("ngay-nguon", "").strip()[:10],
                   source_issuer=form.get("co-quan", "").strip()[:200], source_url=form.get("lien-ket", "").strip()[:500],
                   review_by=form.get("han-ra-soat", "").strip()[:10], entry_id=form.get("muc", "").strip()[:64])


def draft_entry(session: Session, now: dt.datetime, actor: str, name: str, kb: KnowledgeBase, f: EntryForm,
                today: dt.date) -> KbDraft:
    if f.topic not in TOPICS or f.period not in PERIOD_LABELS or f.source_kind not in SOURCE_KINDS:
        raise CurationError("Vui lòng chọn chủ đề, giai đoạn và loại nguồn trong danh sách.")
    if f.source_url and not f.source_url.startswith("https://"):
        raise CurationError("Liên kết nguồn phải bắt đầu bằng https://")
    if len(f.questions) < MIN_PARAPHRASES:
        raise CurationError(f"Cần ít nhất {MIN_PARAPHRASES} cách hỏi, mỗi dòng một cách.")
    previous = None
    if f.entry_id:
        previous = session.exec(select(KbDraft).where(KbDraft.kind == "entry", KbDraft.entry_id == f.entry_id)
                                .order_by(KbDraft.version.desc())).first()  # type: ignore[attr-defined]
        if previous is None:
            raise CurationError("Không có mục này để sửa.")
    entry_id = f.entry_id or new_id(session, kb, f.title)
    source: dict[str, Any] = {"doc": f.source_doc, "kind": f.source_kind}
    if f.source_date:
        source["date"] = f.source_date
    if f.source_issuer:
        source["issuer"] = f.source_issuer
    if f.source_url:
        source["url"] = f.source_url
    data: dict[str, Any] = {"id": entry_id, "topic": f.topic, "title": f.title, "questions": f.questions,
                            "answer": f.answer, "sources": [source], "period": f.period, "reviewed": today.isoformat()}
    if f.review_by:
        data["review_by"] = f.review_by
    try:
        entry = Entry.model_validate(data)
    except ValidationError as err:
        raise CurationError("Nội dung chưa đúng mẫu: " + "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in err.errors()[:5])) from None
    row = KbDraft(kind="entry", entry_id=entry_id, data=entry.model_dump(mode="json", exclude_none=True),
                  version=(previous.version + 1) if previous else 1, previous_id=previous.id if previous else None,
                  created_by=actor, created_by_name=name[:128], created_at=now)
    session.add(row)
    session.flush()
    audit(session, now, actor, "kb_draft", target=entry_id, detail=f"mục mới, phiên bản {row.version}: {f.title}")
    return row


def decide(session: Session, now: dt.datetime, actor: str, name: str, kb: KnowledgeBase, draft_id: int,
           approve: bool, today: dt.date) -> KbDraft:
    row = session.get(KbDraft, draft_id)
    if row is None or row.status != "draft":
        raise CurationError("Bản nháp này không còn chờ duyệt.")
    if row.created_by == actor:
        audit(session, now, actor, "refused", target=row.entry_id, detail=f"tự duyệt bản nháp {row.id} của chính mình")
        raise CurationError("Không thể tự duyệt bản nháp của chính mình: cần một cán bộ khác duyệt.")
    if approve:
        problems = check(kb, session, row, today)
        if problems:
            raise CurationError("Chưa thể đăng, kiểm tra nội dung (như «kb check») báo lỗi: " + "; ".join(problems[:5]))
        if row.kind == "entry":
            for old in session.exec(select(KbDraft).where(KbDraft.kind == "entry", KbDraft.entry_id == row.entry_id,
                                                          KbDraft.status == "published")):
                old.status = "replaced"
                session.add(old)
        row.status = "published"
        request_reload(session)
    else:
        row.status = "rejected"
    row.decided_by, row.decided_by_name, row.decided_at = actor, name[:128], now
    session.add(row)
    audit(session, now, actor, "kb_publish" if approve else "kb_reject", target=row.entry_id,
          detail=f"bản nháp {row.id} ({row.kind}) của {row.created_by}")
    return row


def drafts(session: Session, limit: int = 200) -> list[KbDraft]:
    """Every version, newest first (pending ones are the work; the rest is the history)."""
    return list(session.exec(select(KbDraft).order_by(KbDraft.id.desc()).limit(limit)))  # type: ignore[union-attr]


# ------------------------------------------------------------------ export for review in git
def export_yaml(session: Session) -> str:
    rows = published(session)
    entries = [r.data for r in rows if r.kind == "entry" and r.data]
    paraphrases: dict[str, list[str]] = {}
    for r in rows:
        if r.kind == "paraphrase":
            paraphrases.setdefault(r.entry_id, []).append(r.question)
    head = ("# Nội dung cán bộ đã duyệt trên bảng điều khiển (/canbo), xuất bằng `ntm-bot kb export-yaml`.\n"
            "# `entries`: các mục mới (chép sang một tệp trong knowledge/data); `paraphrases`: cách hỏi thêm cho\n"
            "# các mục có sẵn (thêm vào `questions` của mục đó). Ai soạn, ai duyệt, khi nào: bảng kb_draft.\n")
    body = yaml.safe_dump({"entries": entries, "paraphrases": paraphrases}, allow_unicode=True, sort_keys=False,
                          width=110)
    return head + body
