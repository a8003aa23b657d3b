"""Channel-neutral messages: what comes in (`Inbound`) and what goes out (`Reply`).

Adapters turn platform updates into `Inbound` and render `Reply` for their platform. Text uses one tiny
markup, `**bold**`; adapters escape everything else for their platform.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Channels known to the core. Staff work in Telegram; citizens may come from any channel.
TELEGRAM = "telegram"
ZALO = "zalo"
ZALO_OA = "zalo_oa"
TERMINAL = "terminal"
WEB = "web"  # the web chat (bot/channels/web)
TERMINAL_STAFF = "terminal_staff"  # the local officers' room (`ntm-bot chat --staff`) when there is no Telegram


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class Attachment:
    kind: str  # photo | document | sticker | video | audio | voice | location
    ref: str  # platform file id or URL, kept by reference (never downloaded)
    name: str = ""
    mime: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "name": self.name, "mime": self.mime}


@dataclass(frozen=True)
class Inbound:
    """One thing a person did: a text, a button press, a photo."""

    channel: str
    chat_id: str
    user_id: str
    text: str = ""
    display_name: str = ""
    username: str = ""  # platform handle (Telegram @username), used to address staff
    chat_type: str = "private"  # private | group
    callback: str | None = None  # button payload when a button was pressed
    callback_id: str | None = None  # platform id of the button press, to acknowledge it
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None  # platform message id this message replies to
    thread_id: str | None = None  # forum topic (Telegram) the message was posted in
    message_id: str | None = None
    event_key: str = ""  # unique per platform event: redeliveries carry the same key
    unsupported: bool = False  # the platform withheld the content (e.g. Zalo protected users)
    reply_attachments: tuple[Attachment, ...] = ()  # media of the message replied to (e.g. staff: /broadcast on a photo)

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies field by field (slow on the hot path)
        d = {f: getattr(self, f) for f in _INBOUND_FIELDS}
        d["attachments"] = [a.to_dict() for a in self.attachments]
        d["reply_attachments"] = [a.to_dict() for a in self.reply_attachments]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Inbound":
        d = dict(d)
        d["attachments"] = tuple(Attachment(**a) for a in d.get("attachments") or ())
        d["reply_attachments"] = tuple(Attachment(**a) for a in d.get("reply_attachments") or ())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


_INBOUND_FIELDS = tuple(f.name for f in dataclasses.fields(Inbound))


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # <= 64 bytes (Telegram callback_data limit)

    def __post_init__(self) -> None:
        if len(self.data.encode()) > 64:
            raise ValueError(f"button data over 64 bytes: {self.data!r}")


@dataclass(frozen=True)
class Reply:
    """Something the bot says. Target defaults to the chat the inbound came from."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    attachments: tuple[Attachment, ...] = ()
    channel: str | None = None
    chat_id: str | None = None
    thread_id: str | None = None
    reply_to: str | None = None
    kind: str = "reply"  # reply | notice | staff | callback_answer | topic | ...
    ref: str | None = None  # correlation (e.g. ticket code) stored with the outbox row
    extra: dict[str, Any] = field(default_factory=dict)  # adapter-specific options

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


LABEL_MAX = 60  # characters of a button label (or a numbered option) before it is cut


def clip(text: str, limit: int = LABEL_MAX) -> str:
    """Text of at most `limit` characters, cut at a word boundary with "…" when too long:
    "Tiêu chí số 3 (Thủy lợi và phòng, chống thiên tai) của xã nông thôn mới" -> "…của xã…", never "…của xã NT"."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = head.rfind(" ")
    if cut >= limit // 2:  # a word boundary not too far back; one very long word is cut where it must be
        head = head[:cut]
    return head.rstrip(" ,;:–-(") + "…"


def button_rows(buttons: list[Button], per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
