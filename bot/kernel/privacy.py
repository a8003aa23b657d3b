"""Erasing one citizen's personal data on request (/xoadulieu; Luật 91/2025/QH15, Nghị định 356/2025/NĐ-CP).

`erase(session, subject, now, services)` runs in the transaction of the request: the core's own eraser
(conversation, stored messages, unanswered questions, audit entries) and every eraser a feature module
registered with `@eraser` (tickets, subscriptions). Each returns what it removed, by kind, for the reply
and the audit entry. Nothing here commits: the citizen is told "deleted" only once all of it has.

What is kept: the chat row itself without name, username or conversation (so the bot can still answer this
chat and honour the Zalo OA reply window), and tickets anonymised for statistics (category, commune,
dates, status) — see docs/privacy.md.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session

from bot.kernel import retention
from bot.kernel.registry import REGISTRY
from bot.storage.models import AuditLog, Chat, Conversation, InboundEvent, OutboxMessage, UnansweredQuestion

ERASED = "[đã xóa theo yêu cầu của người dân]"
ANONYMOUS_ACTOR = "citizen:erased"
ERASED_EVENT = {"erased": True}  # the payload of a processed inbound event after /xoadulieu
# Audit entries of a citizen's own choices lose their name; refused staff commands (security) and an officer's
# work (accountability) keep theirs.
CITIZEN_AUDIT_ACTIONS = ("subscribe", "unsubscribe")


@dataclass(frozen=True)
class Subject:
    channel: str
    chat_id: str
    user_id: str

    @property
    def chat_key(self) -> str:
        return f"{self.channel}:{self.chat_id}"

    @property
    def actor(self) -> str:
        return f"{self.channel}:{self.user_id}"


Eraser = Callable[[Session, Subject, dt.datetime, Any], Counter]


def eraser(fn: Eraser) -> Eraser:
    """Register a feature's eraser with the default registry (idempotent)."""
    REGISTRY.add_eraser(fn)
    return fn


def erase(session: Session, subject: Subject, now: dt.datetime, services: Any, chat: Chat | None = None) -> Counter:
    done = _erase_core(session, subject, now, chat)
    for fn in services.registry.erasers:
        done.update(fn(session, subject, now, services))
    # The request itself is accountable, not the person: the entry names the channel only.
    session.add(AuditLog(at=now, actor=ANONYMOUS_ACTOR, action="erase_personal_data", target=subject.channel,
                         detail=", ".join(f"{k}={v}" for k, v in sorted(done.items()) if v)[:1000]))
    return done


def _erase_core(session: Session, s: Subject, now: dt.datetime, chat: Chat | None) -> Counter:
    done: Counter = Counter()
    if chat is None:
        chat = session.execute(sa.select(Chat).where(Chat.channel == s.channel, Chat.chat_id == s.chat_id)).scalars().first()
    if chat is not None:
        chat.display_name = chat.username = ""
        chat.state = chat.state_data = chat.state_at = None
        chat.options = None
        chat.context = None  # the last question asked (follow-ups) and a pending offer hold the person's words
        chat.message_count = 0
        chat.first_seen_at = now
        session.add(chat)
        done["chat"] += 1
    # Stored messages already processed lose their content (text, name, files); the row keeps only its platform
    # key, which is what refuses a replay of the same signed bytes until retention deletes it (2 days at least
    # after it came). The request itself (still pending) and any message queued behind it lose the name and
    # username now.
    i = InboundEvent.__table__
    done["messages"] += session.execute(
        sa.update(i).where(i.c.chat_key == s.chat_key, i.c.status.in_(("done", "failed")))
        .values(payload=ERASED_EVENT, error=None)).rowcount or 0
    for row in session.execute(sa.select(i.c.id, i.c.payload).where(i.c.chat_key == s.chat_key,
                                                                   i.c.status == "pending")).all():
        payload = dict(row.payload or {}, display_name="", username="")
        session.execute(sa.update(i).where(i.c.id == row.id).values(payload=payload))
    # What the bot sent this chat: settled rows lose their text (the row stays: status, times); messages still
    # queued go out as planned.
    o = OutboxMessage.__table__
    settled = [o.c.chat_key == s.chat_key, o.c.status.in_(retention.FINAL)]
    for (kind,) in session.execute(sa.select(o.c.kind).where(*settled).distinct()).all():
        done["replies"] += session.execute(
            sa.update(o).where(*settled, o.c.kind == kind).values(payload={"kind": kind, **retention.PRUNED})).rowcount or 0
    c = Conversation.__table__  # the person's conversations in groups
    if s.user_id:
        done["chat"] += session.execute(sa.delete(c).where(c.c.channel == s.channel, c.c.user_id == s.user_id)).rowcount or 0
    u = UnansweredQuestion.__table__
    done["questions"] += session.execute(sa.delete(u).where(u.c.chat_key == s.chat_key)).rowcount or 0
    a = AuditLog.__table__
    done["audit"] += session.execute(
        sa.update(a).where(a.c.actor == s.actor, a.c.action.in_(CITIZEN_AUDIT_ACTIONS)).values(actor=ANONYMOUS_ACTOR, detail="")).rowcount or 0
    return done
