"""The web chat's own table: photos citizens upload from the browser.

Telegram and Zalo keep files on their platforms (we store references); the browser gives us the bytes, so they
live here, in the shared database (any instance can serve them, /xoadulieu deletes them with the rest).
Only re-encoded images are stored (no EXIF, no GPS, no polyglot payload): see `bot/channels/web/uploads.py`.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.kernel.messages import utcnow


class WebUpload(SQLModel, table=True):
    __tablename__ = "web_upload"

    id: str = Field(primary_key=True, max_length=48)  # random, unguessable: the photo's address
    chat_id: str = Field(max_length=64, index=True)  # the browser's anonymous identity
    mime: str = Field(max_length=32)
    size: int = 0
    width: int = 0
    height: int = 0
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
