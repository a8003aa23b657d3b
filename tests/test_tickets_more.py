"""Ways into a report (plain words, the FAQ's "ask an officer"), forum topic pacing and fallback, the
report surviving a restart, editing, bad input, and the periodic jobs."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from bot.kernel.registry import Services
from bot.storage.models import Chat, OutboxMessage
from bot.storage.tickets import Ticket
from tests.conftest import eventually
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, button, file_report, plain, ticket_settings, wait_card


class Clock:
    def __init__(self, t: dt.datetime):
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


async def test_plain_words_start_a_report_but_questions_reach_the_faq(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    p = Person(d, 4701)
    # …also after a greeting, and asking leave ("… được không") to give feedback is not a question about it
    for words in ("phản ánh", "gop y", "Tôi muốn kiến nghị", "dạ em muốn góp ý được không ạ",
                  "bot oi cho chu gop y ve viec xa lam giay to cham qua duoc hong",
                  "phản ánh của em về việc ấp thu tiền làm cầu",  # one's report about something: a new one
                  "phản ánh đèn đường ấp 5 tắt mấy tuần nay"):  # "mấy tuần nay" says how long, asks nothing
        await p.say(words)
        await p.expect("Bước 1/5")
        await p.say("/huy")
        await p.expect("Đã hủy")
    # Reporting in one sentence: the sentence becomes the description, so the description step is skipped.
    await p.say("tôi muốn báo đường ấp 3 bị sạt lở từ tuần trước")
    m = await p.expect("Bước 1/5")
    await p.press("fb:cat:giao-thong", message_id=m.message_id)
    await p.expect("Bước 3/5")
    await p.say("/huy")
    await p.expect("Đã hủy")
    # Questions about reporting or about the programme are questions.
    for q in ("góp ý về tiêu chí nông thôn mới là gì", "phan anh co can ghi ten so dien thoai ko",
              "xã nông thôn mới cần bao nhiêu tiêu chí?",
              # about a report sent earlier: looking it up, not a new one
              "em gui phan anh hom bua roi ma chua thay ai tra loi, gio coi lai sao",
              "tôi gửi phản ánh rồi mà chưa ai trả lời",
              "gửi phản ánh rồi có ai trả lời không hay gửi cho có",
              "phản ánh của tui gửi hôm thứ hai giờ sao rồi", "phản ánh mấy ngày thì có trả lời"):
        n = len(p.inbox())
        await p.say(q)
        await eventually(lambda: len(p.inbox()) > n)
        await app.wait_quiet("telegram:4701")
        assert not any("Bước 1/5" in plain(m.text) for m in p.inbox()[n:]), q
    assert app.db.call(lambda s: s.execute(sa.select(Chat.state).where(Chat.chat_id == "4701")).scalar_one()) is None


async def test_faq_unsure_question_goes_to_an_officer_once_confirmed(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    p, other = Person(d, 4801), Person(d, 4802)
    await p.say("Xã tôi khi nào được hỗ trợ làm kho lạnh bảo quản cá?")
    unsure = await p.expect("nằm ngoài những gì tôi biết")  # far from the (test) base: the short reply, with the button
    data = button(unsure, "fb:ask:")
    await other.press(data)  # someone else's question cannot be taken over (callback data can be forged)
    await other.expect("Không tìm thấy câu hỏi")
    await p.press(data, message_id=unsure.message_id)
    confirm = await p.expect("Gửi câu hỏi này cho cán bộ")  # nothing is filed before the person confirms
    assert "kho lạnh bảo quản cá" in confirm.text
    assert app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one()) == 0
    await p.press(button(confirm, "fb:qsend:"), message_id=confirm.message_id)
    receipt = await p.expect("Đã gửi câu hỏi của bạn tới cán bộ")
    assert "PA-000001" in receipt.text and "kho lạnh bảo quản cá" in receipt.text and "phản ánh" not in plain(receipt.text)
    await p.press(button(confirm, "fb:qsend:"), message_id=confirm.message_id)  # a second tap files nothing new
    await p.expect("đã được gửi cho cán bộ rồi")
    await p.press(data, message_id=unsure.message_id)
    await p.expect("đã được gửi cho cán bộ rồi")
    card = await wait_card(fake_tg, "PA-000001")
    assert "kho lạnh bảo quản cá" in card.text and "câu hỏi bot chưa trả lời được" in plain(card.text)
    assert app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one()) == 1


async def test_edit_parts_ambiguous_commune_bad_input(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    p = Person(d, 4901)
    await p.say("/phananh")
    await p.expect("Bước 1/5")
    await p.say("moi truong")  # typed instead of pressed
    await p.expect("Bước 2/5")
    await p.say("abc")
    await p.expect("ngắn quá")
    await p.say("", photo="PH-A")  # a photo first, words later
    await p.expect("Đã nhận 1 tệp/ảnh")
    await p.say("<b>Rác</b> & **nước thải** đổ xuống kênh 😡 " + "x" * 10)
    await p.expect("Bước 3/5")
    await p.say("vinh hoa")
    choices = await p.expect("Có phải bạn muốn nói")
    labels = [b["text"] for b in choices.buttons]
    assert "Xã Vĩnh Hòa" in labels and any("Vĩnh Xương" in x for x in labels)
    await p.press(button(choices, "fb:commune:"), message_id=choices.message_id)
    await p.expect("Bước 4/5")
    await p.say("ấp Vĩnh Lợi")
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:give", message_id=m.message_id)
    m = await p.expect("Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15")
    assert "24 tháng" in m.text
    await p.press("fb:consent:yes", message_id=m.message_id)
    await p.expect("họ và tên")
    await p.say("12")
    await p.expect("Họ tên cần")
    await p.say("Phạm Thị Hoa")
    await p.expect("điện thoại")
    await p.say("12345")
    await p.expect("chưa đúng")
    await p.say("0901.234.567")
    s = await p.expect("Xem lại phản ánh")
    assert "Phạm Thị Hoa · 0901234567" in s.text and "Tệp/ảnh kèm theo: 1" in s.text
    # change the place, then withdraw consent: the summary follows
    await p.press("fb:edit:location", message_id=s.message_id)
    await p.expect("Bước 3/5")
    await p.say("xyzzz")
    m = await p.expect("chưa tìm thấy")
    await p.press("fb:commune:raw", message_id=m.message_id)
    await p.expect("Bước 4/5")
    await p.say("bo qua")
    s = await p.expect("Xem lại phản ánh")
    assert "Nơi xảy ra: xyzzz" in plain(s.text)
    await p.press("fb:edit:contact", message_id=s.message_id)
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:anon", message_id=m.message_id)
    s = await p.expect("Xem lại phản ánh")
    assert "Liên hệ: ẩn danh" in plain(s.text)
    await p.say("gửi")
    await p.expect("Đã tiếp nhận")
    t = app.db.call(lambda s: s.get(Ticket, 1))
    assert t.anonymous and t.contact_phone is None and t.contact_name is None and t.commune_code is None
    assert t.category == "moi-truong" and t.description.startswith("<b>Rác</b> & **nước thải**")
    card = await wait_card(fake_tg, "PA-000001")
    assert "&lt;b&gt;Rác&lt;/b&gt; &amp;" in card.text  # escaped, not interpreted


async def test_report_survives_a_restart(tmp_path, fake_tg, make_app):
    settings = ticket_settings(tmp_path, fake_tg)
    app = await make_app(settings)
    p = Person(Driver(fake_tg, app), 5101)
    await p.say("/phananh")
    m = await p.expect("Bước 1/5")
    await p.press("fb:cat:nuoc-sach", message_id=m.message_id)
    await p.expect("Bước 2/5")
    await p.say("Nước máy ấp Tân Hiệp có mùi lạ ba ngày nay")
    await p.expect("Bước 3/5")
    await app.stop()
    app2 = await make_app(settings)
    p.d.app = app2
    await p.say("my khanh")
    await p.expect("Bước 4/5")
    await p.say("bỏ qua")
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:anon", message_id=m.message_id)
    s = await p.expect("Xem lại phản ánh")
    assert "Nước máy ấp Tân Hiệp" in s.text and "Nước sạch" in s.text
    await p.press(button(s, "fb:send:"), message_id=s.message_id)
    await p.expect("Đã tiếp nhận")


async def test_forum_topics_are_paced_and_a_non_forum_falls_back_to_cards(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg, staff_forum_topics=True, staff_topics_per_minute=40))
    d = Driver(fake_tg, app)
    people = [Person(d, 5200 + i) for i in range(3)]
    import asyncio

    codes = await asyncio.gather(*(file_report(p) for p in people))
    assert sorted(codes) == ["PA-000001", "PA-000002", "PA-000003"]
    cards = [await wait_card(fake_tg, c) for c in codes]
    created = sorted(t["at"] for t in fake_tg.topics.values())
    assert len(created) == 3 and created[-1] - created[0] >= 2.0
    # 40/min: each creation has its own slot 1.5 s after the previous one, and waits for it in the outbox
    slots = app.db.call(lambda s: s.execute(sa.select(OutboxMessage.next_attempt_at, OutboxMessage.sent_at).where(
        OutboxMessage.chat_key == f"telegram:{STAFF}/topics").order_by(OutboxMessage.id)).all())
    assert len(slots) == 3 and all(sent >= due for due, sent in slots)
    assert all((b[0] - a[0]).total_seconds() >= 1.49 for a, b in zip(slots, slots[1:]))
    assert all(c.thread_id for c in cards)

    fake_tg.forum_chats = set()  # the group is not (or no longer) a forum
    p = Person(d, 5300)
    code = await file_report(p)
    card = await wait_card(fake_tg, code)
    assert card.thread_id is None
    assert app.db.call(lambda s: s.get(Ticket, 4).topic_state) == "failed"
    officer = Person(d, STAFF, user_id=OFFICER)
    await officer.say("Đã nhận, cảm ơn bà con.", reply_to=card.message_id)
    await p.expect("Đã nhận, cảm ơn bà con")


async def test_drafts_are_reminded_once_then_expire(tmp_path, fake_tg, make_app):
    from bot.features.tickets.wizard import remind_and_expire_drafts

    app = await make_app(ticket_settings(tmp_path, fake_tg))
    p = Person(Driver(fake_tg, app), 5401)
    await p.say("/phananh")
    await p.expect("Bước 1/5")
    services = Services(settings=app.settings, kb_ref=lambda: app.kb)

    def idle_for(delta):  # the citizen's last answer was `delta` ago
        def go(s):
            chat = s.execute(sa.select(Chat).where(Chat.chat_id == "5401")).scalar_one()
            chat.state_at = dt.datetime.now(dt.timezone.utc) - delta
        app.db.call(go)

    app.db.call(remind_and_expire_drafts, services)  # too early: nothing
    idle_for(dt.timedelta(minutes=31))
    app.db.call(remind_and_expire_drafts, services)
    app.db.call(remind_and_expire_drafts, services)  # once only
    app.outbox.kick()
    r = await p.expect("chưa gửi xong")
    await p.press("fb:resume", message_id=r.message_id)
    await p.expect("Bước 1/5")
    idle_for(dt.timedelta(hours=25))
    app.db.call(remind_and_expire_drafts, services)
    app.outbox.kick()
    await p.expect("đã được hủy")
    await app.wait_quiet("telegram:5401")
    assert len([m for m in p.inbox() if "chưa gửi xong" in plain(m.text)]) == 1
    assert app.db.call(lambda s: s.execute(sa.select(Chat.state).where(Chat.chat_id == "5401")).scalar_one()) is None


async def test_daily_overdue_reminder_and_contact_erasure(tmp_path, fake_tg, make_app):
    from bot.features.tickets.citizen import erase_old_contacts, remind_overdue

    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    code = await file_report(Person(d, 5501), contact=("Võ Văn Mười", "0911222333"))
    await wait_card(fake_tg, code)
    due = app.db.call(lambda s: s.get(Ticket, 1).due_date)
    # The morning after the deadline, 08:00 in An Giang
    clock = Clock(dt.datetime.combine(due + dt.timedelta(days=1), dt.time(1, 0), dt.timezone.utc))
    services = Services(settings=app.settings, kb_ref=lambda: app.kb, clock=clock)
    app.db.call(remind_overdue, services)
    app.outbox.kick()
    msg = (await fake_tg.wait_for(lambda s: s.chat_id == str(STAFF) and "quá hạn" in s.text))[0]
    assert code in msg.text and "quá hạn 1 ngày" in plain(msg.text)

    officer = Person(d, STAFF, user_id=OFFICER)
    await officer.say(f"/close {code} xong")
    await officer.expect("Đã đóng")
    clock.t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31 * 24)
    app.db.call(erase_old_contacts, services)
    t = app.db.call(lambda s: s.get(Ticket, 1))
    assert t.contact_phone is None and t.contact_name is None and t.contact_erased_at is not None
    assert t.description  # the report itself stays, anonymous


def test_working_days_skip_weekends_and_holidays(tmp_path):
    from bot.features.tickets.calendar import add_working_days
    from bot.features.tickets.service import categories
    from tests.conftest import make_settings

    s = make_settings(tmp_path, ticket_holidays="12-02, 2027-03-01")  # local days off on top of the national ones
    assert add_working_days(dt.date(2026, 11, 26), 10, s) == dt.date(2026, 12, 11)  # Thu + 10 working days, 02/12 off
    assert add_working_days(dt.date(2026, 12, 31), 1, s) == dt.date(2027, 1, 4)  # 1/1 Fri holiday, then weekend
    assert add_working_days(dt.date(2026, 11, 28), 1, s) == dt.date(2026, 11, 30)  # filed on Saturday
    # Tết and Giỗ Tổ come from Vietnam's calendar (lunar dates, substitute days), nothing to configure: a report
    # filed on Friday 13/02/2026 with 10 working days is due 06/03/2026 (Tết 16–20/02), not 27/02/2026.
    plain = make_settings(tmp_path)
    assert add_working_days(dt.date(2026, 2, 13), 10, plain) == dt.date(2026, 3, 6)
    assert add_working_days(dt.date(2026, 4, 24), 1, plain) == dt.date(2026, 4, 28)  # Giỗ Tổ 26/4 (Sun), off 27/4
    assert add_working_days(dt.date(2027, 2, 26), 1, s) == dt.date(2027, 3, 2)  # TICKET_HOLIDAYS adds 01/03/2027
    cats = categories(make_settings(tmp_path, ticket_categories="Giao thông:5, Điện, Lạ:7"))
    assert [(c.slug, c.days) for c in cats] == [("giao-thong", 5), ("dien", 10), ("la", 7), ("khac", 10)]


@pytest.mark.parametrize("key, value", [
    ("ticket_holidays", "01-01, bad"), ("ticket_holidays", "02-30"), ("ticket_categories", "Giao thông:abc"),
    ("ticket_categories", ":5"), ("broadcast_topics", "ntm Tin nông thôn mới"), ("broadcast_quiet_hours", "21h-7h"),
    ("broadcast_slogan_time", "25:00"), ("staff_chat_id", "nhom-can-bo"), ("staff_user_ids", "9001, @canbo"),
])
def test_a_typo_in_a_list_setting_stops_start_up(tmp_path, key, value):
    """Validated in the settings model (not warned about at first use): `ntm-bot run` stops with KEY: reason."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "STAFF_", "TICKET_", "BROADCAST_"))}
    env.update({key.upper(): value, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "TELEGRAM_BOT_TOKEN": "1:x"})
    r = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"{key.upper()}:" in r.stderr and value.split(",")[-1].strip().split()[0] in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("typed, code, via", [
    ("xã Mỹ Khánh", "30292", "Mỹ Khánh"), ("xa my khanh", "30292", "Mỹ Khánh"), ("Phuong Binh Duc", "30292", None),
    ("my khan", "30292", "Mỹ Khánh"), ("p. my binh", "30307", "Mỹ Bình"), ("tt an phu", "30337", "An Phú"),
    ("o lam", "30577", None), ("hon tre", "31108", "Hòn Tre"), ("Đặc khu Phú Quốc", "31078", None),
    ("phuong my duc", "30769", "Mỹ Đức"), ("ap my an, xa my khanh, tp long xuyen", "30292", "Mỹ Khánh"),
])
def test_commune_finder(typed, code, via):
    from knowledge.communes import default_finder

    found = default_finder().find(typed)
    best = found.best
    assert best is not None and best.commune.code == code, (typed, found)
    assert (best.via.name if best.via else None) == via


