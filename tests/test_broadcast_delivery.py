"""Delivery: on time, never in the quiet window, at the platform's limits, never twice, and citizens' chats
keep flowing while a broadcast runs."""
from __future__ import annotations

import collections
import datetime as dt
import socket
import subprocess
import sys

import sqlalchemy as sa

from bot.features.broadcasts import delivery
from bot.features.broadcasts import service as bc
from bot.kernel.messages import utcnow
from bot.storage.broadcast import Broadcast, BroadcastRecipient, BroadcastSender
from tests import bc_util as u
from tests.conftest import eventually


async def test_scheduled_broadcast_waits_for_its_time(tmp_path, fake_tg, make_app):
    clock = u.Clock(u.local(2026, 12, 1, 8, 0))
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, broadcast_quiet_hours="21:00-07:00"), clock=clock)
    u.seed(app, [2001, 2002])
    bid, _ = await u.compose(fake_tg, "Họp dân ấp Mỹ Phú lúc 2026-12-01 09:30")
    summary = await u.press(fake_tg, u.STAFF, f"bct:{bid}:all", "Đó là bản xem trước")
    assert "Bắt đầu gửi: lúc 09:30 ngày 01/12/2026" in summary.text
    confirmed = await u.press(fake_tg, u.STAFF, f"bc:ok:{bid}", "Đã xác nhận")
    assert "lúc 09:30 ngày 01/12/2026" in confirmed.text
    b = u.broadcast_row(app, bid)
    assert b.text == "Họp dân ấp Mỹ Phú" and b.scheduled_at == u.local(2026, 12, 1, 9, 30)

    clock.set_local(2026, 12, 1, 9, 29)
    await u.worker_ran(app)
    assert u.broadcast_row(app, bid).status == "scheduled" and not u.received(fake_tg, "Họp dân ấp Mỹ Phú")

    clock.set_local(2026, 12, 1, 9, 30)
    app.broadcasts.kick()
    await u.done(app, bid)
    assert sorted(s.chat_id for s in u.received(fake_tg, "Họp dân ấp Mỹ Phú")) == ["2001", "2002"]


async def test_quiet_window_holds_a_new_broadcast_and_pauses_a_running_one(tmp_path, fake_tg, make_app):
    clock = u.Clock(u.local(2026, 12, 1, 22, 15))
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, broadcast_quiet_hours="21:00-07:00", broadcast_telegram_rate=15),
                        clock=clock)
    chats = list(range(2101, 2141))  # 40 recipients, ~2.7 s at 15/s
    u.seed(app, chats)

    # Confirmed at 22:15: it waits for the end of the quiet window.
    bid, _ = await u.compose(fake_tg, "Tin gửi sau giờ yên lặng.")
    summary = await u.press(fake_tg, u.STAFF, f"bct:{bid}:all", "Đó là bản xem trước")
    assert "lúc 07:00 ngày 02/12/2026 (hết khung giờ yên lặng 21:00–07:00)" in summary.text
    await u.press(fake_tg, u.STAFF, f"bc:ok:{bid}", "Đã xác nhận")
    await u.worker_ran(app)
    assert u.broadcast_row(app, bid).status == "sending" and not u.received(fake_tg, "Tin gửi sau giờ yên lặng")
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, f"/broadcast_status {bid}"))
    status = await u.wait_new(fake_tg, u.STAFF, "• Tổng:", after)
    assert "tạm dừng trong khung giờ yên lặng, gửi tiếp lúc 07:00 ngày 02/12/2026" in status.text

    # 07:00: it goes out; at 21:00 the same evening it pauses part-way; the next morning it finishes.
    clock.set_local(2026, 12, 2, 20, 59)
    app.broadcasts.kick()
    await eventually(lambda: len(u.received(fake_tg, "Tin gửi sau giờ yên lặng")) >= 5)
    clock.set_local(2026, 12, 2, 21, 0)
    paused = len(u.received(fake_tg, "Tin gửi sau giờ yên lặng"))
    await eventually(lambda: not u.states(app, bid).get("sending"))  # claimed rows go back to the queue
    await u.worker_ran(app, times=5)
    assert len(u.received(fake_tg, "Tin gửi sau giờ yên lặng")) <= paused + 1 < len(chats)  # one may be on the wire
    assert u.broadcast_row(app, bid).status == "sending" and u.states(app, bid)["queued"] > 0

    clock.set_local(2026, 12, 3, 7, 0)
    app.broadcasts.kick()
    b = await u.done(app, bid)
    per_chat = collections.Counter(s.chat_id for s in u.received(fake_tg, "Tin gửi sau giờ yên lặng"))
    assert set(per_chat) == {str(c) for c in chats} and set(per_chat.values()) == {1}
    assert b.sent == len(chats)


