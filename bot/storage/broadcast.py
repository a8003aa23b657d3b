"""Broadcast tables: who asked for news (subscription), what staff send (broadcast), and one row per
recipient of a broadcast with its own delivery state (broadcast_recipient).

Recipient rows are created when sending starts (INSERT … SELECT from subscription, in chunks), so a
crash resumes where it stopped and the sender streams them from the database in id order.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.kernel.messages import utcnow


class Subscription(SQLModel, table=True):
    """A chat that asked for broadcasts (never created without the person's explicit choice)."""

    __tablename__ = "subscription"
    __table_args__ = (
        sa.UniqueConstraint("channel", "chat_id", name="uq_subscription_chat"),
        sa.Index("ix_subscription_active_id", "active", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    topics: str = Field(default="", max_length=200)  # ",ntm,ocop," (delimited so LIKE '%,ntm,%' selects a topic)
    commune_code: Optional[str] = Field(default=None, max_length=8)  # GSO code of the commune (knowledge/communes.csv)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    unsubscribed_at: Optional[dt.datetime] = None
    unsubscribe_reason: Optional[str] = Field(default=None, max_length=16)  # user | blocked


class Broadcast(SQLModel, table=True):
    """One message to many: composed and confirmed by staff (or the weekly slogan job)."""

    __tablename__ = "broadcast"
    __table_args__ = (
        sa.Index("ix_broadcast_status", "status", "scheduled_at"),
        sa.UniqueConstraint("dedup_key", name="uq_broadcast_dedup"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(default="manual", max_length=16)  # manual | slogan
    dedup_key: Optional[str] = Field(default=None, max_length=64)  # e.g. "slogan:2026-W49": created once
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    photo: Optional[str] = Field(default=None, max_length=256)  # platform file id or URL
    # Targets, combined with AND; all empty = every active subscriber.
    target_topic: Optional[str] = Field(default=None, max_length=16)
    target_commune: Optional[str] = Field(default=None, max_length=8)
    target_channel: Optional[str] = Field(default=None, max_length=16)
    created_by: str = Field(default="", max_length=64)  # channel:user_id, or "system"
    creator_channel: Optional[str] = Field(default=None, max_length=16)  # where progress reports go
    creator_chat_id: Optional[str] = Field(default=None, max_length=64)
    approved_by: Optional[str] = Field(default=None, max_length=64)
    # draft | awaiting_approval | scheduled | sending | done | cancelled
    status: str = Field(default="draft", max_length=20)
    scheduled_at: Optional[dt.datetime] = None  # None = as soon as confirmed (outside the quiet window)
    created_at: dt.datetime = Field(default_factory=utcnow)
    confirmed_at: Optional[dt.datetime] = None
    started_at: Optional[dt.datetime] = None
    finished_at: Optional[dt.datetime] = None
    cancelled_at: Optional[dt.datetime] = None
    cancelled_by: Optional[str] = Field(default=None, max_length=64)
    # Recipient materialisation progress (subscription id cursor).
    materialized: bool = False
    mat_cursor: int = 0
    # Counts: total when materialised, rate_limited as it happens (429s), the rest when finished.
    total: int = 0
    rate_limited: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    unknown: int = 0


class BroadcastRecipient(SQLModel, table=True):
    """One person to reach with one broadcast: queued → sending → sent | failed | blocked | skipped | unknown."""

    __tablename__ = "broadcast_recipient"
    __table_args__ = (
        sa.UniqueConstraint("broadcast_id", "channel", "chat_id", name="uq_broadcast_recipient"),
        sa.Index("ix_bcr_claim", "channel", "state", "broadcast_id", "id"),
        sa.Index("ix_bcr_state", "broadcast_id", "state"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id")
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    state: str = Field(default="queued", max_length=12)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: Optional[dt.datetime] = None
    error: Optional[str] = Field(default=None, max_length=300)


class BroadcastSender(SQLModel, table=True):
    """Lease: the one instance that sends broadcasts (so the bot as a whole stays within the platform rate)."""

    __tablename__ = "broadcast_sender"

    name: str = Field(primary_key=True, max_length=16)
    owner: Optional[str] = Field(default=None, max_length=96)
    lease_until: Optional[dt.datetime] = None
