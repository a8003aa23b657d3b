"""Core tables: chats seen, the durable inbox and outbox, conversation state, staff, audit, unanswered log.

Feature modules keep their own tables in sibling files (tickets, broadcasts, …); `bot.storage.all_models`
imports every table so metadata and migrations see them all. Times are timezone-aware UTC.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Optional, TypeVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.kernel.messages import utcnow

M = TypeVar("M", bound=SQLModel)


def json_column(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.JSON, nullable=nullable))


def new_row(cls: type[M], values: dict[str, Any]) -> M:
    """A new table-model instance for the hot path, built as SQLAlchemy builds a loaded one: `values` (every
    column without a plain default, already of the right type) and the defaults go straight into the
    instance, skipping SQLModel's validating __init__ (≈ 80 µs a row, most of the time it takes to queue a
    reply). The object is then `session.add`-ed like any other."""
    obj = cls.__new__(cls)
    cls._sa_class_manager._new_state_if_none(obj)  # type: ignore[attr-defined]  # SQLAlchemy's instrumentation, untyped (see the docstring)
    obj.__dict__.update(_defaults(cls), **values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    return obj


@functools.cache
def _defaults(cls: type[SQLModel]) -> dict[str, Any]:
    sa.orm.configure_mappers()  # as the first instrumented __init__ would
    out = {name: f.default for name, f in cls.model_fields.items() if f.default_factory is None and not f.is_required()}
    assert all(v is None or isinstance(v, (str, int, float)) for v in out.values()), "shared mutable default"
    return out


class Chat(SQLModel, table=True):
    """A person (or group) seen on a channel, with the conversation they are in."""

    __tablename__ = "chat"
    __table_args__ = (sa.UniqueConstraint("channel", "chat_id", name="uq_chat_channel_chat"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(default="", max_length=64)
    chat_type: str = Field(default="private", max_length=16)
    display_name: str = Field(default="", max_length=128)
    username: str = Field(default="", max_length=64)
    first_seen_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    message_count: int = 0
    blocked_at: Optional[dt.datetime] = None  # the person blocked the bot; nothing more is sent
    # Conversation state: a named step ("feedback.ask_category") and its data.
    state: Optional[str] = Field(default=None, max_length=64)
    state_data: Optional[dict] = json_column()
    state_at: Optional[dt.datetime] = None
    # Choices offered as numbered text on channels without buttons: [[label, data], ...]
    options: Optional[list] = json_column()
    # What the conversation is about outside a step: the last question understood (for follow-ups such as
    # "còn tiêu chí 5 thì sao") and an offer made (a report pre-filled from a complaint). Short-lived.
    context: Optional[dict] = json_column()


class Conversation(SQLModel, table=True):
    """Conversation state of one person in a group chat (per forum topic): in a group, officer A composing a
    broadcast and officer B answering a ticket must not share one state. Private chats keep theirs on `chat`."""

    __tablename__ = "conversation"
    __table_args__ = (sa.UniqueConstraint("channel", "chat_id", "user_id", "thread_id", name="uq_conversation_who"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    thread_id: str = Field(default="", max_length=32)
    state: Optional[str] = Field(default=None, max_length=64)
    state_data: Optional[dict] = json_column()
    state_at: Optional[dt.datetime] = Field(default=None, index=True)
    options: Optional[list] = json_column()


class InboundEvent(SQLModel, table=True):
    """Every accepted platform event, stored before it is acknowledged; processed once, in order per chat."""

    __tablename__ = "inbound_event"
    __table_args__ = (
        sa.UniqueConstraint("channel", "event_key", name="uq_inbound_channel_key"),
        sa.Index("ix_inbound_status_id", "status", "id"),
        sa.Index("ix_inbound_chat_status", "chat_key", "status"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    event_key: str = Field(max_length=128)
    chat_key: str = Field(max_length=96)  # channel:chat_id
    payload: Optional[dict] = json_column(nullable=False)
    status: str = Field(default="pending", max_length=16)  # pending | done | failed
    attempts: int = 0
    error: Optional[str] = Field(default=None, max_length=500)
    received_at: dt.datetime = Field(default_factory=utcnow)
    processed_at: Optional[dt.datetime] = None


class OutboxMessage(SQLModel, table=True):
    """Every message that must arrive. Written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "status", "next_attempt_at", "priority", "id"),
        sa.Index("ix_outbox_chat_status", "chat_key", "status", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    chat_key: str = Field(max_length=96)
    kind: str = Field(default="reply", max_length=24)
    priority: int = 0  # lower is sooner
    payload: Optional[dict] = json_column(nullable=False)
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | blocked | failed | dead
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    lease_until: Optional[dt.datetime] = None
    claimed_by: Optional[str] = Field(default=None, max_length=96)  # instance sending it (bot.kernel.liveness)
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: Optional[dt.datetime] = None
    last_error: Optional[str] = Field(default=None, max_length=500)
    platform_message_id: Optional[str] = Field(default=None, max_length=64)
    ref: Optional[str] = Field(default=None, max_length=64, index=True)


class UnansweredQuestion(SQLModel, table=True):
    """Questions the knowledge base could not answer: what to write next."""

    __tablename__ = "unanswered_question"

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    # Who asked (channel:chat_id): lets that person send the question to an officer with one tap, and lets
    # /xoadulieu and retention delete it. Cleared by retention with the question itself.
    chat_key: Optional[str] = Field(default=None, max_length=96, index=True)
    text: str = Field(max_length=1000)
    folded: str = Field(max_length=1000)
    best_entry_id: Optional[str] = Field(default=None, max_length=64)
    best_score: float = 0.0
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)


class Staff(SQLModel, table=True):
    """Officers allowed to use staff commands (Telegram users)."""

    __tablename__ = "staff"
    __table_args__ = (sa.UniqueConstraint("user_id", name="uq_staff_user"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=64)
    username: str = Field(default="", max_length=64)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(default="officer", max_length=16)  # admin | supervisor | officer
    active: bool = True
    added_by: str = Field(default="", max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Who did what, when: every staff action and every refused attempt."""

    __tablename__ = "audit_log"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)  # channel:user_id
    action: str = Field(max_length=48)
    target: str = Field(default="", max_length=64)
    detail: str = Field(default="", max_length=1000)


class KeyValue(SQLModel, table=True):
    """Small durable facts (polling offsets, last run of a daily job, …)."""

    __tablename__ = "kv"

    key: str = Field(primary_key=True, max_length=96)
    value: Optional[dict] = json_column()
    updated_at: dt.datetime = Field(default_factory=utcnow)
