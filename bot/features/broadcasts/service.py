"""Broadcasts, channel-neutral: subscriptions, targeting, what citizens receive, the draft → confirmed → sent life
cycle, progress, the slogan of the week. The settings and the words officers write are `parsing`; the database
side of delivery (materialising recipients, claiming them, recording outcomes) is `delivery`.

Every function here is synchronous and takes a Session (run through `Database.run`); the async sender
is `bot.features.broadcasts.worker.BroadcastWorker`.
"""
from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.config import Settings, parse_hhmm
from bot.features.broadcasts import texts as T
from bot.features.broadcasts.parsing import commune_name, in_quiet, local_str, number, quiet_ends, quiet_label, topics
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.channel import CHANNELS, caps_of, strip_markup
from bot.kernel.jobs import LOCAL_TZ, job
from bot.kernel.messages import TELEGRAM, Attachment, Button, Reply
from bot.kernel.metrics import GaugeMetricFamily, db_gauge
from bot.kernel.privacy import Subject, eraser
from bot.storage import dialect
from bot.storage.broadcast import Broadcast, BroadcastRecipient, Subscription
from bot.storage.models import Chat

SUB_CB = CallbackPrefix("sub")  # subscriptions (subscribe.py): sub:off|start|skip | sub:t:<topics> | sub:x:<commune>

log = logging.getLogger(__name__)

MAX_TEXT = 1500  # one message on every channel (Zalo: 2000 characters), header and footer included
MAX_CAPTION = 800  # with a photo: Telegram captions hold 1024 characters
OPEN_STATES = ("queued", "sending")
FINAL_STATES = ("sent", "failed", "blocked", "skipped", "unknown")
ROLE_RANK = {"officer": 1, "supervisor": 2, "admin": 3}


# ------------------------------------------------------------------ subscriptions
def _topics_str(keys: Iterable[str]) -> str:
    keys = [k for k in keys if k]
    return "," + ",".join(keys) + "," if keys else ""


def topic_keys(sub: Subscription) -> list[str]:
    return [k for k in (sub.topics or "").split(",") if k]


def get_subscription(session: Session, channel: str, chat_id: str) -> Subscription | None:
    return session.exec(select(Subscription).where(Subscription.channel == channel, Subscription.chat_id == chat_id)).first()


def subscribe(session: Session, channel: str, chat_id: str, topic_list: Sequence[str], now: dt.datetime,
              commune_code: str | None = None, keep_commune: bool = True) -> Subscription:
    """Create or re-activate a subscription (only ever called on the person's explicit choice)."""
    sub = get_subscription(session, channel, chat_id)
    if sub is None:
        sub = dialect.ensure_row(session, Subscription, {
            "channel": channel, "chat_id": chat_id, "topics": "", "active": True, "created_at": now, "updated_at": now,
        }, ["channel", "chat_id"])
    sub.topics = _topics_str(topic_list)
    if commune_code is not None or not keep_commune:
        sub.commune_code = commune_code
    sub.active = True
    sub.unsubscribed_at = None
    sub.unsubscribe_reason = None
    sub.updated_at = now
    session.add(sub)
    return sub


def unsubscribe(session: Session, channel: str, chat_id: str, now: dt.datetime, reason: str = "user") -> bool:
    """True if an active subscription was ended."""
    sub = get_subscription(session, channel, chat_id)
    if sub is None or not sub.active:
        return False
    sub.active = False
    sub.unsubscribed_at = now
    sub.unsubscribe_reason = reason
    sub.updated_at = now
    session.add(sub)
    return True


