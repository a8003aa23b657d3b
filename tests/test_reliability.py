"""Defects a hostile probe and a code review found (issue 14), each driven through the real boundary: the fake Bot
API over HTTP, real SQLite files, real subprocesses."""
from __future__ import annotations

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