async def test_blocked_users_are_unsubscribed_and_left_out_next_time(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    u.seed(app, [2201, 2202, 2203, 2204, 2205, 2206])
    fake_tg.blocked.update({"2202", "2205"})
    bid = await u.send_broadcast(fake_tg, "Tin thứ nhất.")
    b = await u.done(app, bid)
    assert (b.sent, b.blocked) == (4, 2)
    assert u.states(app, bid) == {"sent": 4, "blocked": 2}
    for chat in ("2202", "2205"):
        sub = u.subscription(app, chat)
        assert not sub.active and sub.unsubscribe_reason == "blocked"
    assert u.subscription(app, "2201").active
    # One attempt each: a block is not retried.
    tried = [p for m, p in fake_tg.calls if m == "sendMessage" and str(p.get("chat_id")) in ("2202", "2205")]
    assert len(tried) == 2

    bid2, ask = await u.compose(fake_tg, "Tin thứ hai.")
    assert "Tất cả người đăng ký (4)" in [b_["text"] for b_ in ask.buttons]


async def test_cancel_stops_a_running_broadcast(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, broadcast_telegram_rate=10))
    chats = list(range(2301, 2361))  # 60 recipients, ~6 s at 10/s
    u.seed(app, chats)
    bid = await u.send_broadcast(fake_tg, "Tin sẽ bị hủy giữa chừng.")
    await eventually(lambda: len(u.received(fake_tg, "bị hủy giữa chừng")) >= 5)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, f"/broadcast_cancel {bid}"))
    reply = await u.wait_new(fake_tg, u.STAFF, f"Đã hủy tin #{bid}", after)
    at_cancel = len(u.received(fake_tg, "bị hủy giữa chừng"))
    await eventually(lambda: not u.states(app, bid).get("sending"))  # what was in flight settles
    final = len(u.received(fake_tg, "bị hủy giữa chừng"))
    assert final <= at_cancel + 1 < len(chats)  # claimed rows not yet sent are dropped, not sent
    b = u.broadcast_row(app, bid)
    assert b.status == "cancelled" and "Tối đa 8 tin đang gửi dở" in reply.text
    s = u.states(app, bid)
    assert s.get("queued", 0) == 0 and s.get("sending", 0) == 0 and s["sent"] == final and s["skipped"] == len(chats) - final
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, f"/broadcast_cancel {bid}"))
    await u.wait_new(fake_tg, u.STAFF, "đã hủy", after)  # already cancelled: said so, nothing else


async def test_unsubscribed_after_the_list_was_made_is_skipped(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, broadcast_telegram_rate=5))
    chats = list(range(2401, 2421))
    u.seed(app, chats)
    bid = await u.send_broadcast(fake_tg, "Tin dài hơi.")
    await eventually(lambda: u.broadcast_row(app, bid).materialized)
    last = str(chats[-1])
    app.db.call(lambda s: bc.unsubscribe(s, "telegram", last, utcnow()))
    await u.done(app, bid)
    assert last not in {s.chat_id for s in u.received(fake_tg, "Tin dài hơi")}
    assert u.states(app, bid) == {"sent": len(chats) - 1, "skipped": 1}