def test_commune_finder_ambiguous_and_unknown():
    from knowledge.communes import default_finder, load

    communes = load()
    assert len(communes) == 102
    assert sum(c.kind == "Xã" for c in communes) == 85 and sum(c.kind == "Phường" for c in communes) == 14
    f = default_finder()
    split = f.find("Phước Hưng")  # split between three new communes
    assert split.kind == "choices" and {c.commune.name for c in split.candidates} == {"Xã An Phú", "Xã Nhơn Hội", "Xã Phú Hữu"}
    assert f.find("Vĩnh Hòa").kind == "choices"
    for nothing in ("", "😀😀", "xyz qwe", "an"):
        assert f.find(nothing).kind == "none", nothing


async def test_a_citizen_who_blocked_the_bot_is_reported_once_with_the_reason(tmp_path, fake_tg, make_app):
    """The one undelivered-message hook works for every channel: here Telegram's "blocked", with the reason in
    Vietnamese and the words that did not arrive; each later message that fails is reported on its own."""
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    farmer = Person(d, 5501)
    officer = Person(d, STAFF, user_id=OFFICER)
    code = await file_report(farmer, contact=("Lê Văn Năm", "0912 000 555"))
    card = await wait_card(fake_tg, code)
    await app.wait_quiet("telegram:5501")
    fake_tg.blocked.add("5501")
    await officer.say("Xã đã cử người xuống kiểm tra.", reply_to=card.message_id)
    notice = await officer.expect("Không gửi được tin tới người dân")
    assert code in plain(notice.text) and "người nhận đã chặn bot" in plain(notice.text)
    assert "Xã đã cử người xuống kiểm tra." in plain(notice.text) and f"/ticket {code} hien-sdt" in plain(notice.text)
    await officer.say(f"/status {code} đã xử lý")
    await officer.expect("Không gửi được tin tới người dân")  # a later message fails on its own: told again
    await app.wait_quiet("telegram:5501")
    assert len([m for m in fake_tg.to(STAFF) if "Không gửi được" in plain(m.text)]) == 2
    statuses = app.db.call(lambda s: [r.status for r in s.execute(
        sa.select(OutboxMessage).where(OutboxMessage.chat_id == "5501", OutboxMessage.kind == "notice")).scalars()])
    assert statuses == ["blocked", "blocked"]


