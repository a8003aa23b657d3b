"""Zalo Official Account OAuth tokens: one row per app, shared by every instance.

Refresh tokens are single-use: the row is the only place the current pair lives, `version` grows with each
refresh, and `refresh_owner`/`refresh_lease_until` make sure only one process refreshes at a time.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlmodel import Field, SQLModel

from bot.kernel.messages import utcnow


class ZaloOAToken(SQLModel, table=True):
    __tablename__ = "zalo_oa_token"

    app_id: str = Field(primary_key=True, max_length=64)
    access_token: str = Field(default="", max_length=2048)
    refresh_token: str = Field(default="", max_length=2048)
    expires_at: Optional[dt.datetime] = None  # None: unknown (seeded from settings), refreshed on -216/-220
    version: int = 0  # +1 per refresh: a sender that saw version N knows whether someone refreshed since
    refresh_owner: Optional[str] = Field(default=None, max_length=96)
    refresh_lease_until: Optional[dt.datetime] = None
    refreshed_at: Optional[dt.datetime] = None
    refresh_count: int = 0
    last_error: Optional[str] = Field(default=None, max_length=500)
    updated_at: dt.datetime = Field(default_factory=utcnow)
