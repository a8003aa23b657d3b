# Over 400 lines: the inbox transactions (ingest, process, deliver) share the hot path's prebuilt statements; split when replies/outbox queueing gets its own module.
"""The channel-neutral pipeline, as database transactions.

    ingest(inbound)      store the event (once: redeliveries are ignored), before the platform is answered
    process_chat(key)    run every pending event of one chat, in order, through the router; the handler's
                         changes, the queued replies and the event's "done" mark commit together
    deliver(reply)       shape a reply for its channel (numbered options instead of buttons, markup,
                         length) and queue it in the outbox

All functions here are synchronous and take a Session; `bot.app` runs them off the event loop.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import traceback
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_attribute
from sqlmodel import Session, select

from bot.kernel import texts
from bot.kernel.channel import caps_of, for_caps, split_text, strip_markup
from bot.kernel.messages import Inbound, Reply
from bot.kernel.registry import Ctx, Services
from bot.storage import dialect
from bot.storage.models import Chat, InboundEvent, OutboxMessage, new_row

log = logging.getLogger(__name__)

# Lower is sooner. The officers' inbox shares the conversations' priority (first come, first served): a ticket
# card must not wait behind a busy hour of citizen chat, and Telegram's 20 messages a minute per group keeps
# the staff group's share of the bot's 30 messages a second tiny anyway. Broadcasts always go last.
PRIORITY = {"callback_answer": -1, "reply": 0, "notice": 0, "staff": 0, "broadcast": 5}
MAX_EVENT_ATTEMPTS = 5


def chat_key(channel: str, chat_id: str) -> str:
    return f"{channel}:{chat_id}"


# ------------------------------------------------------------------ inbound
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_STORED_TEXT = 4100  # the router answers anything over 4000 characters with "too long" anyway


def _clean(value: str) -> str:
    """No control characters (PostgreSQL refuses NUL in text) and no lone surrogates ("\\ud800" in JSON decodes to
    one; neither database driver can encode it): each becomes U+FFFD."""
    value = _CONTROL.sub("", value)
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)
    return value


def _clean_attachments(items: tuple[Any, ...]) -> tuple[Any, ...]:
    out = tuple(dataclasses.replace(a, ref=_clean(a.ref), name=_clean(a.name), mime=_clean(a.mime)) for a in items)
    return items if out == items else out


def clean_inbound(inbound: Inbound) -> Inbound:
    """Text the databases accept (`_clean`), and no unbounded text in the database."""
    text = _clean(inbound.text or "")[:MAX_STORED_TEXT]
    name = _clean(inbound.display_name or "")[:128]
    username = _clean(inbound.username or "")[:64]
    callback = _clean(inbound.callback) if inbound.callback else inbound.callback
    attachments = _clean_attachments(inbound.attachments)
    quoted = _clean_attachments(inbound.reply_attachments)
    ids = {f: _clean(v) for f in ("chat_id", "user_id", "message_id", "reply_to", "thread_id", "event_key")
           if isinstance(v := getattr(inbound, f), str) and not v.isascii()}
    if not ids and (text, name, username, callback, attachments, quoted) == (
            inbound.text, inbound.display_name, inbound.username, inbound.callback, inbound.attachments,
            inbound.reply_attachments):
        return inbound
    return dataclasses.replace(inbound, text=text, display_name=name, username=username, callback=callback,
                               attachments=attachments, reply_attachments=quoted, **ids)


def event_key(inbound: Inbound) -> str:
    """The key that makes a platform event unique (a redelivery carries the same one), as stored."""
    inbound = clean_inbound(inbound)
    return inbound.event_key or f"{inbound.message_id or ''}:{inbound.callback_id or ''}"


def is_stored(session: Session, channel: str, key: str) -> bool:
    """Was this event stored already (a redelivery)?"""
    i = InboundEvent.__table__
    return session.execute(sa.select(i.c.id).where(i.c.channel == channel, i.c.event_key == key)).first() is not None


def _event_row(inbound: Inbound, now: Any) -> dict[str, Any]:
    inbound = clean_inbound(inbound)
    return {
        "channel": inbound.channel,
        "event_key": inbound.event_key or f"{inbound.message_id or ''}:{inbound.callback_id or ''}",
        "chat_key": chat_key(inbound.channel, inbound.chat_id),
        "payload": inbound.to_dict(),
        "status": "pending",
        "attempts": 0,
        "received_at": now,
    }


def ingest(session: Session, inbound: Inbound) -> bool:
    """Store an accepted platform event. False if it was already stored (a redelivery)."""
    return dialect.insert_ignore(session, InboundEvent.__table__, _event_row(inbound, _now(session)), ["channel", "event_key"])


def ingest_many(session: Session, inbounds: list[Inbound]) -> list[bool]:
    """`ingest` for a batch, in one multi-row statement. A key repeated in the batch counts once (the first)."""
    if not inbounds:
        return []
    now = _now(session)
    rows = [_event_row(i, now) for i in inbounds]
    new = {(r.channel, r.event_key) for r in session.execute(_INGEST[session.get_bind().dialect.name], rows)}
    out = []
    for r in rows:
        key = (r["channel"], r["event_key"])
        out.append(key in new)
        new.discard(key)  # a second copy in the same batch is a redelivery
    return out


def pending_chat_keys(session: Session, limit: int = 100) -> list[str]:
    """Chats with unprocessed events, the longest-waiting first."""
    rows = session.execute(
        sa.select(InboundEvent.chat_key, sa.func.min(InboundEvent.id).label("first"))
        .where(InboundEvent.status == "pending")
        .group_by(InboundEvent.chat_key)
        .order_by(sa.text("first"))
        .limit(limit)
    ).all()
    return [r[0] for r in rows]


CHAT_LOCK_SPACE = 0x4E54  # first key of the two-key advisory lock: keeps chat locks apart from others


def lock_chat(session: Session, key: str) -> None:
    """Serialise work on one chat across instances (PostgreSQL); SQLite has a single writer anyway.

    Transaction-scoped: released at commit/rollback. Taken before the pending events are read, so (READ
    COMMITTED) the read sees whatever another instance committed while we waited: nothing runs twice.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:space, hashtext(:k))"), {"space": CHAT_LOCK_SPACE, "k": key})