async def test_asking_in_words_how_a_report_is_doing_offers_ones_own_reports(tmp_path, fake_tg, make_app):
    """"phản ánh của tui tới đâu rồi" is answered with how to look a report up; someone who has sent reports also
    gets a button to their own list (the same as /tracuu alone). Someone who has sent none gets no such button."""
    app = await make_app(ticket_settings(tmp_path, fake_tg, kb_dir=None))  # the real knowledge base
    d = Driver(fake_tg, app)
    farmer, neighbour = Person(d, 4301, name="Tư Hiền"), Person(d, 4302, name="Năm Lợi")
    code = await file_report(farmer)
    question = "phản ánh của tui gửi bữa trước giờ xử lý tới đâu rồi"
    await farmer.say(question)
    answer = await farmer.expect("/tracuu")
    assert [b["text"] for b in answer.buttons if b["callback_data"] == "tk:mine"] == ["🔎 Xem 1 phản ánh bạn đã gửi"]
    await farmer.press("tk:mine", message_id=answer.message_id)
    mine = await farmer.expect("Các phản ánh bạn đã gửi")
    assert code in mine.text
    await neighbour.say(question)
    other = await neighbour.expect("/tracuu")
    assert not any(b["callback_data"] == "tk:mine" for b in other.buttons)  # nothing of the farmer's is offered


