"""Staff commands: who may use them, what they change, what the citizen sees (and never sees)."""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from bot.storage.models import AuditLog, Staff
from bot.storage.tickets import Ticket, TicketEvent, TicketMessage
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, file_report, plain, ticket_settings, wait_card

STAFF_COMMANDS = ["reply PA-000001 chào", "note PA-000001 ghi chú", "assign PA-000001 @canbo2",
                  "status PA-000001 đã xử lý", "close PA-000001 xong", "reopen PA-000001", "ticket PA-000001 hien-sdt",
                  "inbox", "stats", "export", "templates add mau-moi nội dung", "staff add 5555 admin", "staff list",
                  "help_staff"]


def snapshot(app):
    """Everything a staff command could change."""
    def read(s):
        t = s.get(Ticket, 1)
        return (
            (t.status, t.assigned_to, t.rating, t.closed_at),
            s.execute(sa.select(sa.func.count()).select_from(TicketMessage)).scalar_one(),
            s.execute(sa.select(sa.func.count()).select_from(TicketEvent)).scalar_one(),
            sorted(s.execute(sa.select(Staff.user_id, Staff.role, Staff.active)).all()),
            s.execute(sa.select(sa.func.count()).select_from(sa.text("reply_template"))).scalar_one(),
        )
    return app.db.call(read)