def process_chat(session: Session, key: str, services: Services, created: list[OutboxMessage] | None = None) -> int:
    """Process every pending event of one chat in arrival order. Returns how many were processed.

    `created` collects the outbox rows queued (the pipeline claims them for sending at once)."""
    lock_chat(session, key)
    events = session.exec(
        select(InboundEvent).where(InboundEvent.chat_key == key, InboundEvent.status == "pending").order_by(InboundEvent.id)
    ).all()
    for event in events:
        process_event(session, event, services, created)
    return len(events)


def process_chats(session: Session, keys: list[str], services: Services,
                  created: list[OutboxMessage] | None = None) -> int:
    """`process_chat` for many chats at once (group commit): one pass of locks, one read of their pending
    events and one of their chat rows, then every event in arrival order, and one statement marking them done.

    No savepoint per event: a handler error propagates, the caller rolls the batch back and leaves its events
    to the inbox worker, which runs them again one by one (`process_event`, isolated)."""
    from bot.kernel.router import route

    keys = sorted(set(keys))  # the same lock order in every instance: no deadlock
    for key in keys:
        lock_chat(session, key)
    events: list[Any] = []
    chats: dict[tuple[str, str], Chat] = {}
    for part in _chunks(keys, 500):
        # Plain rows, not ORM objects: the events are only read here, and marked done below in one UPDATE.
        events += session.execute(_PENDING_EVENTS, {"keys": part}).all()
        ids = [k.split(":", 1)[1] for k in part]
        for chat in session.execute(_CHATS, {"ids": ids}).scalars():
            chats[(chat.channel, chat.chat_id)] = chat
    events.sort(key=lambda e: e.id)
    inbounds = [Inbound.from_dict(e.payload or {}) for e in events]
    missing = {(i.channel, i.chat_id): i.chat_type or "private" for i in inbounds if (i.channel, i.chat_id) not in chats}
    if missing:  # first contact of several people: create their rows in one statement
        now = _now(session)
        t = Chat.__table__
        ins = dialect.insert(session, t).on_conflict_do_nothing(index_elements=["channel", "chat_id"])
        session.execute(ins, [{"channel": c, "chat_id": i, "chat_type": kind, "user_id": "", "display_name": "",
                               "username": "", "message_count": 0, "first_seen_at": now, "last_seen_at": now}
                              for (c, i), kind in missing.items()])
        for chat in session.execute(_CHATS, {"ids": [i for _, i in missing]}).scalars():
            chats[(chat.channel, chat.chat_id)] = chat
    now = services.clock()
    for inbound in inbounds:
        chat = touch_chat(session, inbound, now, chats)
        ctx = Ctx(inbound=inbound, session=session, chat=chat, services=services)
        route(ctx)
        _queue_replies(session, inbound, ctx, chat, now, created)
    for part in _chunks([e.id for e in events], 500):
        session.execute(_EVENTS_DONE, {"ids": part, "now": now})
    return len(events)


