"""Reports to their commune's officers, escalation to supervisors, the morning overdue list per commune.

- A new ticket (tickets' CREATED_HOOKS, in the creating transaction): every active officer attached to its
  commune who has a Telegram account gets a private notice (code, category, commune, deadline, the console
  link; never the citizen's words or contact), and so does the commune's own Telegram group or forum topic
  (CONSOLE_COMMUNE_CHATS). Console officers see it in their inbox at once (scoped).
- `console-escalate` (every 5 minutes, one instance): a ticket with no known commune, a new ticket nobody took
  within CONSOLE_ESCALATE_HOURS, and an overdue one each escalate once per reason: a ticket event
  ("escalated", the reason), a message in the staff chat, a private Telegram notice to supervisors and admins,
  and a badge in the console's inbox.
- `console-overdue-communes` (08:00): each commune officer with Telegram gets the overdue and nearly due
  tickets of their own communes (the whole list still goes to the staff chat: tickets' own 08:00 job).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from bot.config import Settings
from bot.features.tickets import calendar
from bot.features.tickets import service as ticketing
from bot.kernel.jobs import job
from bot.kernel.messages import TELEGRAM, Reply
from bot.storage.console import StaffLogin
from bot.storage.models import Staff
from bot.storage.tickets import IN_PROGRESS, NEED_INFO, NEW, Ticket, TicketEvent

ESCALATED = "escalated"
REASONS = {"khong-xa": "chưa rõ xã, phường", "chua-nhan": "chưa có cán bộ nhận", "qua-han": "đã quá hạn trả lời"}
NEW_NOTICE = ("🆕 Phản ánh mới {code} · {category} · {commune} · hạn {due}.\n"
              "Xem và trả lời: {link}")
ESCALATION = "⚠️ {code} chuyển lãnh đạo: {reason} ({category} · {commune} · hạn {due}).\nXem: {link}"
OVERDUE_TITLE = "⏰ Phản ánh quá hạn hoặc sắp đến hạn của {communes} ({today}):"


def link(settings: Settings, ticket: Ticket) -> str:
    base = settings.console_url.rstrip("/")
    return f"{base}/canbo/phan-anh/{ticket.id}" if base else f"bảng điều khiển cán bộ /canbo, mã {ticket.code}"


def telegram_id(staff: Staff) -> str | None:
    """The officer's Telegram user id (a private chat with the bot has the same id); None for console-only."""
    return staff.user_id if staff.user_id.lstrip("-").isdigit() else None


def _private(session: Session, staff: Staff, text: str, ref: str | None) -> None:
    uid = telegram_id(staff)
    if uid is None:
        return
    from bot.kernel.inbox import deliver

    deliver(session, Reply(text=text, channel=TELEGRAM, chat_id=uid, kind="notice", ref=ref))


def commune_officers(session: Session, commune: str) -> list[Staff]:
    out = []
    for row in session.exec(select(StaffLogin)):
        if commune in (row.communes or []):
            staff = session.get(Staff, row.staff_id)
            if staff is not None and staff.active:
                out.append(staff)
    return out


def _fields(settings: Settings, t: Ticket) -> dict[str, str]:
    return dict(code=t.code, category=t.category_label, commune=t.commune_name or "chưa rõ xã, phường",
                due=calendar.fmt_date(t.due_date), link=link(settings, t))


def on_created(session: Session, settings: Settings, ticket: Ticket, now: dt.datetime) -> None:
    if not ticket.commune_code:
        return  # escalated by the job (no commune: supervisors decide)
    text = NEW_NOTICE.format(**_fields(settings, ticket))
    for staff in commune_officers(session, ticket.commune_code):
        _private(session, staff, text, ticket.code)
    group = settings.commune_chats().get(ticket.commune_code)
    if group is not None:  # the commune's own Telegram group (or topic), when it has one
        from bot.kernel.inbox import deliver

        deliver(session, Reply(text=text, channel=TELEGRAM, chat_id=group[0], thread_id=group[1], kind="staff",
                               ref=ticket.code))


