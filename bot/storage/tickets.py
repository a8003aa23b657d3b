"""Tickets: what citizens report, what staff answer, and the history of both.

A ticket's code is derived from its integer id (`PA-000123`): ids are unique and increase on SQLite
(AUTOINCREMENT, never reused) and on PostgreSQL (a sequence shared by every instance), so the code needs no
counter of its own and no second lookup.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.kernel.messages import utcnow
from bot.storage.models import json_column

CODE_PREFIX = "PA-"
_CODE_RE = re.compile(r"\bpa[\s\-_.:#]*0*(\d{1,9})\b", re.IGNORECASE)

# Status values (stored) and how citizens and staff read them.
NEW, IN_PROGRESS, NEED_INFO, RESOLVED, CLOSED = "new", "in_progress", "need_info", "resolved", "closed"
STATUS_LABELS = {
    NEW: "Mới tiếp nhận",
    IN_PROGRESS: "Đang xử lý",
    NEED_INFO: "Chờ bổ sung thông tin",
    RESOLVED: "Đã xử lý",
    CLOSED: "Đã đóng",
}
OPEN_STATUSES = (NEW, IN_PROGRESS, NEED_INFO, RESOLVED)


def format_code(ticket_id: int) -> str:
    return f"{CODE_PREFIX}{ticket_id:06d}"


def parse_code(text: str) -> int | None:
    """The ticket id in "PA-000123", "pa 123", "PA000123" (None if there is no code)."""
    m = _CODE_RE.search(text or "")
    return int(m.group(1)) if m else None


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        sa.UniqueConstraint("draft_key", name="uq_ticket_draft"),
        sa.Index("ix_ticket_citizen", "channel", "user_id", "id"),
        sa.Index("ix_ticket_status_due", "status", "due_date"),
        sa.Index("ix_ticket_thread", "staff_thread_id"),
        {"sqlite_autoincrement": True},
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    # who filed it: answers and status changes go back here
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    draft_key: str = Field(max_length=96)  # one ticket per confirmed draft (pressing "Gửi" twice)
    source: str = Field(default="report", max_length=16)  # report | faq
    # what and where
    category: str = Field(max_length=48)  # slug
    category_label: str = Field(max_length=64)
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    commune_code: Optional[str] = Field(default=None, max_length=8)
    commune_name: str = Field(default="", max_length=128)  # today's unit, or what the citizen typed if not found
    commune_input: str = Field(default="", max_length=200)
    hamlet: str = Field(default="", max_length=200)
    # contact: only with consent (Luật 91/2025/QH15, NĐ 356/2025/NĐ-CP); erased after CONTACT_RETENTION_MONTHS
    anonymous: bool = True
    contact_name: Optional[str] = Field(default=None, max_length=128)
    contact_phone: Optional[str] = Field(default=None, max_length=20)
    consent_at: Optional[dt.datetime] = None
    contact_erased_at: Optional[dt.datetime] = None
    # handling
    status: str = Field(default=NEW, max_length=16)
    assigned_to: Optional[str] = Field(default=None, max_length=64)  # staff user id
    assigned_name: str = Field(default="", max_length=128)
    due_date: dt.date
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    first_answer_at: Optional[dt.datetime] = None
    resolved_at: Optional[dt.datetime] = None  # when it reached "đã xử lý" or was closed (cleared on reopening)
    closed_at: Optional[dt.datetime] = None
    close_reason: str = Field(default="", max_length=1000)
    rating: Optional[int] = None
    rated_at: Optional[dt.datetime] = None
    # an officer decided the report's content (its words, the hamlet) may be shown on the public results page
    # (`/congkhai MÃ`); never the name or phone number. None: only category, commune, dates, status, answers.
    public_at: Optional[dt.datetime] = None
    # staff inbox
    staff_thread_id: Optional[str] = Field(default=None, max_length=32)  # forum topic of this ticket
    topic_state: str = Field(default="none", max_length=16)  # none | pending | created | failed
    card_message_id: Optional[str] = Field(default=None, max_length=32)

    @property
    def code(self) -> str:
        assert self.id is not None, "the code exists once the ticket is flushed"
        return format_code(self.id)

    @property
    def is_open(self) -> bool:
        return self.status != CLOSED


class TicketMessage(SQLModel, table=True):
    """The conversation of a ticket: the citizen's words, staff answers, internal notes."""

    __tablename__ = "ticket_message"

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)  # citizen | answer | note
    author: str = Field(default="", max_length=64)  # channel:user_id (staff) or "citizen"
    author_name: str = Field(default="", max_length=128)  # officer's name: staff only, never shown to citizens
    text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    attachments: Optional[list] = json_column()
    created_at: dt.datetime = Field(default_factory=utcnow)


class TicketEvent(SQLModel, table=True):
    """Status history and other changes (assign, rating, contact revealed) with who and when."""

    __tablename__ = "ticket_event"

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: dt.datetime = Field(default_factory=utcnow)
    actor: str = Field(default="", max_length=64)
    action: str = Field(max_length=24)  # created | status | assign | close | reopen | rating | info_added
    old: str = Field(default="", max_length=64)
    new: str = Field(default="", max_length=64)
    detail: str = Field(default="", max_length=1000)


class TicketStaffMessage(SQLModel, table=True):
    """A message the bot posted in the staff chat about a ticket: a reply to it answers that ticket."""

    __tablename__ = "ticket_staff_message"
    __table_args__ = (sa.UniqueConstraint("chat_id", "message_id", name="uq_ticket_staff_msg"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    chat_id: str = Field(max_length=64)
    message_id: str = Field(max_length=32)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)


class ReplyTemplate(SQLModel, table=True):
    """Reusable answers added by staff (`/templates add`); the shipped ones live in knowledge/templates.yaml."""

    __tablename__ = "reply_template"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_reply_template_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=48)
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_by: str = Field(default="", max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
