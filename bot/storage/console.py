"""The officers' web console (/canbo): console accounts, their communes, server-side sessions.

A console account belongs to one `staff` row (same roles as the chat commands). The session cookie carries a
random token signed with itsdangerous; the table keeps only its SHA-256, so a copy of the database cannot be
used to log in, and logging out (or locking an account) ends the session on every instance at once.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.kernel.messages import utcnow
from bot.storage.models import json_column


class StaffLogin(SQLModel, table=True):
    """A staff member's console login: name, argon2id hash, failed attempts and lockout, communes."""

    __tablename__ = "staff_login"
    __table_args__ = (sa.UniqueConstraint("login", name="uq_staff_login_login"),
                      sa.UniqueConstraint("staff_id", name="uq_staff_login_staff"))

    id: Optional[int] = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    login: str = Field(max_length=64)
    password_hash: str = Field(default="", max_length=255)
    failed: int = 0  # consecutive wrong passwords
    locked_until: Optional[dt.datetime] = None
    # commune codes (knowledge/communes.csv) the officer handles; empty: the provincial office (every commune)
    communes: Optional[list] = json_column()
    created_at: dt.datetime = Field(default_factory=utcnow)
    password_set_at: Optional[dt.datetime] = None
    # optional second factor: RFC 6238 TOTP (an authenticator app); the last 30-second step used (no replay)
    totp_secret: str = Field(default="", max_length=64)
    totp_last_step: int = 0


class ConsoleSession(SQLModel, table=True):
    __tablename__ = "console_session"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: Optional[dt.datetime] = None


class KbDraft(SQLModel, table=True):
    """Knowledge curated in the console: a citizen's question linked to an entry (a paraphrase) or a new entry.
    Rows are versions and are never edited except for their state: a new version is a new row (`version`,
    `previous_id`); a draft is published by a second officer (never its author); every row keeps who and when."""

    __tablename__ = "kb_draft"
    __table_args__ = (sa.Index("ix_kb_draft_status", "status", "id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # paraphrase | entry
    entry_id: str = Field(max_length=64, index=True)  # the entry linked to, or the new entry's id
    question: str = Field(default="", max_length=1000)  # paraphrase: the question added
    data: Optional[dict] = json_column()  # entry: the whole entry (knowledge.schema.Entry as JSON)
    version: int = 1
    previous_id: Optional[int] = None
    status: str = Field(default="draft", max_length=16)  # draft | published | rejected | replaced
    created_by: str = Field(max_length=64)
    created_by_name: str = Field(default="", max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow)
    decided_by: Optional[str] = Field(default=None, max_length=64)
    decided_by_name: str = Field(default="", max_length=128)
    decided_at: Optional[dt.datetime] = None
    note: str = Field(default="", max_length=1000)