# The hot path's statements, built once: building a statement (and its cache key) costs about as much as
# running it on SQLite.
_ie = InboundEvent.__table__
_INGEST = {
    name: dialect.insert_for(name, _ie).on_conflict_do_nothing(index_elements=["channel", "event_key"])
    .returning(_ie.c.channel, _ie.c.event_key)
    for name in ("postgresql", "sqlite")
}
_PENDING_EVENTS = sa.select(_ie.c.id, _ie.c.payload).where(
    _ie.c.chat_key.in_(sa.bindparam("keys", expanding=True)), _ie.c.status == "pending")
_CHATS = select(Chat).where(Chat.chat_id.in_(sa.bindparam("ids", expanding=True)))
_EVENTS_DONE = sa.update(_ie).where(_ie.c.id.in_(sa.bindparam("ids", expanding=True))).values(
    status="done", attempts=_ie.c.attempts + 1, processed_at=sa.bindparam("now"))
_MAX_OUTBOX_ID = sa.select(sa.func.max(OutboxMessage.__table__.c.id))
_LOCK_OUTBOX = sa.text("UPDATE outbox SET id = id WHERE 0")


def _chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def process_event(session: Session, event: InboundEvent, services: Services,
                  created: list[OutboxMessage] | None = None) -> None:
    """Run one event through the router and queue its replies. A handler error rolls back only this event's
    changes (a savepoint): the person gets an apology and the event is marked failed."""
    from bot.kernel.router import route

    inbound = Inbound.from_dict(event.payload or {})
    now = services.clock()
    chat = touch_chat(session, inbound, now)
    ctx = Ctx(inbound=inbound, session=session, chat=chat, services=services)
    savepoint = session.begin_nested()
    try:
        route(ctx)
        session.flush()
        savepoint.commit()
        event.status = "done"
    except Exception as err:  # a handler bug must not stall the chat: apologise, record, move on
        savepoint.rollback()
        session.refresh(chat)
        log.exception("handler failed for %s event %s", event.channel, event.id)
        ctx.replies = [Reply(texts.INTERNAL_ERROR)]
        event.status = "failed"
        event.error = "".join(traceback.format_exception_only(type(err), err))[-500:]
    _queue_replies(session, inbound, ctx, chat, now, created)
    assign(event, attempts=event.attempts + 1, processed_at=now)


