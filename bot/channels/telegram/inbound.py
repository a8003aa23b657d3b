"""Telegram updates read straight from the Bot API's JSON into the channel-neutral `Inbound`, with strict type
checks (a forged update raises `Forged`)."""
from __future__ import annotations

from typing import Any

from bot.kernel.messages import TELEGRAM, Attachment, Inbound


class Forged(ValueError):
    """An update whose fields do not have the types the Bot API gives them."""


def _int(v: Any) -> int:
    if type(v) is not int or not -(2**53) < v < 2**53:  # bool is not an id; ids fit in 53 bits
        raise Forged("not an id")
    return v


def _str(v: Any, limit: int = 100_000) -> str:
    if v is None:
        return ""
    if not isinstance(v, str) or len(v) > limit:
        raise Forged("not a string")
    return v


def _obj(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise Forged("not an object")
    return v


def _name(user: dict[str, Any]) -> str:
    first, last = _str(user.get("first_name"), 256), _str(user.get("last_name"), 256)
    return f"{first} {last}".strip()


def _thread(msg: dict[str, Any]) -> str | None:
    if msg.get("is_topic_message") is True and msg.get("message_thread_id") is not None:
        return str(_int(msg["message_thread_id"]))
    return None


def _attachments(msg: dict[str, Any]) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    photos = msg.get("photo")
    if photos:
        if not isinstance(photos, list):
            raise Forged("photo")
        out.append(Attachment("photo", _str(_obj(photos[-1]).get("file_id"), 256)))
    doc = msg.get("document")
    if doc is not None:
        doc = _obj(doc)
        out.append(Attachment("document", _str(doc.get("file_id"), 256), _str(doc.get("file_name"), 256),
                              _str(doc.get("mime_type"), 256)))
    for kind in ("video", "voice", "audio", "sticker"):
        media = msg.get(kind)
        if media is not None:
            out.append(Attachment(kind, _str(_obj(media).get("file_id"), 256)))
    loc = msg.get("location")
    if loc is not None:
        loc = _obj(loc)
        lat, lon = loc.get("latitude"), loc.get("longitude")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lat, lon)):
            raise Forged("location")
        out.append(Attachment("location", f"{lat},{lon}"))
    return tuple(out)


def to_inbound(data: dict[str, Any]) -> Inbound | None:
    """The channel-neutral view of a Telegram update, read straight from the Bot API's JSON (None for updates
    we do not act on). Types are checked: a forged update raises `Forged`.

    The webhook reads updates this way rather than through PTB's `Update.de_json`, which builds a full object
    tree per update (a fifth of the CPU of the webhook path) and does not check field types; polling passes
    PTB's `Update.to_dict()`, so there is one reading of an update.
    """
    key = f"u{_int(data.get('update_id'))}"
    if data.get("callback_query") is not None:
        q = _obj(data["callback_query"])
        user = _obj(q.get("from"))
        msg = _obj(q["message"]) if q.get("message") is not None else None
        chat = _obj(msg.get("chat")) if msg is not None else None
        return Inbound(
            channel=TELEGRAM,
            chat_id=str(_int(chat["id"]) if chat else _int(user.get("id"))),
            user_id=str(_int(user.get("id"))),
            display_name=_name(user),
            username=_str(user.get("username"), 64),
            chat_type="private" if chat is None or chat.get("type") == "private" else "group",
            callback=_str(q.get("data"), 256),
            callback_id=_str(q.get("id"), 64),
            thread_id=_thread(msg) if msg is not None else None,
            message_id=str(_int(msg["message_id"])) if msg is not None else None,
            event_key=key,
        )
    if data.get("message") is None:
        return None  # edited messages, channel posts, …: nothing to do
    msg = _obj(data["message"])
    if msg.get("from") is None:
        return None
    user, chat = _obj(msg["from"]), _obj(msg.get("chat"))
    reply = msg.get("reply_to_message")
    # The photo of the message replied to (staff: "/broadcast …" as a reply to a photo).
    quoted = tuple(a for a in _attachments(_obj(reply)) if a.kind == "photo") if reply is not None else ()
    return Inbound(
        channel=TELEGRAM,
        chat_id=str(_int(chat.get("id"))),
        user_id=str(_int(user.get("id"))),
        text=_str(msg.get("text")) or _str(msg.get("caption")),
        display_name=_name(user),
        username=_str(user.get("username"), 64),
        chat_type="private" if chat.get("type") == "private" else "group",
        attachments=_attachments(msg),
        reply_to=str(_int(_obj(reply).get("message_id"))) if reply is not None else None,
        thread_id=_thread(msg),
        message_id=str(_int(msg.get("message_id"))),
        event_key=key,
        reply_attachments=quoted,
    )


def member_change(data: dict[str, Any]) -> tuple[str, bool] | None:
    """(chat id, blocked) for a `my_chat_member` update: the person blocked or unblocked the bot."""
    m = data.get("my_chat_member")
    if m is None:
        return None
    m = _obj(m)
    status = _str(_obj(m.get("new_chat_member")).get("status"), 32)
    return str(_int(_obj(m.get("chat")).get("id"))), status in ("kicked", "left")
