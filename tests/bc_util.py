"""Helpers for the broadcast tests: settings, seeding subscribers, driving the staff flow over the fake Bot API."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.features.broadcasts import service as bc
from bot.kernel.messages import utcnow
from bot.storage.broadcast import Broadcast, BroadcastRecipient, Subscription
from tests.conftest import eventually, tg_settings
from tests.fakes.telegram_api import FakeTelegram, Sent

STAFF = 42


class Clock:
    """A controllable clock (`Services.clock`)."""

    def __init__(self, t: dt.datetime):
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t

    def set_local(self, *args: int) -> None:
        from bot.kernel.jobs import LOCAL_TZ

        self.t = dt.datetime(*args, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)


def local(*args: int) -> dt.datetime:
    from bot.kernel.jobs import LOCAL_TZ

    return dt.datetime(*args, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)


def settings(tmp_path: Path, fake: FakeTelegram, **overrides: object) -> Any:
    # Quiet hours off unless a test sets them (the suite runs at any hour); chat bursts allowed (the staff chat
    # gets several messages per step; the per-chat limit is exercised by the outbox tests and the benchmark).
    # The second officer's approval (on by default) is off unless a test turns it on (test_broadcast_staff does).
    base: dict[str, object] = {"staff_user_ids": str(STAFF), "broadcast_quiet_hours": "", "telegram_chat_burst": 30,
                               "broadcast_approval": False}
    base.update(overrides)
    return tg_settings(tmp_path, fake, **base)


async def start(make_app: Any, s: Any, **kw: Any) -> Any:
    app = await make_app(s, **kw)
    app.broadcasts.poll_interval = 0.05  # react fast in tests (production: 1 s)
    return app


def seed(app: Any, chat_ids: list[int | str], topics: tuple[str, ...] = ("ntm", "ocop", "xa"), commune: str | None = None,
         channel: str = "telegram") -> None:
    def go(s: Any) -> None:
        now = utcnow()
        for cid in chat_ids:
            bc.subscribe(s, channel, str(cid), list(topics), now, commune_code=commune)

    app.db.call(go)


def last_id(fake: FakeTelegram) -> int:
    return max((s.message_id for s in fake.sent), default=0)


async def wait_new(fake: FakeTelegram, chat: int | str, needle: str, after: int, timeout: float = 10.0) -> Sent:
    hits = await fake.wait_for(lambda s: s.chat_id == str(chat) and s.message_id > after and needle.lower() in s.text.lower(), timeout)
    return hits[0]


def button(msg: Sent, data_suffix: str) -> str:
    for b in msg.buttons:
        if b["callback_data"].endswith(data_suffix):
            return b["callback_data"]
    raise AssertionError(f"no button ending {data_suffix!r} in {[b['callback_data'] for b in msg.buttons]}")


async def compose(fake: FakeTelegram, text: str, chat: int = STAFF, user: int = STAFF, **kw: Any) -> tuple[int, Sent]:
    """/broadcast … -> (broadcast id, the "gửi cho ai?" message)."""
    after = last_id(fake)
    fake.push(fake.make_message(chat, "/broadcast " + text, user_id=user, **kw))
    ask = await wait_new(fake, chat, "gửi cho ai", after)
    return int(re.search(r"Tin #(\d+)", ask.text).group(1)), ask  # type: ignore[union-attr]  # no match fails the test, as it should


async def press(fake: FakeTelegram, chat: int, data: str, needle: str, user: int = STAFF) -> Sent:
    after = last_id(fake)
    fake.push(fake.make_callback(chat, data, user_id=user))
    return await wait_new(fake, chat, needle, after)


async def send_broadcast(fake: FakeTelegram, text: str, target: str = "all", chat: int = STAFF, user: int = STAFF) -> int:
    """The whole staff flow: compose, choose target, confirm. Returns the broadcast id."""
    bid, _ = await compose(fake, text, chat, user)
    await press(fake, chat, f"bct:{bid}:{target}", "Đó là bản xem trước", user)
    await press(fake, chat, f"bc:ok:{bid}", "Đã xác nhận", user)
    return bid


def received(fake: FakeTelegram, marker: str) -> list[Sent]:
    return [s for s in fake.sent if marker in s.text and s.chat_id != str(STAFF)]


def broadcast_row(app: Any, bid: int) -> Broadcast:
    return app.db.call(lambda s: s.get(Broadcast, bid))


def states(app: Any, bid: int) -> dict[str, int]:
    r = BroadcastRecipient.__table__
    rows = app.db.call(lambda s: s.execute(sa.select(r.c.state, sa.func.count()).where(r.c.broadcast_id == bid).group_by(r.c.state)).all())
    return {k: v for k, v in rows}


def subscription(app: Any, chat_id: int | str, channel: str = "telegram") -> Subscription | None:
    return app.db.call(lambda s: bc.get_subscription(s, channel, str(chat_id)))


async def done(app: Any, bid: int, timeout: float = 15.0) -> Broadcast:
    return await eventually(lambda: (b := broadcast_row(app, bid)).status == "done" and b, timeout=timeout)  # type: ignore[return-value]  # eventually() returns the row once it is done


async def worker_ran(app: Any, times: int = 3) -> None:
    """Let the sender loop (and its pumps) run a few more times."""
    n = app.broadcasts.loops
    app.broadcasts.kick()
    await eventually(lambda: app.broadcasts.loops >= n + times, timeout=10)
