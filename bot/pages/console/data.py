"""What the console reads and does, each a function of a session run by `db.run` (one transaction): the inbox,
a ticket's page, and the officers' actions, which call the same domain operations as the chat commands
(`bot.features.tickets.service`: answer, add_note, set_status, assign) and audit like them."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.config import Settings
from bot.features.console import routing
from bot.features.console.access import may_see, scope
from bot.features.console.accounts import Officer, audit
from bot.features.results.figures import Figures, figures, monthly, range_utc
from bot.features.tickets import calendar
from bot.features.tickets import service as ticketing
from bot.kernel.messages import Attachment
from bot.storage.models import Staff
from bot.storage.tickets import (
    CLOSED,
    IN_PROGRESS,
    NEED_INFO,
    NEW,
    OPEN_STATUSES,
    RESOLVED,
    Ticket,
    TicketEvent,
    TicketMessage,
    parse_code,
)

PAGE_SIZE = 50
STATUS_FILTERS = {"mo": OPEN_STATUSES, "moi": (NEW,), "dang-xu-ly": (IN_PROGRESS,), "cho-bo-sung": (NEED_INFO,),
                  "da-xu-ly": (RESOLVED,), "da-dong": (CLOSED,), "tat-ca": ()}
STATUS_SLUGS = {NEW: "moi", IN_PROGRESS: "dang-xu-ly", NEED_INFO: "cho-bo-sung", RESOLVED: "da-xu-ly", CLOSED: "da-dong"}


@dataclasses.dataclass
class Filters:
    status: str = "mo"
    commune: str = ""
    category: str = ""
    overdue: bool = False
    mine: bool = False
    escalated: bool = False
    q: str = ""
    page: int = 1
    since: dt.date | None = None  # sent on or after (local date): the dashboard's drill-down
    until: dt.date | None = None

    @classmethod
    def parse(cls, query: Any) -> "Filters":
        status = query.get("trang-thai", "mo")
        try:
            page = max(1, min(10_000, int(query.get("trang", "1")[:6])))
        except ValueError:
            page = 1
        return cls(status=status if status in STATUS_FILTERS else "mo", commune=query.get("xa", "")[:8],
                   category=query.get("loai", "")[:48], overdue=query.get("qua-han") == "1",
                   mine=query.get("cua-toi") == "1", escalated=query.get("chuyen-len") == "1",
                   q=query.get("q", "").strip()[:100], page=page, since=parse_date(query.get("tu", "")),
                   until=parse_date(query.get("den", "")))

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters as URL parameters (the pager's and the drill-down's links)."""
        f = dataclasses.replace(self, **changes)
        q = {"q": f.q, "trang-thai": f.status, "xa": f.commune, "loai": f.category, "qua-han": "1" if f.overdue else "",
             "cua-toi": "1" if f.mine else "", "chuyen-len": "1" if f.escalated else "",
             "tu": f.since.isoformat() if f.since else "", "den": f.until.isoformat() if f.until else "",
             "trang": str(f.page) if f.page > 1 else ""}
        return {k: v for k, v in q.items() if v}


