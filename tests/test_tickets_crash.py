"""`ntm-bot run` as a real process against the fake Bot API, killed with SIGKILL mid-report and mid-delivery:
after a restart the report continues, and every committed ticket and queued message arrives. Duplicates
are only the in-flight window: sends the platform carried out but could not confirm before the kill."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import sqlalchemy as sa

from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from bot.storage.tickets import Ticket
from tests.conftest import MINI_KB, free_port
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, button, plain

CITIZENS = 10


async def start_bot(env: dict[str, str], log_path) -> asyncio.subprocess.Process:
    log = open(log_path, "ab")
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", env=env, stdout=log,
                                                stderr=log, stdin=asyncio.subprocess.DEVNULL)


async def until(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)
    return value


async def to_summary(p: Person) -> str:
    await p.say("/phananh")
    m = await p.expect("Bước 1/5", timeout=20)
    await p.press("fb:cat:thuy-loi", message_id=m.message_id)
    await p.expect("Bước 2/5", timeout=20)
    await p.say(f"Kênh nội đồng ấp {p.chat_id} bị bồi lắng, nước không vào ruộng được")
    await p.expect("Bước 3/5", timeout=20)
    await p.say("Phường Bình Đức")
    await p.expect("Bước 4/5", timeout=20)
    await p.say("bỏ qua")
    m = await p.expect("Bước 5/5", timeout=20)
    await p.press("fb:contact:anon", message_id=m.message_id)
    summary = await p.expect("Xem lại phản ánh", timeout=20)
    return button(summary, "fb:send:")


async def test_sigkill_mid_report_and_mid_delivery(tmp_path, fake_tg):
    db_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "STAFF_", "SMTP_"))}
    env.update({
        "DATABASE_URL": db_url, "KB_DIR": str(MINI_KB), "HTTP_PORT": str(free_port()), "LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": fake_tg.token, "TELEGRAM_API_BASE_URL": fake_tg.base_url, "TELEGRAM_MODE": "polling",
        "TELEGRAM_READ_TIMEOUT": "1", "STAFF_CHAT_ID": str(STAFF), "STAFF_USER_IDS": str(OFFICER),
        "TELEGRAM_CHAT_RATE": "50", "TELEGRAM_CHAT_BURST": "10", "TELEGRAM_GROUP_PER_MINUTE": "600",
        "OUTBOX_LEASE_SECONDS": "3",  # a dead sender's claims are retried after 3 s (production: 120 s)
    })
    log_path = tmp_path / "bot.log"
    db = Database(db_url)
    d = Driver(fake_tg)
    proc = await start_bot(env, log_path)
    try:
        # 1. One citizen is half-way through a report; others are at the summary.
        halfway = Person(d, 6001)
        await halfway.say("/phananh")
        m = await halfway.expect("Bước 1/5", timeout=30)
        await halfway.press("fb:cat:moi-truong", message_id=m.message_id)
        await halfway.expect("Bước 2/5")
        await halfway.say("Bãi rác tự phát cạnh chợ ấp Mỹ An bốc mùi")
        await halfway.expect("Bước 3/5")
        people = [Person(d, 6100 + i) for i in range(CITIZENS)]
        sends = await asyncio.gather(*(to_summary(p) for p in people))

        # 2. The platform stops answering sends in time (it still delivers them): everyone presses "Gửi".
        fake_tg.fault_fn = lambda method, params: ("slow", 30.0) if method in ("sendMessage", "sendPhoto") else None
        for p, data in zip(people, sends):
            await p.press(data)

        def committed_and_in_flight():
            with db.engine.connect() as c:
                tickets = c.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one()
                sending = c.execute(sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")).scalar_one()
            return tickets == CITIZENS and sending > 0

        await until(committed_and_in_flight)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        with db.engine.connect() as c:
            unsent = c.execute(sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")).scalar_one()
        assert unsent > 0  # killed with messages still to deliver

        # 3. Restart on a healthy platform.
        fake_tg.fault_fn = None
        proc = await start_bot(env, log_path)
        await halfway.say("xa my khanh")
        await halfway.expect("Bước 4/5", timeout=30)  # the report continues where it was
        await halfway.say("ấp Mỹ An")
        m = await halfway.expect("Bước 5/5")
        await halfway.press("fb:contact:anon", message_id=m.message_id)
        s = await halfway.expect("Xem lại phản ánh")
        assert "Bãi rác tự phát" in s.text
        await halfway.press(button(s, "fb:send:"), message_id=s.message_id)
        await halfway.expect("Đã tiếp nhận", timeout=20)

        def everything_sent():
            with db.engine.connect() as c:
                return c.execute(sa.select(sa.func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status != "sent")).scalar_one() == 0

        await until(everything_sent, timeout=40)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
        db.dispose()

    # Every ticket: a receipt to its citizen and a card in the staff chat, once each, plus at most the
    # copies the platform carried out without being able to answer before the kill.
    slow = [(str(p.get("chat_id")), plain(str(p.get("text", "")))) for _, p in fake_tg.slow_delivered]
    for i, p in enumerate(people):
        receipts = [m for m in p.inbox() if "Đã tiếp nhận phản ánh" in plain(m.text)]
        extra = sum(1 for chat, text in slow if chat == str(p.chat_id) and "Đã tiếp nhận phản ánh" in text)
        assert len(receipts) == 1 + extra >= 1, (p.chat_id, len(receipts), extra)
    codes = {f"PA-{n:06d}" for n in range(1, CITIZENS + 2)}
    for code in codes:
        cards = [m for m in fake_tg.to(STAFF) if f"🆕 {code}" in plain(m.text)]
        extra = sum(1 for chat, text in slow if chat == str(STAFF) and f"🆕 {code}" in text)
        assert len(cards) == 1 + extra, (code, len(cards), extra)
    assert "Traceback" not in log_path.read_text(errors="replace")