def _queue_replies(session: Session, inbound: Inbound, ctx: Ctx, chat: Chat, now: Any,
                   created: list[OutboxMessage] | None) -> None:
    if inbound.callback_id:
        ctx.replies.insert(0, Reply("", kind="callback_answer", extra={"callback_id": inbound.callback_id}))
    # In a group, numbered choices (channels without buttons) belong to the person they were offered to.
    holder = ctx.conv if inbound.chat_type != "private" and not caps_of(inbound.channel).buttons else None
    for reply in ctx.replies:
        rows = deliver(session, reply, default=chat, now=now, options=holder)
        if created is not None:
            created.extend(rows)


def assign(obj: Any, **values: Any) -> None:
    """Set mapped columns of a table model through SQLAlchemy only: what SQLModel's __setattr__ does for
    table models, minus the pydantic round trip (a third of the hot path's ORM time)."""
    for key, value in values.items():
        if getattr(obj, key) != value:
            set_attribute(obj, key, value)


def touch_chat(session: Session, inbound: Inbound, now: Any, chats: dict[tuple[str, str], Chat] | None = None) -> Chat:
    chat = chats.get((inbound.channel, inbound.chat_id)) if chats is not None else None
    if chat is None:
        chat = get_or_create_chat(session, inbound.channel, inbound.chat_id, inbound.chat_type)
        if chats is not None:
            chats[(inbound.channel, inbound.chat_id)] = chat
    # blocked_at cleared: they wrote to us, so they can be reached again
    assign(chat, last_seen_at=now, message_count=chat.message_count + 1, blocked_at=None)
    if inbound.user_id:
        assign(chat, user_id=inbound.user_id[:64])
    if inbound.display_name:
        assign(chat, display_name=inbound.display_name[:128])
    if inbound.username:
        assign(chat, username=inbound.username[:64])
    return chat


def get_or_create_chat(session: Session, channel: str, chat_id: str, chat_type: str = "private") -> Chat:
    stmt = select(Chat).where(Chat.channel == channel, Chat.chat_id == chat_id)
    chat = session.exec(stmt).first()
    if chat is None:
        chat = dialect.ensure_row(
            session,
            Chat,
            {
                "channel": channel,
                "chat_id": chat_id,
                "chat_type": chat_type,
                "user_id": "",
                "display_name": "",
                "username": "",
                "message_count": 0,
                "first_seen_at": _now(session),
                "last_seen_at": _now(session),
            },
            ["channel", "chat_id"],
            stmt,
        )
    return chat


def queue_notice(session: Session, inbound: Inbound, text: str) -> None:
    """A message to the sender of an update that is not stored (flood control's one "slow down")."""
    chat = get_or_create_chat(session, inbound.channel, inbound.chat_id, inbound.chat_type)
    deliver(session, Reply(text, kind="notice", thread_id=inbound.thread_id), default=chat)


def mark_failed_attempt(session: Session, key: str, error: str) -> None:
    """Processing a chat crashed outside the handlers (e.g. the database): count it, give up after a few."""
    for event in session.exec(
        select(InboundEvent).where(InboundEvent.chat_key == key, InboundEvent.status == "pending").order_by(InboundEvent.id).limit(1)
    ):
        event.attempts += 1
        event.error = error[-500:]
        if event.attempts >= MAX_EVENT_ATTEMPTS:
            event.status = "failed"
        session.add(event)