async def test_a_report_code_typed_alone_shows_the_report_to_its_owner_only(tmp_path, fake_tg, make_app):
    """Told «Bạn giữ mã này để tra cứu», people type the code itself, not /tracuu."""
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    d = Driver(fake_tg, app)
    farmer, other = Person(d, 3101), Person(d, 3102)
    code = await file_report(farmer)
    await farmer.say(code)
    shown = await farmer.expect(f"Phản ánh {code}")
    assert "Trạng thái" in plain(shown.text)
    await farmer.say(f"mã {code.replace('-', '')} sao rồi ad")
    await farmer.expect(f"Phản ánh {code}")
    await other.say(code)  # someone else's code: the same «not found» as for a code that does not exist
    reply = await other.expect(code)
    assert "Trạng thái" not in plain(reply.text) and "Đường ấp 3" not in reply.text


@pytest.mark.parametrize("text, hamlet", [
    ("den duong ap 2 xa my hoa hung hu may thang roi", "ấp 2"), ("Ấp Hòa Long bị ngập nửa tháng nay", "Ấp Hòa Long"),
    ("cống khóm 5 phường Châu Phú A nghẹt", "khóm 5"), ("bo tieu chi moi ap dung tu khi nao", ""),
    ("đường xã em hư mấy tháng rồi", ""), ("kenh ap 5 boi lap nuoc khong chay", "ấp 5"),  # a number ends it
    ("ap binh hoa sat lo bo kenh", "ấp binh hoa"),  # … and so does the problem
])
def test_the_hamlet_a_complaint_names_is_read_for_its_place(text, hamlet):
    from knowledge.complaint import hamlet_in

    assert hamlet_in(text) == hamlet
