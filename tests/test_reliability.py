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