def parse_date(text: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
    return day if 2000 <= day.year <= 9999 else None


@dataclasses.dataclass
class Inbox:
    rows: list[Ticket]
    total: int
    today: dt.date
    communes: list[tuple[str, str]]  # (code, name) the officer may filter by
    categories: list[tuple[str, str]]
    escalated: dict[int, list[str]]  # ticket id -> why it went to the supervisors


def inbox(session: Session, settings: Settings, now: dt.datetime, officer: Officer, f: Filters) -> Inbox:
    from knowledge.communes import default_finder

    today = calendar.local_date(now)
    q = scope(select(Ticket), officer)
    statuses = STATUS_FILTERS[f.status]
    if statuses:
        q = q.where(Ticket.status.in_(statuses))  # type: ignore[attr-defined]
    if f.commune:
        q = q.where(Ticket.commune_code == f.commune)
    if f.category:
        q = q.where(Ticket.category == f.category)
    if f.overdue:
        q = q.where(Ticket.due_date < today, Ticket.status.in_((NEW, IN_PROGRESS, NEED_INFO)))  # type: ignore[attr-defined]
    if f.mine:
        q = q.where(Ticket.assigned_to == officer.user_id)
    if f.escalated:
        q = q.where(Ticket.id.in_(select(TicketEvent.ticket_id).where(TicketEvent.action == routing.ESCALATED)))  # type: ignore[union-attr]
    if f.since or f.until:
        lo, hi = range_utc(f.since or dt.date(2000, 1, 1), f.until or today)
        q = q.where(Ticket.created_at >= lo, Ticket.created_at < hi)
    if f.q:
        ticket_id = parse_code(f.q) if f.q.lower().startswith("pa") else None
        if ticket_id is not None:
            q = q.where(Ticket.id == ticket_id)
        else:
            like = "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            q = q.where(sa.or_(sa.func.lower(Ticket.description).like(like, escape="\\"),
                               sa.func.lower(Ticket.commune_name).like(like, escape="\\")))
    total = session.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
    rows = list(session.exec(q.order_by(Ticket.due_date, Ticket.id).offset((f.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    finder = default_finder()
    codes = officer.communes if not officer.provincial else tuple(c.code for c in finder.communes)
    communes = sorted(((c, finder.by_code[c].name) for c in codes if c in finder.by_code), key=lambda x: x[1])
    cats = [(c.slug, c.label) for c in ticketing.categories(settings)]
    audit(session, now, officer.actor, "console_inbox", detail=f"{f.status} {f.commune} {f.category}"
          f"{' qua-han' if f.overdue else ''}{' cua-toi' if f.mine else ''}{' chuyen-len' if f.escalated else ''}")  # never the search words
    return Inbox(rows, total, today, communes, cats, routing.escalated_reasons(session, [t.id for t in rows]))  # type: ignore[misc]


REFUSED = "refused"  # the officer may not see this ticket (another commune's): the refusal is audited (and committed)


@dataclasses.dataclass
class TicketPage:
    ticket: Ticket
    items: list[tuple[dt.datetime, str, dict[str, Any]]]  # (when, kind, fields) oldest first
    today: dt.date
    templates: dict[str, str]
    staff: list[tuple[str, str]]  # (user id, name) to assign to


def ticket_page(session: Session, settings: Settings, now: dt.datetime, officer: Officer, ticket_id: int,
                reveal: bool = False) -> TicketPage | str | None:
    t = session.get(Ticket, ticket_id)
    if t is None:
        return None
    if not may_see(officer, t):
        audit(session, now, officer.actor, "refused", target=t.code, detail="mở phản ánh của xã khác trên /canbo")
        return REFUSED
    audit(session, now, officer.actor, "reveal_phone" if reveal else "ticket_view", target=t.code, detail="canbo")
    if reveal:
        ticketing.add_event(session, t, "reveal_phone", officer.actor, now)
    items: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    for m in session.exec(select(TicketMessage).where(TicketMessage.ticket_id == t.id).order_by(TicketMessage.id)):
        files = [Attachment(**a) for a in (m.attachments or []) if isinstance(a, dict)]
        links = [f"/canbo/phan-anh/{t.id}/tep/{m.id}/{i}" if platform_file(t, f) else "" for i, f in enumerate(files)]
        items.append((m.created_at, m.kind, {"text": m.text, "who": m.author_name, "files": files, "links": links}))
    for e in session.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)):
        items.append((e.at, "event:" + e.action, {"old": e.old, "new": e.new, "detail": e.detail}))
    items.sort(key=lambda x: x[0])
    staff = [(s.user_id, s.display_name or (f"@{s.username}" if s.username else s.user_id))
             for s in session.exec(select(Staff).where(Staff.active == True).order_by(Staff.display_name))]  # noqa: E712
    session.expunge(t)
    return TicketPage(t, items, calendar.local_date(now), ticketing.all_templates(session), staff)


def platform_file(t: Ticket, a: Attachment) -> bool:
    """A file the citizen sent on Telegram: kept there (a file id), which the console fetches for the officer."""
    return t.channel == "telegram" and a.kind in FILE_KINDS and bool(a.ref) and not a.ref.startswith(("https://", "http://"))


FILE_KINDS = ("photo", "document", "video", "voice", "audio")


def telegram_file(session: Session, now: dt.datetime, officer: Officer, ticket_id: int, message_id: int,
                  index: int) -> str | None:
    """The Telegram file id of one file of a ticket's message, for an officer who may see the ticket (audited);
    REFUSED for another commune's ticket, None when there is no such file."""
    t = session.get(Ticket, ticket_id)
    m = session.get(TicketMessage, message_id)
    if t is None or m is None or m.ticket_id != t.id:
        return None
    if not may_see(officer, t):
        audit(session, now, officer.actor, "refused", target=t.code, detail="mở tệp của phản ánh xã khác trên /canbo")
        return REFUSED
    files = [Attachment(**a) for a in (m.attachments or []) if isinstance(a, dict)]
    if not 0 <= index < len(files) or not platform_file(t, files[index]):
        return None
    audit(session, now, officer.actor, "file_view", target=t.code, detail="canbo")
    return files[index].ref


# ------------------------------------------------------------------ actions
ACTIONS = ("tra-loi", "ghi-chu", "trang-thai", "giao", "nhan", "dong", "mo-lai")
STATUS_CHOICES = {"dang-xu-ly": IN_PROGRESS, "cho-bo-sung": NEED_INFO, "da-xu-ly": RESOLVED}


def act(session: Session, settings: Settings, now: dt.datetime, officer: Officer, ticket_id: int, action: str,
        form: dict[str, str]) -> str:
    """Do one action on a ticket; returns the result's key (shown as a message on the ticket's page)."""
    t = session.get(Ticket, ticket_id)
    if t is None:
        return "khong-co"
    if not may_see(officer, t):
        audit(session, now, officer.actor, "refused", target=t.code, detail=f"{action} phản ánh của xã khác trên /canbo")
        return REFUSED
    text = form.get("noi-dung", "").strip()
    name = officer.name
    if action == "tra-loi":
        template = form.get("mau", "").strip()
        if template:
            body = ticketing.all_templates(session).get(template)
            if body is None:
                return "mau-khong-co"
            for key, value in (("{code}", t.code), ("{agency_name}", settings.agency_name),
                               ("{agency_contact}", settings.agency_contact)):
                body = body.replace(key, value)
            text = (body + ("\n" + text if text else "")).strip()
        if not text:
            return "can-noi-dung"
        if t.status == CLOSED:
            return "da-dong"
        ticketing.answer(session, settings, now, t, text[:3500], officer.actor, name)
        audit(session, now, officer.actor, "ticket_reply", target=t.code, detail=text)
        return "da-tra-loi"
    if action == "ghi-chu":
        if not text:
            return "can-noi-dung"
        ticketing.add_note(session, now, t, text[:4000], officer.actor, name)
        audit(session, now, officer.actor, "ticket_note", target=t.code, detail=text)
        return "da-ghi-chu"
    if action == "trang-thai":
        new = STATUS_CHOICES.get(form.get("trang-thai", ""))
        if new is None:
            return "trang-thai-sai"
        if t.status == CLOSED:
            return "da-dong"
        if t.status == new:
            return "khong-doi"
        old = t.status
        ticketing.set_status(session, settings, now, t, new, officer.actor, reason=text[:1000])
        audit(session, now, officer.actor, "ticket_status", target=t.code, detail=f"{old} -> {new} {text}".strip())
        return "da-doi-trang-thai"
    if action in ("giao", "nhan"):
        uid = officer.user_id if action == "nhan" else form.get("can-bo", "")
        staff = session.exec(select(Staff).where(Staff.user_id == uid, Staff.active == True)).first()  # noqa: E712
        if staff is None:
            return "can-bo-khong-co"
        ticketing.assign(session, settings, now, t, staff, officer.actor)
        if action == "nhan" and t.status == NEW:
            ticketing.set_status(session, settings, now, t, IN_PROGRESS, officer.actor)
        audit(session, now, officer.actor, "ticket_take" if action == "nhan" else "ticket_assign", target=t.code,
              detail=staff.user_id)
        return "da-giao"
    if action == "dong":
        if t.status == CLOSED:
            return "da-dong-roi"
        if not text:
            return "can-ly-do"
        ticketing.set_status(session, settings, now, t, CLOSED, officer.actor, reason=text[:1000])
        audit(session, now, officer.actor, "ticket_close", target=t.code, detail=text)
        return "da-dong-xong"
    if action == "mo-lai":
        if t.status != CLOSED:
            return "chua-dong"
        if ticketing.is_erased(t):
            return "da-xoa"
        ticketing.set_status(session, settings, now, t, IN_PROGRESS, officer.actor, reason=text[:1000])
        audit(session, now, officer.actor, "ticket_reopen", target=t.code, detail=text)
        return "da-mo-lai"
    return "khong-ro"


# ------------------------------------------------------------------ dashboard
AGE_BUCKETS = ((3, "Dưới 3 ngày"), (7, "3 đến 7 ngày"), (14, "7 đến 14 ngày"), (30, "14 đến 30 ngày"),
               (None, "Trên 30 ngày"))


@dataclasses.dataclass
class Dashboard:
    figures: Figures  # the same computation as /stats and /congkhai (bot.features.results.figures)
    trend: list[Figures]  # 12 months ending with the period's last month
    backlog: list[tuple[str, int]]  # open tickets now, by age
    backlog_total: int
    category_slugs: dict[str, str]  # label -> slug (drill-down)
    unit_names: dict[str, str]  # commune code -> name
    today: dt.date


def dashboard(session: Session, settings: Settings, now: dt.datetime, officer: Officer, start: dt.date,
              end: dt.date) -> Dashboard:
    from knowledge.communes import default_finder

    today = calendar.local_date(now)
    communes = None if officer.provincial else officer.communes
    f = figures(session, start, end, today, communes)
    trend = monthly(session, end, 12, today, communes)
    ages = [0] * len(AGE_BUCKETS)
    q = scope(select(Ticket.created_at).where(Ticket.status.in_((NEW, IN_PROGRESS, NEED_INFO))), officer)  # type: ignore[attr-defined]
    total = 0
    for (created,) in session.execute(q):
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.timezone.utc)
        days = (today - calendar.local_date(created)).days
        i = next(k for k, (limit, _) in enumerate(AGE_BUCKETS) if limit is None or days < limit)
        ages[i] += 1
        total += 1
    audit(session, now, officer.actor, "ticket_stats", detail=f"canbo {start}..{end}")
    return Dashboard(f, trend, [(label, n) for (_, label), n in zip(AGE_BUCKETS, ages)], total,
                     {c.label: c.slug for c in ticketing.categories(settings)},
                     {c.code: c.name for c in default_finder().communes}, today)


EXPORT_MAX_ROWS = 50_000


def export(session: Session, settings: Settings, now: dt.datetime, officer: Officer, start: dt.date,
           end: dt.date) -> tuple[list[str], list[list[object]]]:
    """The tickets sent in [start, end] that the officer may see, as `/export` writes them (phones masked)."""
    from bot.features.tickets.reports import CSV_COLUMNS, export_rows

    lo, hi = range_utc(start, end)
    q = scope(select(Ticket).where(Ticket.created_at >= lo, Ticket.created_at < hi), officer)
    rows = list(session.exec(q.order_by(Ticket.id).limit(EXPORT_MAX_ROWS)))
    audit(session, now, officer.actor, "ticket_export", detail=f"canbo {start}..{end}: {len(rows)}")
    return CSV_COLUMNS, export_rows(session, rows, calendar.local_date(now))


# ------------------------------------------------------------------ knowledge curation
@dataclasses.dataclass
class KnowledgePage:
    groups: list[Any]  # bot.features.content.unanswered.Group
    drafts: list[Any]  # KbDraft, newest first
    problems: dict[int, list[str]]  # pending draft id -> what `kb check` would refuse
    entries: list[tuple[str, str]]  # (id, title) to link to
    today: dt.date


def knowledge_page(session: Session, settings: Settings, now: dt.datetime, officer: Officer, kb: Any) -> KnowledgePage:
    from bot.features.console import curation
    from bot.features.content.unanswered import recent_groups

    today = calendar.local_date(now)
    rows = curation.drafts(session)
    problems = {r.id: curation.check(kb, session, r, today) for r in rows if r.status == "draft"}
    entries = sorted(((e.id, e.title) for e in kb.entries.values()), key=lambda x: x[1])
    audit(session, now, officer.actor, "kb_unanswered", detail="canbo")
    return KnowledgePage(recent_groups(session, 30)[:30], rows, problems, entries, today)  # type: ignore[arg-type]


def curate(session: Session, settings: Settings, now: dt.datetime, officer: Officer, kb: Any, action: str,
           form: dict[str, str], draft_id: int | None) -> tuple[str, str]:
    """Save a draft or decide one: (result key, "") or ("", why not). A refusal is committed with its audit row
    (each curation step raises before it changes anything)."""
    from bot.features.console import curation

    try:
        return _curate(session, now, officer, kb, action, form, draft_id), ""
    except curation.CurationError as err:
        return "", str(err)


def _curate(session: Session, now: dt.datetime, officer: Officer, kb: Any, action: str, form: dict[str, str],
            draft_id: int | None) -> str:
    from bot.features.console import curation

    today = calendar.local_date(now)
    if action == "cach-hoi":
        curation.draft_paraphrase(session, now, officer.actor, officer.name, kb, form.get("muc", "").strip(),
                                  form.get("cau-hoi", ""))
        return "da-luu-nhap"
    if action == "muc-moi":
        curation.draft_entry(session, now, officer.actor, officer.name, kb, curation.EntryForm.parse(form), today)
        return "da-luu-nhap"
    if action in ("duyet", "tu-choi") and draft_id is not None:
        curation.decide(session, now, officer.actor, officer.name, kb, draft_id, action == "duyet", today)
        return "da-dang" if action == "duyet" else "da-tu-choi"
    return "khong-ro"


# ------------------------------------------------------------------ accounts (admins)
def account_list(session: Session, now: dt.datetime, officer: Officer) -> list[tuple[Any, Any]] | str:
    from bot.features.console.accounts import accounts

    if officer.role != "admin":
        audit(session, now, officer.actor, "refused", target="/canbo/tai-khoan", detail="không phải quản trị viên")
        return REFUSED
    audit(session, now, officer.actor, "staff_list", detail="canbo")
    return accounts(session)


def account_save(session: Session, now: dt.datetime, officer: Officer, form: dict[str, str]) -> str:
    """Create or update an account; "" when done, else why not (Vietnamese) or REFUSED."""
    from bot.features.console.accounts import AccountError, save_account

    if officer.role != "admin":
        audit(session, now, officer.actor, "refused", target="/canbo/tai-khoan", detail="tạo tài khoản: không phải quản trị viên")
        return REFUSED
    password = form.get("mat-khau", "")
    try:
        save_account(session, now, login=form.get("ten-dang-nhap", ""), name=form.get("ho-ten", ""),
                     role=form.get("vai-tro", "officer"), communes=form.get("xa", "").replace(" ", "").split(","),
                     password=password or None, user_id=form.get("telegram", "").strip(), actor=officer.actor)
    except AccountError as err:
        return str(err)
    return ""