async def test_429_and_5xx_delay_a_recipient_never_drop_or_double_it(tmp_path, fake_tg, make_app):
    seen: collections.Counter[str] = collections.Counter()

    def fault(method, params):
        chat = str(params.get("chat_id"))
        if method != "sendMessage" or not chat.startswith("25"):
            return None
        seen[chat] += 1
        if chat == "2503" and seen[chat] == 1:
            return ("429", 1.0)
        if chat == "2506" and seen[chat] <= 2:
            return ("500", 0.0)
        return None

    fake_tg.fault_fn = fault
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    chats = [str(c) for c in range(2501, 2511)]
    u.seed(app, chats)
    bid = await u.send_broadcast(fake_tg, "Tin thử lỗi mạng.")
    b = await u.done(app, bid)
    got = collections.Counter(s.chat_id for s in u.received(fake_tg, "Tin thử lỗi mạng"))
    assert got == collections.Counter({c: 1 for c in chats})
    assert b.rate_limited == 1 and b.sent == 10 and fake_tg.faults_injected["429"] == 1
    attempts = dict(app.db.call(lambda s: s.execute(
        sa.select(BroadcastRecipient.chat_id, BroadcastRecipient.attempts).where(BroadcastRecipient.broadcast_id == bid)).all()))
    assert attempts["2506"] == 3 and attempts["2503"] == 1  # a 429 is the platform's pace, not a failed attempt


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


async def test_resume_after_a_crash_never_sends_twice(tmp_path, fake_tg, make_app):
    """A sender died mid-broadcast: what it had sent stays sent, what was in flight becomes "unknown"
    (not resent), the rest goes out once. A live sender's lease is respected."""
    s = u.settings(tmp_path, fake_tg)
    from bot.storage.db import Database

    db = Database(s.effective_database_url)
    db.migrate()
    chats = [str(c) for c in range(2601, 2621)]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    def crashed_mid_broadcast(session):
        now = utcnow()
        for c in chats:
            bc.subscribe(session, "telegram", c, ["ntm"], now)
        b = Broadcast(text="Tin trước sự cố.", status="sending", created_by="telegram:42", created_at=now, started_at=now)
        session.add(b)
        session.flush()
        delivery.materialize_chunk(session, b, ["telegram"], now)
        delivery.materialize_chunk(session, b, ["telegram"], now)
        r = BroadcastRecipient.__table__
        ids = [row.id for row in session.execute(sa.select(r.c.id).where(r.c.broadcast_id == b.id).order_by(r.c.id))]
        session.execute(sa.update(r).where(r.c.id.in_(ids[:5])).values(state="sent"))  # delivered before the crash
        session.execute(sa.update(r).where(r.c.id.in_(ids[5:8])).values(state="sending"))  # in flight at the crash
        owner = f"{socket.gethostname()}:{live.pid}:x"  # the lease looks held by a running process
        session.add(BroadcastSender(name="all", owner=owner, lease_until=now + dt.timedelta(minutes=5)))
        return b.id

    bid = db.call(crashed_mid_broadcast)
    db.dispose()
    try:
        app = await u.start(make_app, s)
        await u.worker_ran(app, times=3)
        assert not app.broadcasts.held and not u.received(fake_tg, "Tin trước sự cố")  # another sender is alive
    finally:
        live.kill()
        live.wait()
    dead_owner = f"{socket.gethostname()}:{_dead_pid()}:y"
    app.db.call(lambda session: session.execute(sa.update(BroadcastSender.__table__).values(owner=dead_owner)))
    app.broadcasts.kick()
    b = await u.done(app, bid)  # taken over at once: the holder's process is gone
    got = collections.Counter(m.chat_id for m in u.received(fake_tg, "Tin trước sự cố"))
    assert sorted(got) == chats[8:] and set(got.values()) == {1}
    assert (b.sent, b.unknown) == (17, 3) and app.broadcasts.unknown_after_takeover == 3


