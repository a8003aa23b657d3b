"""/xoadulieu: a citizen deletes their personal data; tickets stay, anonymised; the officers are told."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from bot.kernel.privacy import ANONYMOUS_ACTOR, ERASED
from bot.storage.broadcast import Broadcast, BroadcastRecipient, Subscription
from bot.storage.models import AuditLog, Chat, InboundEvent, OutboxMessage, UnansweredQuestion
from bot.storage.tickets import CLOSED, Ticket, TicketEvent, TicketMessage
from tests.conftest import eventually
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, button, file_report, plain, ticket_settings, wait_card
from tests.zalo_helpers import BotCitizen, report_by_typing, zalo_ticket_settings

PHOTO = "AgACAgIAAxkBAAIBPhoto"


def _decoded(payload) -> str:
    """An outbox payload as text, files made by the bot (data: URLs, e.g. a CSV export) decoded."""
    import base64
    import json

    out = json.dumps(payload, ensure_ascii=False)
    for a in (payload or {}).get("attachments") or []:
        ref = a.get("ref", "")
        if ref.startswith("data:"):
            out += base64.b64decode(ref.split(",", 1)[1]).decode("utf-8-sig", "replace")
    return out


async def test_citizen_erases_their_data_tickets_stay_anonymised(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    ba = Person(d, 5301, name="Trần Văn Ba", username="tranba")
    other = Person(d, 5302, name="Lê Thị Tư")
    officer = Person(d, STAFF, user_id=OFFICER, name="Cán Bộ")

    # Ba reports twice (one with name and phone and a photo), subscribes, asks what the bot cannot answer.
    open_code = await file_report(ba, contact=("Trần Văn Ba", "0912345678"), photo=PHOTO)
    closed_code = await file_report(ba, description="Cống thoát nước ấp 2 bị nghẹt")
    card = await wait_card(fake_tg, open_code)
    await wait_card(fake_tg, closed_code)
    await officer.say(f"/close {closed_code} Đã thông cống")
    await ba.expect("đã được **đóng**".replace("**", ""))
    await ba.say("/dangky")
    m = await ba.expect("Bạn muốn nhận tin gì")
    await ba.press("sub:t:ntm", message_id=m.message_id)
    await ba.expect("Đã đăng ký")
    await ba.say("Xã tôi khi nào được hỗ trợ làm kho lạnh bảo quản cá?")
    await ba.expect("nằm ngoài những gì tôi biết")  # nothing in the (test) base is near: off-topic, still logged
    other_code = await file_report(other, contact=("Lê Thị Tư", "0987000111"), description="Đèn đường ấp 5 hư đã lâu")
    # The officers look at it: the full phone, the listing, the export all copy Ba's data into outbox rows.
    await officer.say(f"/ticket {open_code} hien-sdt")
    await officer.expect("0912345678")
    await officer.say("/inbox")
    await officer.expect("Đường ấp 3 bị sạt lở")
    await officer.say("/export")
    await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and s.method == "sendDocument")

    # What will go and what stays, and a warning for the report still being handled.
    await ba.say("/xoadulieu")
    ask = await ba.expect("Xóa dữ liệu cá nhân của bạn")
    text = plain(ask.text)
    assert "2 phản ánh" in text and "1 phản ánh đang được xử lý" in text and "đăng ký nhận tin" in text
    await ba.press("priv:no", message_id=ask.message_id)
    await ba.expect("Chưa xóa gì")
    assert app.db.call(lambda s: s.execute(sa.select(Ticket.description).where(Ticket.id == 1)).scalar_one()) != ERASED

    # A confirm button from long ago does nothing; a fresh one erases.
    stale = int(dt.datetime.now(dt.timezone.utc).timestamp() // 60) - 24 * 60
    await ba.press(f"priv:yes:{stale}", message_id=ask.message_id)
    await ba.expect("quá 30 phút")
    await ba.say("Xoá hết thông tin của em đi ad")  # the words work too, as on Zalo, however a person puts it
    ask = await ba.expect("Xóa dữ liệu cá nhân của bạn")
    await ba.press("priv:no", message_id=ask.message_id)
    await ba.expect("Chưa xóa gì")
    await ba.say("xoa du lieu")
    ask = await ba.expect("Xóa dữ liệu cá nhân của bạn")
    await ba.press(button(ask, "priv:yes:"), message_id=ask.message_id)
    await ba.expect("Đã xóa dữ liệu cá nhân của bạn (2 phản ánh đã chuyển thành ẩn danh)")

    # The officers are told, in the inbox, and the card loses the citizen's words and contact.
    notice = await officer.expect(f"{open_code}: người dân đã yêu cầu xóa dữ liệu cá nhân")
    assert "đóng" in plain(notice.text)
    await eventually(lambda: any(mid == int(card.message_id) for _, mid, _ in fake_tg.edits))
    edited = [t for _, mid, t in fake_tg.edits if mid == int(card.message_id)][-1]
    assert "sạt lở" not in edited and "0912" not in edited and "Trần Văn Ba" not in edited
    assert "Thông tin liên hệ đã được xóa" in plain(edited) and open_code in edited

    def state(s):
        tickets = s.execute(sa.select(Ticket).where(Ticket.id.in_([1, 2]))).scalars().all()
        return {
            "tickets": [(t.status, t.description, t.contact_name, t.contact_phone, t.chat_id, t.user_id, t.hamlet,
                         t.category, t.commune_name) for t in tickets],
            "citizen_words": s.execute(sa.select(TicketMessage.text, TicketMessage.attachments).where(
                TicketMessage.ticket_id.in_([1, 2]), TicketMessage.kind == "citizen")).all(),
            "answers": s.execute(sa.select(sa.func.count()).where(TicketMessage.kind == "answer")).scalar_one(),
            "events_by_ba": s.execute(sa.select(sa.func.count()).where(TicketEvent.actor == "telegram:5301")).scalar_one(),
            "sub": s.execute(sa.select(sa.func.count()).where(Subscription.chat_id == "5301")).scalar_one(),
            "questions": s.execute(sa.select(sa.func.count()).where(UnansweredQuestion.chat_key == "telegram:5301")).scalar_one(),
            "stored": s.execute(sa.select(InboundEvent.payload).where(InboundEvent.chat_key == "telegram:5301")).scalars().all(),
            "chat": s.execute(sa.select(Chat.display_name, Chat.username, Chat.state).where(Chat.chat_id == "5301")).one(),
            "old_texts": s.execute(sa.select(sa.func.count()).where(
                OutboxMessage.chat_key == "telegram:5301", OutboxMessage.status == "sent",
                OutboxMessage.payload["text"].as_string().like("%sạt lở%"))).scalar_one(),
            # every copy, in any chat (the staff card, /ticket … hien-sdt, /inbox, the /export file)
            "copies": [p for p in s.execute(sa.select(OutboxMessage.payload)).scalars()
                       if any(x in _decoded(p) for x in ("0912345678", "Trần Văn Ba", "sạt lở", "Cống thoát nước"))],
            "audit": s.execute(sa.select(AuditLog.actor, AuditLog.action).where(
                AuditLog.action.in_(("subscribe", "erase_personal_data")))).all(),
            "other": s.execute(sa.select(Ticket.contact_phone, Ticket.chat_id).where(Ticket.id == 3)).one(),
        }

    st = app.db.call(state)
    for status, desc, name, phone, chat_id, user_id, hamlet, category, commune in st["tickets"]:
        assert (status, desc, name, phone, chat_id, user_id, hamlet) == (CLOSED, ERASED, None, None, "", "", "")
        assert category == "giao-thong" and commune == "Phường Bình Đức"  # statistics survive
    assert st["citizen_words"] == [(ERASED, None), (ERASED, None)]
    assert st["answers"] == 0
    assert st["events_by_ba"] == 0
    assert st["sub"] == 0 and st["questions"] == 0 and st["old_texts"] == 0
    assert st["copies"] == [], "no copy of Ba's name, phone or words is left in any outbox row"
    # Stored messages keep only their platform key (a replay of the same update is still refused); the request
    # itself, without the name, is the only one with content (retention deletes them all later).
    assert sum(1 for p in st["stored"] if p != {"erased": True}) == 1
    assert [p for p in st["stored"] if p != {"erased": True}][0]["callback"].startswith("priv:yes:")
    assert "Ba" not in str(st["stored"]) and "tranba" not in str(st["stored"]) and "sạt lở" not in str(st["stored"])
    assert st["chat"] == ("", "", None)
    assert all(actor == ANONYMOUS_ACTOR for actor, _ in st["audit"]) and len(st["audit"]) == 2
    assert st["other"] == ("0987000111", "5302"), "nobody else's data is touched"

    # Ba can no longer look the reports up; the officers cannot reopen or answer them (nobody to send to).
    await ba.say(f"/tracuu {open_code}")
    await ba.expect("Không tìm thấy")
    await officer.say(f"/reopen {open_code}")
    await officer.expect("không mở lại được")
    await officer.say(f"/reply {open_code} Xã đã sửa xong")
    await officer.expect("đã đóng")
    # The other citizen's report is untouched and still works.
    await officer.say(f"/reply {other_code} Xã đã tiếp nhận")
    await other.expect("Xã đã tiếp nhận")
    # Ba goes on using the bot.
    await ba.say("ocop là gì")
    await ba.expect("Mỗi xã một sản phẩm")


async def test_zalo_citizen_erases_by_typing(tmp_path, fake_tg, fake_zalo, make_app):
    app = await make_app(zalo_ticket_settings(tmp_path, fake_tg, zalo=fake_zalo))
    tu = BotCitizen(fake_zalo, app, "6ede9afa66b88fe6d6a9", name="Chú Tư")
    code = await report_by_typing(tu, contact=("Nguyễn Văn Tư", "0903111222"))
    await wait_card(fake_tg, code)
    await tu.say("Tui muốn xóa hết dữ liệu nha")  # asked in plain words, not the command's name
    ask = await tu.expect("Xóa dữ liệu cá nhân của bạn")
    assert "1. 🗑 Xóa dữ liệu của tôi" in ask.text and "2. Không xóa" in ask.text
    await tu.say("1")
    await tu.expect("Đã xóa dữ liệu cá nhân của bạn")
    t = app.db.call(lambda s: s.get(Ticket, 1))
    assert (t.contact_phone, t.chat_id, t.description, t.status) == (None, "", ERASED, CLOSED)


async def test_erase_in_a_group_is_refused(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    group = Person(Driver(fake_tg, app), -100555, user_id=5401)
    await group.say("/xoadulieu")
    await group.expect("chỉ dùng trong cuộc trò chuyện riêng")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    return f"sqlite:///{tmp_path}/p.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")


async def test_erase_unlinks_broadcast_rows_on_both_engines(db_url, tmp_path, fake_tg, make_app):
    import itertools

    fake_tg._update_ids = itertools.count(20_000_000)  # the PostgreSQL database is shared by the session's tests
    # quiet all day: the broadcast worker sends nothing while the erasure runs (the queued row must be skipped)
    app = await make_app(ticket_settings(tmp_path, fake_tg, database_url=db_url, broadcast_quiet_hours="00:00-23:59"))
    chat = 5500 + (1 if app.db.is_postgres else 0)
    p = Person(Driver(fake_tg, app), chat)
    code = await file_report(p, contact=("Võ Văn Năm", "0933444555"))

    def seed(s):  # a subscriber with one broadcast already sent and one still queued
        now = dt.datetime.now(dt.timezone.utc)
        s.add(Subscription(channel="telegram", chat_id=str(chat), topics=",ntm,", created_at=now, updated_at=now))
        ids = []
        for state in ("sent", "queued"):
            b = Broadcast(text="Tin", status="sending", materialized=True)  # its recipients are these (shared DB)
            s.add(b)
            s.flush()
            s.add(BroadcastRecipient(broadcast_id=b.id, channel="telegram", chat_id=str(chat), state=state))
            ids.append(b.id)
        s.commit()
        return ids

    ids = app.db.call(seed)
    await p.say("/xoadulieu")
    ask = await p.expect("Xóa dữ liệu cá nhân của bạn")
    await p.press(button(ask, "priv:yes:"), message_id=ask.message_id)
    await p.expect("Đã xóa dữ liệu cá nhân")

    def read(s):
        rows = s.execute(sa.select(BroadcastRecipient.broadcast_id, BroadcastRecipient.state, BroadcastRecipient.chat_id)
                         .where(BroadcastRecipient.broadcast_id.in_(ids)).order_by(BroadcastRecipient.broadcast_id)).all()
        t = s.execute(sa.select(Ticket).where(Ticket.id == int(code[3:]))).scalar_one()
        subs = s.execute(sa.select(sa.func.count()).where(Subscription.chat_id == str(chat))).scalar_one()
        return rows, (t.contact_phone, t.chat_id, t.description), subs

    rows, ticket, subs = app.db.call(read)
    assert [(b, st) for b, st, _ in rows] == [(ids[0], "sent"), (ids[1], "skipped")]  # counts survive
    assert all(c.startswith("~") for _, _, c in rows)
    assert ticket == (None, "", ERASED) and subs == 0
