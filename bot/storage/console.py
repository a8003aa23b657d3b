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


class ConsoleSession(SQLModel, table=True):
    __tablename__ = "console_session"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: Optional[dt.datetime] = None