async def test_a_citizen_chatting_during_a_1000_recipient_broadcast_gets_answers_promptly(tmp_path, fake_tg, make_app):
    # The whole bot at 300/s so the test stays short; the proportions are those of 30/s.
    fake_tg.global_limit = 300
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, telegram_global_rate=300, broadcast_telegram_rate=290))
    chats = [str(3_000_000 + i) for i in range(1000)]
    u.seed(app, chats)
    bid = await u.send_broadcast(fake_tg, "Tin cho một nghìn người.")
    marker = "Tin cho một nghìn người"
    waits: list[int] = []
    for question, answer in (("OCOP là gì?", "Mỗi xã một sản phẩm"), ("ocop 3 sao bao nhieu diem", "50 đến dưới 70"),
                             ("OCOP là gì?", "Mỗi xã một sản phẩm")):
        await eventually(lambda: len(u.received(fake_tg, marker)) >= 150 * (len(waits) + 1), timeout=20)
        before = len(u.received(fake_tg, marker))
        after = u.last_id(fake_tg)
        fake_tg.push(fake_tg.make_message(7777, question))
        await u.wait_new(fake_tg, 7777, answer, after, timeout=10)
        waits.append(len(u.received(fake_tg, marker)) - before)  # broadcast messages that went out meanwhile
    total_at_last_answer = len(u.received(fake_tg, marker))
    b = await u.done(app, bid, timeout=30)
    assert b.sent == 1000 and len({s.chat_id for s in u.received(fake_tg, marker)}) == 1000
    assert total_at_last_answer < 1000  # answered while the broadcast was still running …
    assert max(waits) <= 100, waits  # … within a fraction of a second of broadcast traffic (1000 at 290/s)


async def test_broadcast_on_postgres(own_pg, tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, database_url=own_pg))
    assert app.db.is_postgres
    chats = [str(c) for c in range(2701, 2731)]
    u.seed(app, chats[:20], topics=("ocop",))
    u.seed(app, chats[20:], topics=("ntm",))
    fake_tg.blocked.add(chats[0])
    bid = await u.send_broadcast(fake_tg, "Tin trên PostgreSQL.", target="t:ocop")
    b = await u.done(app, bid)
    got = collections.Counter(s.chat_id for s in u.received(fake_tg, "Tin trên PostgreSQL"))
    assert sorted(got) == sorted(chats[1:20]) and set(got.values()) == {1}
    assert (b.total, b.sent, b.blocked) == (20, 19, 1)
    bid2 = await u.send_broadcast(fake_tg, "Tin thứ hai trên PostgreSQL.")
    b2 = await u.done(app, bid2)
    assert b2.total == 29  # the blocked one is no longer subscribed


async def test_weekly_slogan_goes_to_the_topic_once_a_week(tmp_path, fake_tg, make_app):
    clock = u.Clock(u.local(2026, 11, 30, 8, 5))  # a Monday, after 08:00
    s = u.settings(tmp_path, fake_tg, broadcast_slogan_weekly=True, broadcast_slogan_weekday=1, broadcast_slogan_time="08:00",
                   broadcast_slogan_topic="ntm")
    app = await u.start(make_app, s, clock=clock)
    u.seed(app, [2801, 2802], topics=("ntm",))
    u.seed(app, [2803], topics=("ocop",))
    await app.scheduler.run_due()
    b = await eventually(lambda: app.db.call(lambda s_: s_.execute(sa.select(Broadcast).where(Broadcast.kind == "slogan")).scalars().first()))
    await u.done(app, b.id)
    got = [m for m in fake_tg.sent if "Nguồn: Kế hoạch 328/KH-UBND ngày 05/5/2023 của UBND tỉnh An Giang" in m.text]
    assert sorted(m.chat_id for m in got) == ["2801", "2802"]
    assert b.dedup_key == "slogan:2026-W49" and b.created_by == "system"

    def created(session, when):
        return bc.create_weekly_slogan(session, s, when)

    assert app.db.call(created, u.local(2026, 11, 30, 9, 0)) is None  # same week: not again
    assert app.db.call(created, u.local(2026, 12, 7, 7, 59)) is None  # next Monday, before 08:00
    assert app.db.call(created, u.local(2026, 12, 8, 9, 0)) is None  # a Tuesday
    nxt = app.db.call(created, u.local(2026, 12, 7, 8, 0))
    assert nxt is not None and nxt.text != b.text  # the next slogan
    off = s.model_copy(update={"broadcast_slogan_weekly": False})
    assert app.db.call(lambda session: bc.create_weekly_slogan(session, off, u.local(2026, 12, 14, 8, 30))) is None
