"""Defects a hostile probe and a code review found (issue 14), each driven through the real boundary: the fake Bot
API over HTTP, real SQLite files, real subprocesses."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bot.storage.broadcast import Broadcast
from bot.storage.models import Conversation, Staff
from bot.storage.tickets import TicketMessage
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, file_report, ticket_settings, wait_card


async def test_officers_in_one_group_do_not_share_a_conversation(tmp_path, fake_tg, make_app):
    """Officer A starts /broadcast (the next message is its text); officer B answers a ticket by replying to its
    card. B's answer reaches the citizen, and A's next message becomes the broadcast (state per person)."""
    app = await make_app(ticket_settings(tmp_path, fake_tg, broadcast_quiet_hours=""))
    app.db.call(lambda s: s.add(Staff(user_id="9002", role="officer", username="canbob")))
    d = Driver(fake_tg, app)
    farmer = Person(d, 4501)
    a = Person(d, STAFF, user_id=OFFICER, name="Cán Bộ A")
    b = Person(d, STAFF, user_id=9002, name="Cán Bộ B")
    code = await file_report(farmer)
    card = await wait_card(fake_tg, code)

    await a.say("/broadcast")
    await a.expect("Bạn gửi nội dung tin ngay bây giờ")
    await b.say("Xã đã cử người đến kiểm tra đoạn đường này.", reply_to=card.message_id)
    answer = await farmer.expect(f"Trả lời phản ánh {code}")
    assert "cử người đến kiểm tra" in answer.text
    await a.say("Lịch tiêm phòng gia cầm tháng 12 cho toàn xã.")
    await a.expect("gửi cho ai?")

    def check(s):
        drafts = s.execute(sa.select(Broadcast.text)).scalars().all()
        answers = s.execute(sa.select(TicketMessage.text).where(TicketMessage.kind == "answer")).scalars().all()
        return drafts, answers

    drafts, answers = app.db.call(check)
    assert drafts == ["Lịch tiêm phòng gia cầm tháng 12 cho toàn xã."]  # not B's answer
    assert answers == ["Xã đã cử người đến kiểm tra đoạn đường này."]
    rows = app.db.call(lambda s: s.execute(sa.select(Conversation.user_id)).scalars().all())
    assert set(rows) <= {str(OFFICER), "9002"}


async def _add_info(farmer, text: str) -> None:
    await farmer.press("tk:add:1")
    await farmer.expect("bổ sung")
    await farmer.say(text)
    await farmer.expect("Đã gửi thông tin bổ sung")


async def test_a_deleted_forum_topic_is_recreated_and_nothing_for_staff_is_lost(tmp_path, fake_tg, make_app):
    from tests.tickets_helpers import plain

    app = await make_app(ticket_settings(tmp_path, fake_tg, staff_forum_topics=True, staff_topics_per_minute=600))
    d = Driver(fake_tg, app)
    farmer = Person(d, 4601)
    officer = Person(d, STAFF, user_id=OFFICER)
    code = await file_report(farmer)
    card = await wait_card(fake_tg, code)
    old = card.thread_id
    fake_tg.delete_topic(old)  # an officer deletes the ticket's topic in Telegram

    await _add_info(farmer, "Đoạn sạt lở đã lan rộng thêm 5 mét")
    hits = await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and "lan rộng thêm 5 mét" in s.text)
    fallback = hits[0]
    assert fallback.thread_id is None  # the group's main thread, with the card quoted
    assert "không còn trong nhóm" in plain(fallback.text) and code in fallback.text and "sạt lở" in fallback.text
    # A new topic is created for the ticket; what follows goes there, the card with it.
    recreated = await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and f"🆕 {code}" in plain(s.text)
                                       and s.thread_id not in (None, old))
    new = recreated[0].thread_id
    await officer.say(f"/status {code} đang xử lý")
    await farmer.expect("Đang xử lý")
    await _add_info(farmer, "Chiều nay trời mưa to")
    later = await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and "trời mưa to" in s.text)
    assert later[0].thread_id == new and fake_tg.topics[new]["name"].startswith(code)
    # An officer's reply in the recreated topic answers the citizen.
    await officer.say("Đã báo đội sửa chữa.", thread_id=new)
    await farmer.expect("Đã báo đội sửa chữa")


async def test_a_closed_forum_topic_falls_back_to_the_group(tmp_path, fake_tg, make_app):
    from bot.storage.models import OutboxMessage
    from tests.conftest import eventually
    from tests.tickets_helpers import plain

    fake_tg.closed_topics_reject = True
    app = await make_app(ticket_settings(tmp_path, fake_tg, staff_forum_topics=True, staff_topics_per_minute=600))
    farmer = Person(Driver(fake_tg, app), 4602)
    code = await file_report(farmer)
    card = await wait_card(fake_tg, code)
    fake_tg.topics[card.thread_id]["closed"] = True  # an officer closes the topic by hand
    await _add_info(farmer, "Có thêm hai hộ dân bị ảnh hưởng")
    hits = await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and "hai hộ dân" in s.text)
    assert hits[0].thread_id is None and "đang đóng" in plain(hits[0].text)

    def failed_without_fallback(s):
        rows = s.execute(sa.select(OutboxMessage.status, OutboxMessage.payload).where(OutboxMessage.ref == code)).all()
        return [p for st, p in rows if st in ("failed", "dead") and not (p.get("extra") or {}).get("op")
                and "hai hộ dân" in (p.get("text") or "") and not any(
                    st2 == "sent" and "hai hộ dân" in (p2.get("text") or "") for st2, p2 in rows)]

    await eventually(lambda: app.db.call(failed_without_fallback) == [])
    assert not [m for m in farmer.inbox() if "chưa chuyển được" in m.text]


async def test_slow_and_idle_connections_are_closed_and_capped(tmp_path, fake_tg, make_app):
    """Real sockets: idle ones, slow headers, slow bodies are closed by the bot's own timeouts; connections past
    HTTP_MAX_CONNECTIONS are closed at once; meanwhile /readyz and webhooks are answered."""
    import asyncio
    import time

    import aiohttp

    from tests.tickets_helpers import SECRET

    app = await make_app(ticket_settings(tmp_path, fake_tg, telegram_mode="webhook", http_keepalive_seconds=1.0,
                                         http_body_seconds=1.0, http_max_connections=60))
    port = app.settings.http_port

    async def open_socket(first: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        if first:
            w.write(first)
            await w.drain()
        return r, w

    idle = [await open_socket(b"") for _ in range(15)]
    slow_header = [await open_socket(b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\n") for _ in range(15)]
    slow_body = [await open_socket(b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() + b"\r\n"
                                   b"Content-Length: 5000\r\n\r\n{\"update_id\": ") for _ in range(15)]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
            assert r.status == 200  # still answering with 45 hostile sockets open
    over = [await open_socket(b"") for _ in range(30)]  # 75 > 60: the last ones are closed at once

    async def closed(r: asyncio.StreamReader, within: float) -> bool:
        try:
            data = await asyncio.wait_for(r.read(65536), within)
            while data:  # a 408/400 answer first, then the close
                data = await asyncio.wait_for(r.read(65536), within)
            return True
        except (ConnectionError, asyncio.IncompleteReadError):
            return True
        except asyncio.TimeoutError:
            return False

    started = time.monotonic()
    assert sum([await closed(r, 0.5) for r, _ in over]) >= 10  # refused past the cap, right away
    results = await asyncio.gather(*(closed(r, 5.0) for r, _ in idle + slow_header + slow_body))
    assert all(results), results.count(False)
    assert time.monotonic() - started < 6
    assert app._runner.refused >= 10
    # Nothing hostile was stored; a real webhook still goes through.
    from tests.tickets_helpers import Driver, Person

    p = Person(Driver(fake_tg, app), 4701)
    await p.say("OCOP là gì?")
    await p.expect("Mỗi xã một sản phẩm")
    for _, w in idle + slow_header + slow_body + over:
        w.close()


async def test_landlines_accepted_fake_numbers_refused_and_tet_counts(tmp_path, fake_tg, make_app):
    """#20 and #19 through a real report: an An Giang landline is accepted and stored normalised, 0000000000 and
    0123456789 are refused; filed on 13/02/2026 with 10 working days, the report is due 06/03/2026 (after Tết)."""
    import datetime as dt

    from bot.storage.tickets import Ticket
    from tests.tickets_helpers import button

    clock = lambda: dt.datetime(2026, 2, 13, 3, 0, tzinfo=dt.timezone.utc)  # 00 in An Giang
    app = await make_app(ticket_settings(tmp_path, fake_tg), clock=clock)
    p = Person(Driver(fake_tg, app), 4801)
    await p.say("/phananh Đường ấp 3 bị sạt lở, xe máy không qua được")
    m = await p.expect("Bước 1/5")
    await p.press("fb:cat:giao-thong", message_id=m.message_id)
    await p.expect("Bước 3/5")
    await p.say("xa my khanh")
    m = await p.expect("Bước 4/5")
    await p.press("fb:hamlet:skip", message_id=m.message_id)
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:give", message_id=m.message_id)
    m = await p.expect("Luật Bảo vệ dữ liệu cá nhân")
    await p.press("fb:consent:yes", message_id=m.message_id)
    await p.expect("họ và tên")
    await p.say("Nguyễn Văn Út")
    await p.expect("điện thoại")
    for fake_number in ("0000000000", "0123456789"):
        await p.say(fake_number)
        await p.expect("Số điện thoại chưa đúng")
    await p.say("0296 3123 456")
    summary = await p.expect("Xem lại phản ánh")
    await p.press(button(summary, "fb:send:"), message_id=summary.message_id)
    receipt = await p.expect("Đã tiếp nhận phản ánh")
    assert "06/03/2026" in receipt.text
    t = app.db.call(lambda s: s.get(Ticket, 1))
    assert (t.contact_phone, t.due_date) == ("02963123456", dt.date(2026, 3, 6))


async def test_export_neutralises_formulas(tmp_path, fake_tg, make_app):
    """#12: a citizen's text starting with = + - @ is written to /export with a leading quote (OWASP)."""
    import base64
    import csv
    import io

    from tests.tickets_helpers import file_report

    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    evil = '=HYPERLINK("https://evil.example/x","Bấm vào")'
    await file_report(Person(d, 4802), description="+cmd|' /C calc'!A0 đường hư", contact=(evil, "0912345678"))
    await file_report(Person(d, 4803), description="@SUM(1+1) cống ấp bị nghẹt")
    officer = Person(d, STAFF, user_id=OFFICER)
    await officer.say("/export")
    doc = (await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and s.method == "sendDocument"))[0]
    content = doc.params["document"]["content"].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert any(c.startswith("'+cmd") for c in cells) and any(c.startswith("'@SUM") for c in cells)
    assert base64  # (the file travels as a data: URL in the outbox; the fake decodes it)


