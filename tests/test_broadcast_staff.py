"""Staff compose a broadcast: target, a preview exactly as citizens see it, a confirm, an optional approval."""
from __future__ import annotations

import sqlalchemy as sa

from bot.storage.models import AuditLog, Staff
from tests import bc_util as u
from tests.conftest import eventually


async def test_preview_is_exactly_what_citizens_get_and_nothing_goes_before_confirm(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    u.seed(app, [1001, 1002], topics=("ocop",))
    u.seed(app, [1003, 1004, 1005], topics=("ntm",))

    text = "**Hội chợ OCOP** An Giang: 6–8/12 tại Long Xuyên. <Mời> bà con & hợp tác xã tham gia!"
    bid, ask = await u.compose(fake_tg, text)
    labels = [b["text"] for b in ask.buttons]
    assert "Tất cả người đăng ký (5)" in labels and "Chủ đề «Sản phẩm OCOP» (2)" in labels
    assert "Chủ đề «Tin nông thôn mới» (3)" in labels and "📍 Một xã, phường…" in labels

    after = u.last_id(fake_tg)
    summary = await u.press(fake_tg, u.STAFF, f"bct:{bid}:t:ocop", "Đó là bản xem trước")
    preview = [s for s in fake_tg.to(u.STAFF) if s.message_id > after and "Hội chợ OCOP" in s.text]
    assert len(preview) == 1
    assert "chủ đề «Sản phẩm OCOP»" in summary.text and ": 2 người" in summary.text
    assert [b["callback_data"] for b in summary.buttons] == [f"bc:ok:{bid}", f"bct:{bid}:change", f"bc:no:{bid}"]

    # Not confirmed yet: the sender runs, nothing goes out.
    await u.worker_ran(app)
    assert u.broadcast_row(app, bid).status == "draft" and not u.received(fake_tg, "Hội chợ OCOP")

    # Someone who is not staff presses the confirm button: refused, audited, nothing changes.
    fake_tg.push(fake_tg.make_callback(u.STAFF, f"bc:ok:{bid}", user_id=777))
    await fake_tg.wait_text(u.STAFF, "chỉ dành cho cán bộ")
    assert u.broadcast_row(app, bid).status == "draft"
    refused = app.db.call(lambda s: s.execute(sa.select(AuditLog.action).where(AuditLog.actor == "telegram:777")).scalars().all())
    assert refused == ["refused"]

    confirmed = await u.press(fake_tg, u.STAFF, f"bc:ok:{bid}", "Đã xác nhận")
    assert f"/broadcast_status {bid}" in confirmed.text
    b = await u.done(app, bid)
    got = u.received(fake_tg, "Hội chợ OCOP")
    assert sorted(s.chat_id for s in got) == ["1001", "1002"]  # the topic only, each once
    for s in got:  # identical to the preview, text, markup and button
        assert (s.method, s.text, s.params.get("parse_mode"), s.buttons) == (preview[0].method, preview[0].text, "HTML", preview[0].buttons)
    assert s.text.startswith("📢 <b>Tin từ Văn phòng Điều phối nông thôn mới tỉnh An Giang</b>\n<b>Hội chợ OCOP</b>")
    assert "&lt;Mời&gt; bà con &amp; hợp tác xã" in s.text and s.text.endswith("Gõ /huydangky để ngừng nhận tin.")
    assert [bt["callback_data"] for bt in s.buttons] == ["sub:off"]
    assert (b.total, b.sent, b.failed) == (2, 2, 0)
    report = await fake_tg.wait_text(u.STAFF, f"Tin #{bid} đã gửi xong")
    assert "2/2" in report.text

    # Confirming again does nothing more.
    await u.press(fake_tg, u.STAFF, f"bc:ok:{bid}", "không xác nhận lại được")
    assert len(u.received(fake_tg, "Hội chợ OCOP")) == 2


async def test_non_staff_cannot_broadcast_and_bad_input_is_answered(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    u.seed(app, [1101])
    fake_tg.push(fake_tg.make_message(5555, "/broadcast Tin giả mạo"))
    await fake_tg.wait_text(5555, "chỉ dành cho cán bộ")
    for cmd in ("/broadcast_status 1", "/broadcast_cancel 1", "/broadcast_approve 1"):
        fake_tg.push(fake_tg.make_message(5556, cmd))
    await fake_tg.wait_for(lambda s: s.chat_id == "5556" and "chỉ dành cho cán bộ" in s.text, count=3)

    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast " + "Dài quá. " * 250))
    too_long = await u.wait_new(fake_tg, u.STAFF, "quá mức 1.500 ký tự", after)
    assert "2.249" in too_long.text
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast Họp dân lúc 2020-01-01 07:30"))
    await u.wait_new(fake_tg, u.STAFF, "đã qua", after)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast Họp dân lúc 2026-13-45 07:30"))
    await u.wait_new(fake_tg, u.STAFF, "không hiểu thời điểm hẹn", after)
    # /broadcast alone asks for the content; the next message (emoji, decomposed Unicode) becomes the draft.
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast"))
    await u.wait_new(fake_tg, u.STAFF, "gửi nội dung tin ngay bây giờ", after)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "🌾 Nông thôn mới".replace("ô", "o\u0302")))
    ask = await u.wait_new(fake_tg, u.STAFF, "gửi cho ai", after)
    assert "(1)" in ask.buttons[0]["text"]
    bid = int(ask.text.split("#")[1].split(":")[0])
    assert u.broadcast_row(app, bid).text == "🌾 Nông thôn mới"  # stored NFC
    await u.press(fake_tg, u.STAFF, f"bc:no:{bid}", "Đã hủy bản nháp")
    assert u.broadcast_row(app, bid).status == "cancelled"
    for cmd, needle in (("/broadcast_status 999", "Không có tin #999"), ("/broadcast_cancel abc", "ghi số tin")):
        after = u.last_id(fake_tg)
        fake_tg.push(fake_tg.make_message(u.STAFF, cmd))
        await u.wait_new(fake_tg, u.STAFF, needle, after)