# ------------------------------------------------------------------ outbound
def deliver(session: Session, reply: Reply, default: Chat | None = None, now: Any = None,
            options: Any = None) -> list[OutboxMessage]:
    """Queue a reply for its channel. Buttons become numbered options where the channel has none, and words
    marked with `by_caps` ("bấm"/"gõ") are the ones for that channel."""
    channel = reply.channel or (default.channel if default else None)
    chat_id = reply.chat_id or (default.chat_id if default else None)
    if not channel or not chat_id:
        raise ValueError("reply without a target")
    now = now or _now(session)
    key = chat_key(channel, chat_id)
    base: dict[str, Any] = {"kind": reply.kind, "extra": dict(reply.extra)}
    if reply.thread_id:
        base["thread_id"] = reply.thread_id
    if reply.kind == "callback_answer":
        # Acknowledging a button press is not a message in the chat: it must not wait behind (or hold up) one.
        return [_outbox(session, channel, chat_id, f"{key}:cb", reply, dict(base, text=""), now)]

    caps = caps_of(channel)
    text = for_caps(reply.text, caps)  # "bấm" where there are buttons, "gõ" where choices are typed
    buttons = [[{"label": b.label, "data": b.data} for b in row] for row in reply.buttons]
    target = default if default and (default.channel, default.chat_id) == (channel, chat_id) else None
    if buttons and not caps.buttons:
        flat = [b for row in reply.buttons for b in row]
        text = text + "\n\n" + "\n".join(f"{i}. {b.label}" for i, b in enumerate(flat, 1)) + "\n" + texts.OPTIONS_HINT
        buttons = []
        target = target or get_or_create_chat(session, channel, chat_id)
        holder = options if options is not None and target is default else target
        holder.options = [[b.label, b.data] for b in flat]
        if holder is not target:
            session.add(holder)
    elif target is not None and reply.kind == "reply":
        holder = options if options is not None and target is default else target
        if holder.options is not None:
            holder.options = None  # a new answer replaces the choices offered before
            if holder is not target:
                session.add(holder)
    if not caps.markup:
        text = strip_markup(text)
    parts = split_text(text, caps.max_len) or [""]
    rows = []
    for i, part in enumerate(parts):
        payload = dict(base, text=part)
        if i == 0:
            if reply.reply_to:
                payload["reply_to"] = reply.reply_to
            if reply.attachments:
                payload["attachments"] = [a.to_dict() for a in reply.attachments]
        if i == len(parts) - 1 and buttons:
            payload["buttons"] = buttons
        rows.append(_outbox(session, channel, chat_id, key, reply, payload, now))
    return rows


def _outbox(session: Session, channel: str, chat_id: str, key: str, reply: Reply, payload: dict[str, Any], now: Any) -> OutboxMessage:
    session.info["outbox_new"] = session.info.get("outbox_new", 0) + 1  # the pipeline reads it
    values = {
        "channel": channel, "chat_id": chat_id, "chat_key": key, "kind": reply.kind,
        "priority": PRIORITY.get(reply.kind, 0), "payload": payload, "ref": reply.ref, "created_at": now,
        "next_attempt_at": now,
    }
    row_id = _next_outbox_id(session)
    if row_id is not None:
        values["id"] = row_id
    row = new_row(OutboxMessage, values)
    session.add(row)
    return row


def _next_outbox_id(session: Session) -> int | None:
    """On SQLite, the key of a new outbox row, so that a transaction's replies go in one INSERT: the ORM
    inserts rows whose key the database generates one statement each there (it cannot match RETURNING rows
    to objects on SQLite). None elsewhere (PostgreSQL's sequence and batched RETURNING do this already).

    The largest key is read once per transaction, after taking SQLite's write lock (a no-op UPDATE: the
    driver runs a plain SELECT outside the transaction), so no other writer can add a row until we commit."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    tx = session.get_transaction()
    held = session.info.get("outbox_next_id")
    if held is not None and tx is not None and held[0] is tx:
        nxt = held[1]
    else:
        with session.no_autoflush:  # every outbox row of this transaction gets its key here: none is pending
            session.execute(_LOCK_OUTBOX)
            tx = session.get_transaction()
            nxt = (session.execute(_MAX_OUTBOX_ID).scalar() or 0) + 1
    session.info["outbox_next_id"] = (tx, nxt + 1)
    return nxt


def _now(session: Session) -> Any:
    from bot.kernel.messages import utcnow

    return utcnow()