async def test_set_webhook_error_prints_no_traceback_and_no_secret(tmp_path, fake_tg):
    """#15: `ntm-bot telegram set-webhook` failing (the platform echoes what it got) prints one redacted line."""
    import os
    import subprocess
    import sys

    secret = "Echoed_Secret_value_42"
    fake_tg.fault_fn = None

    def refuse(p):
        raise __import__("tests.fakes.telegram_api", fromlist=["_ApiError"])._ApiError(
            400, f"Bad Request: bad webhook: secret {p.get('secret_token')} and token {fake_tg.token} rejected")

    fake_tg.m_setWebhook = refuse
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "STAFF_"))}
    env.update({"TELEGRAM_BOT_TOKEN": fake_tg.token, "TELEGRAM_API_BASE_URL": fake_tg.base_url,
                "TELEGRAM_WEBHOOK_URL": "https://bot.example.gov.vn/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": secret,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "telegram", "set-webhook", env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = (out + err).decode()
    assert proc.returncode == 1, text
    assert "Traceback" not in text and secret not in text and fake_tg.token.split(":")[1] not in text
    assert "bad webhook" in text.lower()


def test_sqlite_file_of_a_url():
    """#21: SQLAlchemy reads the URL: "sqlite://" is in-memory, a query is not part of the path."""
    from bot.storage.db import _sqlite_file

    assert _sqlite_file("sqlite://") is None and _sqlite_file("sqlite:///:memory:") is None
    assert _sqlite_file("sqlite:///data/x.sqlite3?mode=ro") == "data/x.sqlite3"
    assert _sqlite_file("sqlite:////var/lib/ntm/x.sqlite3") == "/var/lib/ntm/x.sqlite3"
    assert _sqlite_file("postgresql://u@h/db") is None


def test_repeated_log_lines_are_rate_limited(tmp_path):
    """#9: a flood of the same line (asyncio's accept() failing at the descriptor limit) is cut to a few lines and
    a count, in a real `ntm-bot`-configured process writing to stderr."""
    import subprocess
    import sys

    code = ("import logging; from bot.kernel.logs import configure; configure('INFO'); log = logging.getLogger('asyncio')\n"
            "for fd in range(5000): log.error('socket.accept() out of system resource: fd=%d', fd)\n"
            "import time; time.sleep(0.05); logging.getLogger('bot').info('still here')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                       env={**__import__("os").environ, "PYTHONPATH": str(__import__("pathlib").Path(__file__).parent.parent)})
    lines = r.stderr.splitlines()
    assert len([x for x in lines if "out of system resource" in x]) == 10, len(lines)
    assert "still here" in r.stderr