async def test_non_staff_is_refused_every_command_logged_nothing_changed(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    farmer = Person(d, 4201)
    code = await file_report(farmer, contact=("Trần Thị Bé", "0987654321"))
    card = await wait_card(fake_tg, code)
    before = snapshot(app)
    sent_to_farmer = len(farmer.inbox())

    # An outsider in the staff group, and the citizen in their own chat, try every staff command.
    intruder = Person(d, STAFF, user_id=6666, name="Người Lạ")
    for cmd in STAFF_COMMANDS:
        await intruder.say("/" + cmd)
        await intruder.expect("chỉ dành cho cán bộ")
        await farmer.say("/" + cmd)
        await farmer.expect("chỉ dành cho cán bộ")
    # …and a reply to the card, and the card's button
    await intruder.say("Tôi trả lời thay nhé", reply_to=card.message_id)
    await intruder.expect("chưa được đăng ký là cán bộ")
    await intruder.press("st:take:1", message_id=card.message_id)
    await intruder.expect("chỉ dành cho cán bộ")

    assert snapshot(app) == before
    refused = app.db.call(lambda s: s.execute(sa.select(AuditLog.actor, AuditLog.target).where(AuditLog.action == "refused")).all())
    assert len(refused) == 2 * len(STAFF_COMMANDS) + 2
    assert {a for a, _ in refused} == {"telegram:6666", "telegram:4201"}
    assert {t for _, t in refused} >= {"/" + c.split()[0] for c in STAFF_COMMANDS}
    # the citizen received only the refusals: no answer, no note, no status change
    new = [plain(m.text) for m in farmer.inbox()[sent_to_farmer:]]
    assert all("chỉ dành cho cán bộ" in t for t in new) and len(new) == len(STAFF_COMMANDS)
    # the full phone number was never shown in the staff chat (the citizen saw it in their own summary)
    assert not any("0987654321" in m.text for m in fake_tg.to(STAFF))


async def test_tracuu_someone_elses_code_shows_nothing(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    owner, other = Person(d, 4301), Person(d, 4302)
    code = await file_report(owner, description="Cống thoát nước ấp Hòa Long bị nghẹt, nước tràn vào nhà dân")
    for ask in (f"/tracuu {code}", "tra cuu pa-1", f"tra cứu {code}"):
        await other.say(ask)
        m = await other.expect("Không tìm thấy phản ánh PA-000001")
        assert "Cống" not in m.text and "Hòa Long" not in m.text and "Giao thông" not in m.text
    await other.say("/tracuu PA-000999")  # a code that does not exist reads exactly the same
    missing = await other.expect("Không tìm thấy")
    assert missing.text.replace("PA-000999", "X") == m.text.replace("PA-000001", "X")
    await other.press("tk:show:1")
    await other.expect("Không tìm thấy phản ánh PA-000001")
    await other.press("tk:rate:1:1")
    await other.expect("Không tìm thấy phản ánh PA-000001")
    await other.say("/tracuu")
    await other.expect("chưa gửi phản ánh nào")
    # the owner sees it, in plain words too
    await owner.say("tra cuu PA-000001")
    mine = await owner.expect(f"Phản ánh {code}")
    assert "Mới tiếp nhận" in mine.text and "Giao thông" in mine.text
    await owner.say("/tracuu")
    await owner.expect(code)


async def test_pressing_send_twice_and_redelivered_updates_make_one_ticket(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    p = Person(d, 4401)
    await p.say("/phananh")
    m = await p.expect("Bước 1/5")
    await p.press("fb:cat:dien", message_id=m.message_id)
    await p.expect("Bước 2/5")
    await p.say("Đường dây điện ấp 2 bị võng thấp, rất nguy hiểm")
    await p.expect("Bước 3/5")
    await p.say("Phường Long Xuyên")
    m = await p.expect("Bước 4/5")
    await p.say("khóm Đông Thịnh 5")
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:anon", message_id=m.message_id)
    summary = await p.expect("Xem lại phản ánh")
    send = [b["callback_data"] for b in summary.buttons if b["callback_data"].startswith("fb:send:")][0]
    press = fake_tg.make_callback(4401, send, message_id=summary.message_id)
    await d.send(press)
    await d.send(fake_tg.make_callback(4401, send, message_id=summary.message_id))  # pressed again
    await d.send(press)  # Telegram redelivers the first press
    await p.expect("Đã tiếp nhận")
    again = await p.expect("đã được gửi rồi")
    assert "PA-000001" in again.text
    await app.wait_quiet("telegram:4401")
    assert app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one()) == 1
    cards = [m for m in fake_tg.to(STAFF) if "🆕" in m.text]
    assert len(cards) == 1 and "khóm Đông Thịnh 5, Phường Long Xuyên" in plain(cards[0].text)


async def test_staff_commands_work_and_are_audited(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    farmer = Person(d, 4501)
    officer = Person(d, STAFF, user_id=OFFICER, name="Chị Ba", username="chiba")
    code = await file_report(farmer, contact=("Lê Văn Tám", "+84 912 000 888"))
    await wait_card(fake_tg, code)

    # A second officer writes to the bot once, then an admin adds them by @username.
    newbie = Person(d, 7002, name="Anh Tư", username="anhtu")
    await newbie.say("/start")
    await newbie.expect("Xin chào")
    await officer.say("/staff add @anhtu supervisor")
    await officer.expect("Đã thêm @anhtu làm lãnh đạo")
    await officer.say("/staff add @khongquen")
    await officer.expect("Chưa biết")
    tu = Person(d, STAFF, user_id=7002, name="Anh Tư", username="anhtu")
    await tu.say("/staff add 1234")  # a supervisor is not an admin
    await tu.expect("Chỉ quản trị viên")
    await officer.say("/staff list")
    listing = await officer.expect("Cán bộ")
    assert "@anhtu" in listing.text and str(OFFICER) in listing.text

    await tu.say(f"/assign {code} @anhtu")
    await tu.expect("đã giao cho Anh Tư")
    await tu.say(f"/note {code} Đã gọi trưởng khóm, hẹn thứ Hai")
    await tu.expect("Đã lưu ghi chú")
    await tu.say(f"/status {code} chờ bổ sung Cần ảnh chụp đoạn sạt lở")
    await tu.expect("Chờ bổ sung thông tin")
    ask = await farmer.expect("bổ sung thông tin")
    assert "Cần ảnh chụp đoạn sạt lở" in ask.text
    # The citizen adds information with a photo; staff get it.
    await farmer.press("tk:add:1", message_id=ask.message_id)
    await farmer.expect("thông tin bổ sung")
    await farmer.say("Ảnh chụp sáng nay", photo="PHOTO-ADD")
    await farmer.expect("Đã gửi thông tin bổ sung")
    added = await officer.expect("người dân bổ sung thông tin")
    assert "Ảnh chụp sáng nay" in added.text
    await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and s.params.get("photo") == "PHOTO-ADD")

    await officer.say(f"/ticket {code}")
    detail = await officer.expect(f"{code} · Giao thông")
    text = plain(detail.text)
    assert "09xx xxx 888" in text and "0912000888" not in text
    assert "Đã gọi trưởng khóm" in text and "Ghi chú nội bộ" in text and "Anh Tư" in text
    await officer.say(f"/ticket {code} hien-sdt")
    revealed = await officer.expect(f"{code} · Giao thông")
    assert "0912000888" in revealed.text

    await officer.say("/inbox")
    assert code in (await officer.expect("Phản ánh đang mở")).text
    await tu.say("/inbox của tôi")
    assert code in (await tu.expect("giao cho bạn")).text
    await officer.say("/inbox quá hạn")
    await officer.expect("Không có phản ánh nào quá hạn")

    await officer.say("/templates")
    await officer.expect("#chuyen-xa")
    await officer.say("/templates add hen-kiem-tra Cán bộ sẽ đến kiểm tra trong tuần này ({code}).")
    await officer.expect("Đã lưu mẫu")
    await officer.say(f"/reply {code} #hen-kiem-tra Mong bà con thông cảm.")
    await officer.expect("Đã gửi trả lời")
    answer = await farmer.expect("Trả lời phản ánh")
    assert f"Cán bộ sẽ đến kiểm tra trong tuần này ({code})." in answer.text and "Mong bà con thông cảm." in answer.text
    await officer.say(f"/reply {code} #khong-co-mau")
    await officer.expect("Không có mẫu")

    await officer.say("/stats")
    stats = plain((await officer.expect("Thống kê phản ánh")).text)
    assert "Tổng số: 1" in stats and "Giao thông: 1" in stats and "Phường Bình Đức: 1" in stats

    await officer.say("/export 01/11/2026 31/12/2026")
    doc = (await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and s.method == "sendDocument"))[0]
    content = doc.params["document"]["content"].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["Mã phản ánh"] for r in rows] == [code] and rows[0]["Xã, phường"] == "Phường Bình Đức"
    assert rows[0]["Liên hệ"].endswith("09xx xxx 888")  # masked in the file too
    assert "Đã gọi trưởng khóm" not in content  # internal notes are not exported

    # The citizen never saw the officer names or the note.
    for m in farmer.inbox():
        assert "Anh Tư" not in m.text and "Chị Ba" not in m.text and "trưởng khóm" not in m.text

    await officer.say("/staff remove @anhtu")
    await officer.expect("không còn là cán bộ")
    await tu.say("/inbox")
    await tu.expect("chỉ dành cho cán bộ")

    actions = app.db.call(lambda s: [r for r in s.execute(sa.select(AuditLog.action, AuditLog.actor)).all()])
    by = {(a, who) for a, who in actions}
    for a in ("staff_add", "ticket_assign", "ticket_note", "ticket_status", "reveal_phone", "ticket_reply",
              "ticket_export", "template_add", "staff_remove"):
        assert any(x == a for x, _ in by), a
    assert ("ticket_assign", "telegram:7002") in by


async def test_low_rating_reopens_for_supervisors(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    app.db.call(lambda s: s.add(Staff(user_id="8100", username="lanhdao", role="supervisor")))
    d = Driver(fake_tg, app)
    farmer = Person(d, 4601)
    officer = Person(d, STAFF, user_id=OFFICER)
    code = await file_report(farmer)
    await wait_card(fake_tg, code)
    await officer.say(f"/close {code} Đã kiểm tra, không có sạt lở")
    closing = await farmer.expect("đã được đóng")
    await farmer.press("tk:rate:1:1", message_id=closing.message_id)
    await farmer.expect("đã được mở lại")
    alert = await officer.expect("bị người dân đánh giá 1/5")
    assert "@lanhdao" in alert.text
    t = app.db.call(lambda s: s.get(Ticket, 1))
    assert t.status == "in_progress" and t.rating == 1
    await farmer.press("tk:rate:1:5", message_id=closing.message_id)  # cannot rate an open ticket
    await farmer.expect("chưa đóng")