async def test_second_officer_with_the_role_must_approve(tmp_path, fake_tg, make_app):
    staff_group = -1009876
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, broadcast_approval_role="supervisor", staff_chat_id=str(staff_group)))

    def add_staff(s):
        s.add(Staff(user_id="43", role="officer"))
        s.add(Staff(user_id="44", role="supervisor"))
        s.add(Staff(user_id="45", role="officer"))

    app.db.call(add_staff)
    u.seed(app, [1201, 1202, 1203])
    bid, _ = await u.compose(fake_tg, "Lịch tiêm phòng gia cầm tháng 12.", chat=43, user=43)
    summary = await u.press(fake_tg, 43, f"bct:{bid}:all", "Đó là bản xem trước", user=43)
    assert "vai trò «lãnh đạo» khác duyệt" in summary.text
    # Only the author confirms their draft.
    await u.press(fake_tg, 45, f"bc:ok:{bid}", "Chỉ người soạn tin", user=45)
    awaiting = await u.press(fake_tg, 43, f"bc:ok:{bid}", "cần một cán bộ vai trò «lãnh đạo»", user=43)
    assert "nhóm cán bộ" in awaiting.text
    request = await fake_tg.wait_text(staff_group, f"Tin #{bid} chờ duyệt")
    assert [b["callback_data"] for b in request.buttons] == [f"bc:ap:{bid}", f"bc:rj:{bid}"]
    assert [s for s in fake_tg.to(staff_group) if "Lịch tiêm phòng" in s.text]  # the exact preview, in the group

    await u.press(fake_tg, 43, f"bc:ap:{bid}", "cần một cán bộ khác duyệt", user=43)  # not the author
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(45, f"/broadcast_approve {bid}", user_id=45))  # not an officer
    await u.wait_new(fake_tg, 45, "Vai trò của bạn: «cán bộ»", after)
    await u.worker_ran(app)
    subscribers = ("1201", "1202", "1203")
    assert u.broadcast_row(app, bid).status == "awaiting_approval"
    assert not [s for s in fake_tg.sent if s.chat_id in subscribers]

    await u.press(fake_tg, staff_group, f"bc:ap:{bid}", f"Đã duyệt tin #{bid}", user=44)
    await fake_tg.wait_text(43, f"Tin #{bid} của bạn đã được duyệt")
    b = await u.done(app, bid)
    assert b.approved_by == "telegram:44" and b.sent == 3
    got = [s.chat_id for s in fake_tg.sent if "Lịch tiêm phòng" in s.text and s.chat_id in subscribers]
    assert sorted(got) == list(subscribers)


async def test_by_default_a_second_officer_approves_every_broadcast(tmp_path, fake_tg, make_app):
    """BROADCAST_APPROVAL is on by default: one officer alone cannot send to every subscriber."""
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, broadcast_approval=True))
    assert app.settings.broadcast_approval_role == ""  # the shipped default: no role set, approval still needed
    app.db.call(lambda s: (s.add(Staff(user_id="43", role="officer")), s.add(Staff(user_id="45", role="officer"))))
    u.seed(app, [1251, 1252])
    bid, _ = await u.compose(fake_tg, "Thông báo chung cho mọi người đăng ký.", chat=43, user=43)
    summary = await u.press(fake_tg, 43, f"bct:{bid}:all", "Đó là bản xem trước", user=43)
    assert "vai trò «cán bộ» khác duyệt" in summary.text
    await u.press(fake_tg, 43, f"bc:ok:{bid}", "cần một cán bộ vai trò «cán bộ» khác duyệt", user=43)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(43, f"/broadcast_approve {bid}", user_id=43))  # the author cannot approve
    await u.wait_new(fake_tg, 43, "cần một cán bộ khác duyệt", after)
    await u.worker_ran(app)
    assert u.broadcast_row(app, bid).status == "awaiting_approval" and not fake_tg.to(1251)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(45, f"/broadcast_approve {bid}", user_id=45))  # any other officer can
    await u.wait_new(fake_tg, 45, f"Đã duyệt tin #{bid}", after)
    b = await u.done(app, bid)
    assert b.approved_by == "telegram:45" and b.sent == 2