@db_gauge
def broadcast_gauges(session: Session, now: dt.datetime) -> Iterable[Any]:
    """/metrics: active subscribers per channel; recipients by state of every broadcast not finished yet."""
    s, r, b = Subscription.__table__, BroadcastRecipient.__table__, Broadcast.__table__
    subs = GaugeMetricFamily("ntm_subscribers", "Active subscribers", labels=["channel"])
    for channel, n in session.execute(sa.select(s.c.channel, sa.func.count()).where(s.c.active.is_(True)).group_by(s.c.channel)):
        subs.add_metric([channel], n)
    yield subs
    progress = GaugeMetricFamily("ntm_broadcast_recipients", "Recipients of unfinished broadcasts by state",
                                 labels=["broadcast", "state"])
    live = sa.select(b.c.id).where(b.c.status.in_(("scheduled", "sending", "awaiting_approval")))
    for bid, state, n in session.execute(sa.select(r.c.broadcast_id, r.c.state, sa.func.count())
                                         .where(r.c.broadcast_id.in_(live)).group_by(r.c.broadcast_id, r.c.state)):
        progress.add_metric([str(bid), state], n)
    yield progress


@eraser
def erase_subscriber(session: Session, subject: Subject, now: dt.datetime, services: Any) -> Counter:
    """/xoadulieu: the subscription goes; this chat's broadcast rows keep their state for the counts but no
    longer say who they were for (queued ones are skipped; one being sent right now is left to finish)."""
    s, r = Subscription.__table__, BroadcastRecipient.__table__
    done: Counter = Counter()
    done["subscription"] += session.execute(
        sa.delete(s).where(s.c.channel == subject.channel, s.c.chat_id == subject.chat_id)).rowcount or 0
    mine = [r.c.channel == subject.channel, r.c.chat_id == subject.chat_id]
    session.execute(sa.update(r).where(*mine, r.c.state == "queued").values(state="skipped", error="erased"))
    done["broadcast_rows"] += session.execute(
        sa.update(r).where(*mine, r.c.state != "sending").values(chat_id=sa.literal("~") + sa.cast(r.c.id, sa.String))
    ).rowcount or 0
    return done


# ------------------------------------------------------------------ targeting
def subscribers_join() -> Any:
    s, c = Subscription.__table__, Chat.__table__
    return s.outerjoin(c, sa.and_(c.c.channel == s.c.channel, c.c.chat_id == s.c.chat_id))


def target_where(b: Broadcast, channels: Sequence[str] | None) -> list[Any]:
    s, c = Subscription.__table__, Chat.__table__
    conds: list[Any] = [s.c.active.is_(True), c.c.blocked_at.is_(None)]
    if channels is not None:
        conds.append(s.c.channel.in_(list(channels)))
    if b.target_channel:
        conds.append(s.c.channel == b.target_channel)
    if b.target_topic:
        conds.append(s.c.topics.like(f"%,{b.target_topic},%"))
    if b.target_commune:
        conds.append(s.c.commune_code == b.target_commune)
    return conds


def count_recipients(session: Session, b: Broadcast, channels: Sequence[str] | None = None) -> dict[str, int]:
    """Subscribers the broadcast would reach now, per channel."""
    s = Subscription.__table__
    rows = session.execute(
        sa.select(s.c.channel, sa.func.count()).select_from(subscribers_join()).where(*target_where(b, channels)).group_by(s.c.channel)
    ).all()
    return {ch: n for ch, n in rows}


def target_label(settings: Settings, b: Broadcast) -> str:
    parts: list[str] = []
    if b.target_commune:
        parts.append(T.TARGET_COMMUNE.format(name=commune_name(b.target_commune) or b.target_commune))
    elif b.target_topic:
        parts.append(T.TARGET_TOPIC.format(label=topics(settings).get(b.target_topic, b.target_topic)))
    if b.target_channel:
        parts.append(T.TARGET_CHANNEL.format(channel=CHANNELS.title(b.target_channel)))
    return ", ".join(parts) or T.TARGET_ALL


# ------------------------------------------------------------------ what citizens receive
def citizen_text(settings: Settings, text: str) -> str:
    """The broadcast as every recipient sees it: who sends it, the text, how to stop."""
    return "\n".join([T.BROADCAST_HEADER.format(agency=settings.agency_name), text.strip(), "", T.UNSUBSCRIBE_FOOTER])


def unsubscribe_button() -> Button:
    return Button(T.BTN_UNSUBSCRIBE, SUB_CB.pack("off"))


