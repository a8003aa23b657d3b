"""A report end to end, as a farmer and an officer use it, over the fake Bot API (real HTTP):
citizen files → receipt with code → card in the staff chat → officer answers by replying and by /reply →
citizen receives it → /tracuu shows it → /close → rating. Polling and webhook; forum topics and a plain group."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.storage.models import AuditLog
from bot.storage.tickets import Ticket, TicketMessage
from tests.conftest import eventually
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, file_report, ticket_settings, wait_card


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("topics", [False, True], ids=["plain-group", "forum-topics"])
async def test_full_report_loop(mode, topics, tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg, telegram_mode=mode, staff_forum_topics=topics,
                                         staff_topics_per_minute=60))
    d = Driver(fake_tg, app)
    farmer = Person(d, 4101, name="Út Lành")
    officer = Person(d, STAFF, user_id=OFFICER, name="Cán Bộ Hai", username="canbo2")

    # The staff chat has its own command menu, in Vietnamese; citizens see /phananh and /tracuu.
    staff_menu = {c["command"]: c["description"] for c in fake_tg.commands[f"chat:{STAFF}"]}
    assert staff_menu["reply"] == "Trả lời người dân" and {"close", "inbox", "export", "staff"} <= set(staff_menu)
    citizen_menu = {c["command"] for c in fake_tg.commands["default"]}
    assert {"phananh", "tracuu"} <= citizen_menu and "reply" not in citizen_menu

    code = await file_report(farmer, photo="PHOTO-1", contact=("Nguyễn Văn Út", "0912 345 678"))
    assert code == "PA-000001"
    receipt = farmer.inbox()[farmer.seen - 1]
    assert "Hạn trả lời" in receipt.text and "ngày làm việc" in receipt.text

    # The card reaches the staff chat (in its own topic in forum mode), with the photo after it.
    card = await wait_card(fake_tg, code)
    assert "Phường Bình Đức" in card.text and "Giao thông" in card.text
    assert "09xx xxx 678" in card.text and "0912345678" not in card.text  # phone masked for staff
    photo = await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and s.method in ("sendPhoto", "sendMediaGroup"))
    assert photo[0].params.get("photo") == "PHOTO-1"
    assert photo[0].message_id > card.message_id
    thread = None
    if topics:
        thread = card.thread_id
        assert thread and fake_tg.topics[thread]["name"].startswith(f"{code} · Giao thông · Phường Bình Đức")
        assert photo[0].thread_id == thread
    else:
        assert card.thread_id is None and not fake_tg.topics

    # Answer 1: by replying (plain group) or simply writing in the ticket's topic (forum).
    if topics:
        await officer.say("Xã đã nhận thông tin, sẽ cử người kiểm tra.", thread_id=thread)
    else:
        await officer.say("Xã đã nhận thông tin, sẽ cử người kiểm tra.", reply_to=card.message_id)
    answer1 = await farmer.expect("Trả lời phản ánh PA-000001")
    assert "sẽ cử người kiểm tra" in answer1.text
    assert app.settings.agency_name in answer1.text
    assert "Cán Bộ Hai" not in answer1.text and "canbo2" not in answer1.text  # the agency speaks, not the officer

    # Answer 2: the command.
    await officer.say(f"/reply {code} Đã sửa xong đoạn sạt lở, mời bà con kiểm tra.", thread_id=thread)
    await officer.expect("Đã gửi trả lời")
    answer2 = await farmer.expect("Trả lời phản ánh PA-000001")
    assert "Đã sửa xong đoạn sạt lở" in answer2.text

    # /tracuu shows status and both answers.
    await farmer.say(f"/tracuu {code}")
    shown = await farmer.expect(f"Phản ánh {code}")
    assert "sẽ cử người kiểm tra" in shown.text and "Đã sửa xong đoạn sạt lở" in shown.text
    assert "Đang xử lý" in shown.text

    # Close, then the citizen rates.
    await officer.say(f"/close {code} Đã khắc phục sạt lở ấp 3", thread_id=thread)
    await officer.expect("Đã đóng")
    closing = await farmer.expect("đã được đóng")
    assert "Đã khắc phục sạt lở ấp 3" in closing.text
    rate = [b["callback_data"] for b in closing.buttons]
    assert rate == [f"tk:rate:1:{n}" for n in range(1, 6)]
    await farmer.press("tk:rate:1:5", message_id=closing.message_id)
    await farmer.expect("Cảm ơn bạn đã đánh giá 5/5")

    def state(s):
        t = s.get(Ticket, 1)
        answers = s.execute(sa.select(sa.func.count()).select_from(TicketMessage).where(TicketMessage.kind == "answer")).scalar_one()
        actions = set(s.execute(sa.select(AuditLog.action)).scalars())
        return t.status, t.rating, answers, actions, t.staff_thread_id, t.card_message_id

    status, rating, answers, actions, thread_id, card_id = await eventually(
        lambda: (r := app.db.call(state)) and r[1] == 5 and r)
    assert (status, rating, answers) == ("closed", 5, 2)
    assert {"ticket_reply", "ticket_close"} <= actions
    assert card_id == str(card.message_id)
    if topics:
        await eventually(lambda: fake_tg.topics[thread]["closed"])
        assert "Đã đóng" in fake_tg.topics[thread]["name"]
    # Nothing is left undelivered, nothing failed.
    from bot.storage.models import OutboxMessage

    await eventually(lambda: not app.db.call(lambda s: s.execute(sa.select(OutboxMessage.id).where(
        OutboxMessage.status != "sent")).first()))