async def test_rejected_broadcast_is_never_sent(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg, broadcast_approval_role="supervisor"))
    app.db.call(lambda s: s.add(Staff(user_id="43", role="officer")))
    u.seed(app, [1301])
    bid = await u.send_broadcast(fake_tg, "Tin sẽ bị từ chối.", chat=43, user=43)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, f"/broadcast_reject {bid}"))  # an admin (STAFF_USER_IDS)
    await u.wait_new(fake_tg, u.STAFF, "Đã từ chối", after)
    await fake_tg.wait_text(43, "bị từ chối")
    await u.worker_ran(app)
    assert u.broadcast_row(app, bid).status == "cancelled" and not fake_tg.to(1301)


async def test_commune_notice_reaches_that_commune_only(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    u.seed(app, [1401, 1402], topics=("xa",), commune="30313")  # Mỹ Hòa Hưng, commune notices
    u.seed(app, [1403], topics=("ntm",), commune="30313")  # there, but did not ask for commune notices
    u.seed(app, [1404], topics=("xa",), commune="30307")  # Long Xuyên
    bid, _ = await u.compose(fake_tg, "Xã Mỹ Hòa Hưng thông báo lịch họp dân.")
    await u.press(fake_tg, u.STAFF, f"bct:{bid}:commune", "Gõ tên xã, phường")
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "my hoa hung"))
    summary = await u.wait_new(fake_tg, u.STAFF, "Đó là bản xem trước", after)
    assert "Xã Mỹ Hòa Hưng" in summary.text and ": 2 người" in summary.text
    await u.press(fake_tg, u.STAFF, f"bc:ok:{bid}", "Đã xác nhận")
    await u.done(app, bid)
    assert sorted(s.chat_id for s in u.received(fake_tg, "thông báo lịch họp dân")) == ["1401", "1402"]


async def test_photo_with_caption_and_reply_to_a_photo(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    u.seed(app, [1501, 1502])
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast Sản phẩm OCOP mới của tỉnh", photo="PHOTO-OCOP"))
    ask = await u.wait_new(fake_tg, u.STAFF, "gửi cho ai", after)
    bid = int(ask.text.split("#")[1].split(":")[0])
    await u.press(fake_tg, u.STAFF, f"bct:{bid}:all", "Đó là bản xem trước")
    preview = [s for s in fake_tg.to(u.STAFF) if s.method == "sendPhoto"]
    assert len(preview) == 1 and preview[0].params["photo"] == "PHOTO-OCOP" and "Sản phẩm OCOP mới" in preview[0].text
    await u.press(fake_tg, u.STAFF, f"bc:ok:{bid}", "Đã xác nhận")
    await u.done(app, bid)
    photos = [s for s in fake_tg.sent if s.method == "sendPhoto" and s.chat_id in ("1501", "1502")]
    assert len(photos) == 2 and {s.params["photo"] for s in photos} == {"PHOTO-OCOP"}
    assert all(s.text == preview[0].text for s in photos)

    bid2, _ = await u.compose(fake_tg, "Ảnh hội nghị tổng kết", reply_to=77, reply_photo="PHOTO-REPLY")
    await u.press(fake_tg, u.STAFF, f"bct:{bid2}:all", "Đó là bản xem trước")
    assert u.broadcast_row(app, bid2).photo == "PHOTO-REPLY"
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast " + "x" * 900, photo="P3"))
    await u.wait_new(fake_tg, u.STAFF, "quá mức 800 ký tự (chú thích ảnh)", after)


async def test_status_list_and_details(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    u.seed(app, [1601, 1602, 1603])
    fake_tg.blocked.add("1603")
    bid = await u.send_broadcast(fake_tg, "Tin để xem tiến độ.")
    await u.done(app, bid)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, f"/broadcast_status {bid}"))
    status = await u.wait_new(fake_tg, u.STAFF, "• Tổng:", after)
    for line in ("đã gửi xong", "• Tổng: 3", "• Đã gửi: 2", "• Đang chờ: 0", "• Đã chặn bot: 1", "(429): 0 lần", "Tiến độ: 100%"):
        assert line in status.text, line
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast_status"))
    listing = await u.wait_new(fake_tg, u.STAFF, "Các tin gần đây", after)
    assert f"#{bid} · đã gửi xong · 2/3" in listing.text
    await eventually(lambda: app.db.call(lambda s: s.execute(
        sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.action.like("broadcast.%"))).scalar_one()) >= 2)