def photo_for(b: Broadcast, channel: str) -> str | None:
    """Telegram file ids only work on Telegram; a URL works everywhere."""
    if not b.photo:
        return None
    if channel == TELEGRAM or b.photo.startswith(("http://", "https://")):
        return b.photo
    return None


def citizen_reply(settings: Settings, b: Broadcast, channel: str, chat_id: str) -> Reply:
    """The same message as a Reply (used for the staff preview, delivered through the outbox)."""
    photo = photo_for(b, channel)
    caps = caps_of(channel)
    return Reply(
        text=citizen_text(settings, b.text),
        buttons=((unsubscribe_button(),),) if caps.buttons else (),
        attachments=(Attachment("photo", photo),) if photo else (),
        channel=channel, chat_id=chat_id, kind="broadcast_preview",
    )


def payload_for(settings: Settings, b: Broadcast, channel: str) -> dict[str, Any]:
    """The adapter payload for one channel (what `deliver` would produce for a single-part message)."""
    caps = caps_of(channel)
    text = citizen_text(settings, b.text)
    if not caps.markup:
        text = strip_markup(text)
    text = unicodedata.normalize("NFC", text)[: caps.max_len]
    payload: dict[str, Any] = {"kind": "broadcast", "extra": {}, "text": text}
    photo = photo_for(b, channel)
    if photo:
        payload["attachments"] = [Attachment("photo", photo).to_dict()]
    if caps.buttons:
        btn = unsubscribe_button()
        payload["buttons"] = [[{"label": btn.label, "data": btn.data}]]
    return payload


def check_text(text: str, has_photo: bool) -> str | None:
    """An error for the officer, or None if the text can go out as one message."""
    text = text.strip()
    if not text:
        return T.BC_EMPTY
    limit = MAX_CAPTION if has_photo else MAX_TEXT
    if len(text) > limit:
        return T.BC_TOO_LONG.format(n=number(len(text)), max=number(limit), photo=T.BC_TOO_LONG_PHOTO if has_photo else "")
    return None


# ------------------------------------------------------------------ life cycle (staff)
def create_draft(session: Session, text: str, photo: str | None, created_by: str, creator_channel: str,
                 creator_chat_id: str, scheduled_at: dt.datetime | None, now: dt.datetime) -> Broadcast:
    b = Broadcast(
        text=unicodedata.normalize("NFC", text.strip()), photo=photo, created_by=created_by, creator_channel=creator_channel,
        creator_chat_id=creator_chat_id, scheduled_at=scheduled_at, created_at=now, status="draft",
    )
    session.add(b)
    session.flush()
    return b


def start_label(settings: Settings, b: Broadcast, now: dt.datetime, confirmed: bool = False) -> str:
    at = b.scheduled_at if b.scheduled_at and b.scheduled_at > now else now
    if in_quiet(settings, at):
        return T.START_AFTER_QUIET.format(at=local_str(quiet_ends(settings, at)), window=quiet_label(settings))
    if b.scheduled_at and b.scheduled_at > now:
        return T.START_AT.format(at=local_str(b.scheduled_at))
    return T.START_NOW_CONFIRMED if confirmed else T.START_NOW


def approval_role(settings: Settings) -> str:
    """The role a second officer needs to approve a broadcast ("officer": any other officer), "" if none is needed."""
    role = settings.broadcast_approval_role.strip()
    return role or ("officer" if settings.broadcast_approval else "")


def confirm(session: Session, b: Broadcast, now: dt.datetime, approval_role: str) -> str:
    """Draft -> awaiting_approval (a second officer must approve) or scheduled. Returns the new status."""
    b.confirmed_at = now
    b.status = "awaiting_approval" if approval_role else "scheduled"
    session.add(b)
    return b.status


def approve(session: Session, b: Broadcast, approver: str, now: dt.datetime) -> None:
    b.approved_by = approver
    b.status = "scheduled"
    session.add(b)


