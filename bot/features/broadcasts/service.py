# Over 400 lines: settings, lifecycle and delivery of broadcasts; to be split like tickets (not done in issue 15).
"""Broadcasts, channel-neutral: subscriptions, targeting, the draft → confirmed → sent life cycle, and the
database side of delivery (materialising recipients, claiming them, recording outcomes).

Every function here is synchronous and takes a Session (run through `Database.run`); the async sender
is `bot.broadcast_worker.BroadcastWorker`.

Delivery is at-most-once per recipient: a recipient row is set `sending` in a committed transaction
before its message goes out. Rows still `sending` when a new sender takes over (after a crash) become
`unknown` and are not sent again, so nobody gets a broadcast twice; at most the messages in flight at the
crash (BROADCAST_CONCURRENCY per channel) may be missing.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.config import Settings, parse_hhmm, parse_quiet, parse_topics
from bot.features.broadcasts import texts as T
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.channel import CHANNELS, SendResult, caps_of, strip_markup
from bot.kernel.jobs import LOCAL_TZ, job
from bot.kernel.messages import TELEGRAM, Attachment, Button, Reply, utcnow
from bot.kernel.metrics import GaugeMetricFamily, db_gauge
from bot.kernel.privacy import Subject, eraser
from bot.storage import dialect
from bot.storage.broadcast import Broadcast, BroadcastRecipient, BroadcastSender, Subscription
from bot.storage.models import Chat
from knowledge.numbers import vn_number

SUB_CB = CallbackPrefix("sub")  # subscriptions (subscribe.py): sub:off|start|skip | sub:t:<topics> | sub:x:<commune>

log = logging.getLogger(__name__)

MAX_TEXT = 1500  # one message on every channel (Zalo: 2000 characters), header and footer included
MAX_CAPTION = 800  # with a photo: Telegram captions hold 1024 characters
MATERIALIZE_CHUNK = 2000
OPEN_STATES = ("queued", "sending")
FINAL_STATES = ("sent", "failed", "blocked", "skipped", "unknown")
ROLE_RANK = {"officer": 1, "supervisor": 2, "admin": 3}


# ------------------------------------------------------------------ configuration helpers
def topics(settings: Settings) -> dict[str, str]:
    """BROADCAST_TOPICS "ntm=Tin nông thôn mới; ocop=…" -> {"ntm": "Tin nông thôn mới", …} (in order)."""
    return dict(_parse_topics(settings.broadcast_topics))


def _parse_topics(value: str) -> tuple[tuple[str, str], ...]:
    return parse_topics(value)  # validated at start-up


def quiet_window(settings: Settings) -> tuple[dt.time, dt.time] | None:
    """BROADCAST_QUIET_HOURS "21:00-07:00" -> (21:00, 07:00); empty -> None (never quiet)."""
    return parse_quiet(settings.broadcast_quiet_hours or "")


def in_quiet(settings: Settings, now: dt.datetime) -> bool:
    window = quiet_window(settings)
    if window is None:
        return False
    start, end = window
    t = now.astimezone(LOCAL_TZ).time()
    return start <= t < end if start < end else (t >= start or t < end)


def quiet_ends(settings: Settings, now: dt.datetime) -> dt.datetime:
    """When the quiet window containing `now` ends (now itself if not quiet)."""
    window = quiet_window(settings)
    if window is None or not in_quiet(settings, now):
        return now
    local = now.astimezone(LOCAL_TZ)
    end = local.replace(hour=window[1].hour, minute=window[1].minute, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end.astimezone(dt.timezone.utc)


def quiet_label(settings: Settings) -> str:
    window = quiet_window(settings)
    return f"{window[0]:%H:%M}–{window[1]:%H:%M}" if window else ""


def channel_rate(settings: Settings, channel: str) -> float:
    """Broadcast messages a second on a channel (its `ChannelSpec.broadcast_rate`)."""
    return CHANNELS.broadcast_rate(settings, channel)


def local_str(when: dt.datetime) -> str:
    return when.astimezone(LOCAL_TZ).strftime("%H:%M ngày %d/%m/%Y")


def number(n: int) -> str:
    return vn_number(n)


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{max(seconds, 1)} giây"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} phút" + (f" {sec} giây" if sec and minutes < 10 else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} giờ" + (f" {minutes} phút" if minutes else "")


# ------------------------------------------------------------------ communes (knowledge.communes: the tickets' finder)
@dataclass(frozen=True)
class Place:
    code: str
    name: str  # "Phường Bình Đức"
    label: str  # shown when choosing: "Phường Bình Đức (gồm xã Mỹ Khánh cũ)"


def commune_name(code: str | None) -> str | None:
    from knowledge.communes import default_finder

    commune = default_finder().by_code.get(code or "")
    return commune.name if commune else None


def find_commune(text: str) -> tuple[bool, list[Place]]:
    """(sure, places): one sure match, or choices to offer (empty: nothing close)."""
    from knowledge.communes import default_finder

    text = (text or "").strip()
    if not text or len(text) > 100:
        return False, []
    found = default_finder().find(text)
    places = [Place(c.commune.code, c.commune.name, c.label) for c in found.candidates]
    if found.kind != "one":
        # The finder offers "Xã Hòa Hưng" next to "Xã Mỹ Hòa Hưng" for "my hoa hung"; the full current name
        # typed exactly (with or without "xã"/"phường") is sure.
        from knowledge.normalize import fold

        typed = re.sub(r"^(?:xa|phuong|dac khu)\s+", "", fold(text))
        exact = [p for p in places if p.label == p.name and re.sub(r"^(?:xa|phuong|dac khu)\s+", "", fold(p.name)) == typed]
        if len(exact) == 1:
            return True, exact
    return found.kind == "one", places


# ------------------------------------------------------------------ scheduling syntax
_WHEN = re.compile(
    r"\s*\b(?:lúc|luc|vào lúc|vao luc)\s+"
    r"(?:(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})|(?P<d2>\d{1,2})/(?P<mo2>\d{1,2})/(?P<y2>\d{4}))"
    r"(?:\s+|T)(?P<h>\d{1,2})\s*[:hg]\s*(?P<mi>\d{2})\s*$",
    re.IGNORECASE,
)
# Looks like an attempt at a date (has a year) but is not one: say so rather than send at the wrong time.
_WHEN_LOOSE = re.compile(r"\s\b(?:lúc|luc)\s+(?=[\d/:\-hg\sT]*\d{4})[\d/:\-hg\sT]{6,}$", re.IGNORECASE)


def parse_schedule(text: str, now: dt.datetime) -> tuple[str, dt.datetime | None, str | None]:
    """"Nội dung lúc 2026-12-01 07:30" -> ("Nội dung", 2026-12-01 00:30 UTC, None); an error text on bad input."""
    text = unicodedata.normalize("NFC", text or "").rstrip()
    m = _WHEN.search(text)
    if not m:
        loose = _WHEN_LOOSE.search(text)
        if loose:
            return text, None, T.BC_SCHEDULE_BAD.format(text=loose.group(0).strip())
        return text, None, None
    g = m.groupdict()
    try:
        y, mo, d = (int(g["y"]), int(g["mo"]), int(g["d"])) if g["y"] else (int(g["y2"]), int(g["mo2"]), int(g["d2"]))
        when = dt.datetime(y, mo, d, int(g["h"]), int(g["mi"]), tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)
    except ValueError:
        return text, None, T.BC_SCHEDULE_BAD.format(text=m.group(0).strip())
    if when <= now:
        return text, None, T.BC_SCHEDULE_PAST.format(when=local_str(when))
    if when - now > dt.timedelta(days=366):
        return text, None, T.BC_SCHEDULE_FAR
    return text[: m.start()].rstrip(), when, None


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
def _join() -> Any:
    s, c = Subscription.__table__, Chat.__table__
    return s.outerjoin(c, sa.and_(c.c.channel == s.c.channel, c.c.chat_id == s.c.chat_id))


def _target_where(b: Broadcast, channels: Sequence[str] | None) -> list[Any]:
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
        sa.select(s.c.channel, sa.func.count()).select_from(_join()).where(*_target_where(b, channels)).group_by(s.c.channel)
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


# ------------------------------------------------------------------ the sender lease
def acquire_lease(session: Session, owner: str, now_real: dt.datetime, lease: dt.timedelta,
                  dead: Any = lambda owner: False) -> tuple[bool, str | None]:
    """Hold (or renew) the one broadcast-sender lease. Returns (held, previous owner if taken over)."""
    t = BroadcastSender.__table__
    row = session.get(BroadcastSender, "all")
    if row is None:
        row = dialect.ensure_row(session, BroadcastSender, {"name": "all", "owner": None, "lease_until": None}, ["name"])
    previous = row.owner
    takeover = previous not in (None, owner) and dead(previous)
    cond = sa.or_(t.c.owner.is_(None), t.c.owner == owner, t.c.lease_until.is_(None), t.c.lease_until < now_real)
    if takeover:
        cond = sa.or_(cond, t.c.owner == previous)
    res = session.execute(sa.update(t).where(t.c.name == "all", cond).values(owner=owner, lease_until=now_real + lease))
    held = res.rowcount == 1
    return held, (previous if held and previous != owner else None)


def recently_cancelled(session: Session, now: dt.datetime) -> set[int]:
    b_t = Broadcast.__table__
    rows = session.execute(sa.select(b_t.c.id).where(b_t.c.status == "cancelled", b_t.c.cancelled_at >= now - dt.timedelta(days=1)))
    return {r[0] for r in rows}


def release_lease(session: Session, owner: str) -> None:
    t = BroadcastSender.__table__
    session.execute(sa.update(t).where(t.c.name == "all", t.c.owner == owner).values(owner=None, lease_until=None))


def mark_in_flight_unknown(session: Session) -> int:
    """After taking over from a crashed sender: what it was sending may or may not have arrived. Not resent."""
    r = BroadcastRecipient.__table__
    res = session.execute(sa.update(r).where(r.c.state == "sending").values(state="unknown", error="in flight at a crash"))
    return res.rowcount or 0


# ------------------------------------------------------------------ starting: due broadcasts, recipient rows
def activate_due(session: Session, now: dt.datetime, channels: Sequence[str]) -> bool:
    """Scheduled broadcasts whose time has come start sending; recipient rows are created in chunks.
    Returns True if more chunks remain (call again soon)."""
    b_t = Broadcast.__table__
    session.execute(
        sa.update(b_t)
        .where(b_t.c.status == "scheduled", sa.or_(b_t.c.scheduled_at.is_(None), b_t.c.scheduled_at <= now))
        .values(status="sending", started_at=now)
    )
    stmt = select(Broadcast).where(Broadcast.status == "sending", Broadcast.materialized == False).order_by(Broadcast.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # a concurrent cancel waits for this chunk, then skips it too
    pending = session.exec(stmt).first()
    if pending is None:
        return False
    return materialize_chunk(session, pending, channels, now)


def materialize_chunk(session: Session, b: Broadcast, channels: Sequence[str], now: dt.datetime,
                      chunk: int = MATERIALIZE_CHUNK) -> bool:
    """Insert the next `chunk` recipients (subscription id order, resumable by cursor). True if more remain."""
    s, r = Subscription.__table__, BroadcastRecipient.__table__
    conds = _target_where(b, channels) + [s.c.id > b.mat_cursor]
    ids = sa.select(s.c.id.label("sid")).select_from(_join()).where(*conds).order_by(s.c.id).limit(chunk).subquery()
    last = session.execute(sa.select(sa.func.max(ids.c.sid))).scalar()
    if last is None:
        b.materialized = True
        b.total = session.execute(sa.select(sa.func.count()).where(r.c.broadcast_id == b.id)).scalar_one()
        session.add(b)
        return False
    at = sa.literal(utcnow(), type_=r.c.next_attempt_at.type)
    sel = (
        sa.select(sa.literal(b.id), s.c.channel, s.c.chat_id, sa.literal("queued"), sa.literal(0), at)
        .select_from(_join())
        .where(*conds, s.c.id <= last)
    )
    ins = dialect.insert(session, r).from_select(
        ["broadcast_id", "channel", "chat_id", "state", "attempts", "next_attempt_at"], sel
    ).on_conflict_do_nothing(index_elements=["broadcast_id", "channel", "chat_id"])
    session.execute(ins)
    b.mat_cursor = last
    session.add(b)
    return True


# ------------------------------------------------------------------ sending: claim and record (one transaction)
# Outcomes decided just before sending (the row was claimed, then the situation changed): not sent.
DEFERRED = SendResult(False, error="deferred: quiet window, shutdown or lease lost")  # back to the queue
CANCELLED = SendResult(False, permanent=True, error="cancelled before sending")  # skipped


@dataclass(frozen=True)
class Claimed:
    id: int
    broadcast_id: int
    chat_id: str


def pump(session: Session, channel: str, outcomes: list[tuple[int, SendResult]], free: int,
         max_attempts: int) -> list[Claimed]:
    """Record finished sends, then claim up to `free` queued recipients (committed as `sending` before
    anything is sent). Oldest broadcast first, recipients in id order."""
    now_real = utcnow()
    if outcomes:
        record_outcomes(session, outcomes, now_real, max_attempts)
    if free <= 0:
        return []
    r, b_t, s = BroadcastRecipient.__table__, Broadcast.__table__, Subscription.__table__
    active = sa.select(b_t.c.id).where(b_t.c.status == "sending")
    stmt = (
        sa.select(r.c.id, r.c.broadcast_id, r.c.chat_id, s.c.active)
        .select_from(r.outerjoin(s, sa.and_(s.c.channel == r.c.channel, s.c.chat_id == r.c.chat_id)))
        .where(r.c.channel == channel, r.c.state == "queued", r.c.next_attempt_at <= now_real, r.c.broadcast_id.in_(active))
        .order_by(r.c.broadcast_id, r.c.id)
        .limit(free)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=r)
    rows = session.execute(stmt).all()
    if not rows:
        return []
    gone = [row.id for row in rows if not row.active]  # unsubscribed since the list was made
    take = [row for row in rows if row.active]
    if gone:
        session.execute(sa.update(r).where(r.c.id.in_(gone)).values(state="skipped", error="unsubscribed"))
    if take:
        session.execute(sa.update(r).where(r.c.id.in_([row.id for row in take])).values(state="sending"))
    return [Claimed(row.id, row.broadcast_id, row.chat_id) for row in take]


def record_outcomes(session: Session, outcomes: list[tuple[int, SendResult]], now_real: dt.datetime, max_attempts: int) -> None:
    r, b_t = BroadcastRecipient.__table__, Broadcast.__table__
    live = r.c.state.in_(("sending", "unknown"))
    ok = [rid for rid, res in outcomes if res.ok]
    if ok:
        session.execute(
            sa.update(r).where(r.c.id.in_(ok), live).values(state="sent", sent_at=now_real, attempts=r.c.attempts + 1, error=None)
        )
    for rid, res in outcomes:
        if res.ok:
            continue
        row = session.get(BroadcastRecipient, rid)
        if row is None or row.state not in ("sending", "unknown"):
            continue
        if res == DEFERRED or res == CANCELLED:
            if row.state == "sending":  # "unknown": a new sender took over meanwhile; leave it
                row.state = "queued" if res == DEFERRED else "skipped"
                row.error = None if res == DEFERRED else "cancelled"
                session.add(row)
            continue
        row.attempts += 1
        row.error = (res.error or "transient error")[:300]
        if res.blocked:
            row.state = "blocked"
            unsubscribe(session, row.channel, row.chat_id, now_real, reason="blocked")
            chat = session.exec(select(Chat).where(Chat.channel == row.channel, Chat.chat_id == row.chat_id)).first()
            if chat is not None and chat.blocked_at is None:
                chat.blocked_at = now_real
                session.add(chat)
        elif res.new_chat_id:
            _move_recipient(session, row, res.new_chat_id, now_real)
        elif res.permanent:
            row.state = "failed"
        elif res.retry_after is not None:
            row.state = "queued"
            row.attempts -= 1  # the platform asked us to wait: not the recipient's fault
            row.next_attempt_at = now_real + dt.timedelta(seconds=res.retry_after)
            session.execute(sa.update(b_t).where(b_t.c.id == row.broadcast_id).values(rate_limited=b_t.c.rate_limited + 1))
        elif row.attempts >= max_attempts:
            row.state = "failed"
        else:
            from bot.kernel.outbox import backoff

            row.state = "queued"
            row.next_attempt_at = now_real + dt.timedelta(seconds=backoff(row.attempts))
        session.add(row)


def _move_recipient(session: Session, row: BroadcastRecipient, new_chat_id: str, now_real: dt.datetime) -> None:
    """The chat moved (Telegram group -> supergroup): follow it, once."""
    sub = get_subscription(session, row.channel, row.chat_id)
    taken = get_subscription(session, row.channel, new_chat_id)
    if sub is not None and taken is None:
        sub.chat_id = new_chat_id
        session.add(sub)
    exists = session.exec(select(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == row.broadcast_id, BroadcastRecipient.channel == row.channel,
        BroadcastRecipient.chat_id == new_chat_id)).first()
    if exists is not None:
        row.state = "skipped"
        return
    row.chat_id = new_chat_id
    row.state = "queued"
    row.next_attempt_at = now_real


# ------------------------------------------------------------------ finishing
def finish_done(session: Session, settings: Settings, now: dt.datetime) -> list[int]:
    """Broadcasts with every recipient settled become `done`; their creator is told. Returns their ids."""
    r = BroadcastRecipient.__table__
    finished: list[int] = []
    for b in session.exec(select(Broadcast).where(Broadcast.status == "sending", Broadcast.materialized == True)):
        still = session.execute(
            sa.select(r.c.id).where(r.c.broadcast_id == b.id, r.c.state.in_(OPEN_STATES)).limit(1)
        ).first()
        if still is not None:
            continue
        store_counts(session, b)
        b.status = "done"
        b.finished_at = now
        session.add(b)
        finished.append(b.id)  # type: ignore[arg-type]
        notify_creator(session, b, T.BC_DONE_NOTICE.format(
            id=b.id, sent=number(b.sent), total=number(b.total), failed=number(b.failed), blocked=number(b.blocked),
            skipped=number(b.skipped), unknown=number(b.unknown),
        ))
    return finished


def store_counts(session: Session, b: Broadcast) -> Progress:
    p = progress(session, b.id)  # type: ignore[arg-type]
    b.total = max(b.total, p.total)
    for state in FINAL_STATES:
        setattr(b, state, p.counts.get(state, 0))
    session.add(b)
    return p


def notify_creator(session: Session, b: Broadcast, text: str) -> None:
    if not b.creator_channel or not b.creator_chat_id:
        return
    from bot.kernel import inbox as core

    core.deliver(session, Reply(text, channel=b.creator_channel, chat_id=b.creator_chat_id, kind="notice"))


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