def escalations(session: Session, settings: Settings, now: dt.datetime) -> list[tuple[Ticket, str]]:
    """The (ticket, reason) pairs to escalate now (each reason once per ticket)."""
    today = calendar.local_date(now)
    open_ = (NEW, IN_PROGRESS, NEED_INFO)
    untaken_before = now - dt.timedelta(hours=settings.console_escalate_hours)
    found: list[tuple[Ticket, str]] = []
    for t in session.exec(select(Ticket).where(Ticket.status.in_(open_), Ticket.commune_code.is_(None))):  # type: ignore[union-attr,attr-defined]
        found.append((t, "khong-xa"))
    for t in session.exec(select(Ticket).where(Ticket.status == NEW, Ticket.assigned_to.is_(None),  # type: ignore[union-attr]
                                               Ticket.created_at < untaken_before)):
        found.append((t, "chua-nhan"))
    for t in session.exec(select(Ticket).where(Ticket.status.in_(open_), Ticket.due_date < today)):  # type: ignore[attr-defined]
        found.append((t, "qua-han"))
    if not found:
        return []
    ids = {t.id for t, _ in found}
    done = {(e.ticket_id, e.new) for e in session.exec(select(TicketEvent).where(
        TicketEvent.action == ESCALATED, TicketEvent.ticket_id.in_(ids)))}  # type: ignore[union-attr]
    seen: set[tuple[int, str]] = set()
    out = []
    for t, reason in found:
        key = (t.id, reason)
        if key not in done and key not in seen:
            seen.add(key)  # type: ignore[arg-type]
            out.append((t, reason))
    return out


def escalate(session: Session, settings: Settings, now: dt.datetime) -> int:
    todo = escalations(session, settings, now)
    if not todo:
        return 0
    supervisors = list(session.exec(select(Staff).where(Staff.active == True,  # noqa: E712
                                                        Staff.role.in_(("supervisor", "admin")))))  # type: ignore[attr-defined]
    for t, reason in todo:
        ticketing.add_event(session, t, ESCALATED, "bot", now, new=reason, detail=REASONS[reason])
        text = ESCALATION.format(reason=REASONS[reason], **_fields(settings, t))
        ticketing.notify_staff(session, settings, t, text)
        for s in supervisors:
            _private(session, s, text, t.code)
    return len(todo)


def escalated_reasons(session: Session, ticket_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not ticket_ids:
        return out
    for e in session.exec(select(TicketEvent).where(TicketEvent.action == ESCALATED,
                                                    TicketEvent.ticket_id.in_(ticket_ids)).order_by(TicketEvent.id)):  # type: ignore[union-attr]
        out.setdefault(e.ticket_id, []).append(REASONS.get(e.new, e.new))
    return out


def overdue_per_commune(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Each commune officer with Telegram: their communes' overdue list. Returns the number of lists queued."""
    from knowledge.communes import default_finder

    names = default_finder().by_code
    today = calendar.local_date(now)
    sent = 0
    for row in session.exec(select(StaffLogin)):
        staff = session.get(Staff, row.staff_id)
        if not row.communes or staff is None or not staff.active or telegram_id(staff) is None:
            continue
        lines = ticketing.overdue_lines(session, settings, today, communes=row.communes)
        if not lines:
            continue
        communes = ", ".join(names[c].name if c in names else c for c in row.communes)
        _private(session, staff, "\n".join([OVERDUE_TITLE.format(communes=communes, today=calendar.fmt_date(today)),
                                            *lines]), None)
        sent += 1
    return sent


@job("console-escalate", every=dt.timedelta(minutes=5))
def _escalate(session: Any, services: Any) -> None:
    escalate(session, services.settings, services.clock())


@job("console-overdue-communes", daily_at=dt.time(8, 0))
def _overdue(session: Any, services: Any) -> None:
    overdue_per_commune(session, services.settings, services.clock())


if on_created not in ticketing.CREATED_HOOKS:
    ticketing.CREATED_HOOKS.append(on_created)