def cancel(session: Session, b: Broadcast, actor: str, now: dt.datetime) -> int:
    """Stop a broadcast: nothing more is sent. Returns how many queued recipients were skipped."""
    r = BroadcastRecipient.__table__
    b.status = "cancelled"
    b.cancelled_at = now
    b.cancelled_by = actor
    session.add(b)
    res = session.execute(
        sa.update(r).where(r.c.broadcast_id == b.id, r.c.state == "queued").values(state="skipped", error="cancelled")
    )
    return res.rowcount or 0


def staff_role(session: Session, settings: Settings, user_id: str) -> str | None:
    from bot.storage.models import Staff

    if user_id in settings.seed_admin_ids:
        return "admin"
    row = session.exec(select(Staff).where(Staff.user_id == user_id, Staff.active == True)).first()
    return row.role if row else None


def may_approve(role: str | None, required: str) -> bool:
    """The required role itself, or a higher one (officer < supervisor < admin)."""
    if role is None:
        return False
    return role == required or role == "admin" or ROLE_RANK.get(role, 0) >= ROLE_RANK.get(required, 99)


# ------------------------------------------------------------------ status
@dataclass
class Progress:
    total: int
    counts: dict[str, int]

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in FINAL_STATES)

    @property
    def remaining(self) -> int:
        return sum(self.counts.get(s, 0) for s in OPEN_STATES)


def progress(session: Session, broadcast_id: int) -> Progress:
    r = BroadcastRecipient.__table__
    rows = session.execute(
        sa.select(r.c.state, sa.func.count()).where(r.c.broadcast_id == broadcast_id).group_by(r.c.state)
    ).all()
    counts = {state: n for state, n in rows}
    return Progress(total=sum(counts.values()), counts=counts)


def recent_rate(session: Session, broadcast_id: int, now_real: dt.datetime, window: float = 60.0) -> float:
    """Messages per second over the last minute (for the ETA)."""
    r = BroadcastRecipient.__table__
    n = session.execute(
        sa.select(sa.func.count()).where(
            r.c.broadcast_id == broadcast_id, r.c.state == "sent", r.c.sent_at >= now_real - dt.timedelta(seconds=window)
        )
    ).scalar_one()
    return n / window


# ------------------------------------------------------------------ slogan of the week
def slogan_time(settings: Settings) -> dt.time | None:
    return parse_hhmm(settings.broadcast_slogan_time)  # validated at start-up


def create_weekly_slogan(session: Session, settings: Settings, now: dt.datetime) -> Broadcast | None:
    """On the configured weekday, from the configured time: one slogan broadcast per ISO week (idempotent)."""
    if not settings.broadcast_slogan_weekly:
        return None
    at = slogan_time(settings)
    local = now.astimezone(LOCAL_TZ)
    if at is None or local.isoweekday() != settings.broadcast_slogan_weekday or local.time() < at:
        return None
    from knowledge.slogans import SloganError, library

    try:
        slogan = library().of_week(local.date())
    except SloganError as err:
        log.error("slogan of the week skipped: %s", err)
        return None
    year, week, _ = local.isocalendar()
    key = f"slogan:{year}-W{week:02d}"
    inserted = dialect.insert_ignore(session, Broadcast.__table__, {
        "kind": "slogan", "dedup_key": key, "text": slogan.render(), "created_by": "system", "status": "scheduled",
        "target_topic": settings.broadcast_slogan_topic or None, "created_at": now, "confirmed_at": now,
        "materialized": False, "mat_cursor": 0, "total": 0, "rate_limited": 0, "sent": 0, "failed": 0, "blocked": 0,
        "skipped": 0, "unknown": 0,
    }, ["dedup_key"])
    if not inserted:
        return None
    return session.exec(select(Broadcast).where(Broadcast.dedup_key == key)).first()


@job("broadcast.slogan-of-week", every=dt.timedelta(minutes=10))
def slogan_of_the_week(session: Session, services: Any) -> None:
    b = create_weekly_slogan(session, services.settings, services.clock())
    if b is not None:
        log.info("slogan of the week queued as broadcast #%s", b.id)
