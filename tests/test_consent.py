"""The consent step of the report conversation (Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15, Nghị định 356/2025/NĐ-CP):
it names the kind of data and the purpose, who controls the data and the person's rights; nothing is consent
until the person says so (silence, other words and the anonymous choice are not); the consent is recorded."""
from __future__ import annotations

from sqlmodel import select

from bot.storage.models import Chat
from bot.storage.tickets import Ticket
from tests.tickets_helpers import Driver, Person, button, plain, ticket_settings


async def _to_contact_step(p: Person) -> None:
    await p.say("/phananh")
    m = await p.expect("Bước 1/5")
    await p.press("fb:cat:giao-thong", message_id=m.message_id)
    await p.expect("Bước 2/5")
    await p.say("Cống ấp 2 bị sập, nước tràn vào ruộng")
    await p.expect("Bước 3/5")
    await p.say("xa my khanh")
    m = await p.expect("Bước 4/5")
    await p.press("fb:hamlet:skip", message_id=m.message_id)


async def test_consent_says_what_the_law_asks_and_silence_is_not_consent(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg, agency_name="UBND xã Thử Nghiệm"))
    p = Person(Driver(fake_tg, app), 4801)
    await _to_contact_step(p)
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:give", message_id=m.message_id)
    consent = await p.expect("Đồng ý cho xử lý dữ liệu cá nhân")
    text = plain(consent.text)
    for needle in ("Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15", "Nghị định 356/2025/NĐ-CP",  # the legal basis
                   "họ tên và số điện thoại",  # the kind of data
                   "liên hệ với bạn về phản ánh này",  # the purpose
                   "Bên kiểm soát dữ liệu: UBND xã Thử Nghiệm",  # who controls it
                   "rút lại sự đồng ý", "/xoadulieu", "không đồng ý",  # the person's rights
                   "24 tháng"):
        assert needle in text, needle
    assert "13/2023" not in text
    # Two choices, neither taken for the person: agreeing, or sending anonymously.
    assert [b["callback_data"] for b in consent.buttons] == ["fb:consent:yes", "fb:contact:anon"]

    # Silence, or words that are not a yes, record nothing: the bot asks again.
    await p.say("để tôi xem đã")
    await p.expect("Bước 5/5")
    data = app.db.call(lambda s: s.exec(select(Chat).where(Chat.channel == "telegram", Chat.chat_id == "4801")).one().state_data)
    assert data is not None and not data.get("consent_at") and data.get("contact") is None

    await p.press("fb:contact:give", message_id=m.message_id)
    consent = await p.expect("Đồng ý cho xử lý dữ liệu cá nhân")
    await p.press("fb:consent:yes", message_id=consent.message_id)
    await p.expect("họ và tên")
    await p.say("Lê Văn Ba")
    await p.expect("điện thoại")
    await p.say("0912 345 678")
    summary = await p.expect("Xem lại phản ánh")
    await p.press(button(summary, "fb:send:"), message_id=summary.message_id)
    await p.expect("Đã tiếp nhận phản ánh")
    t = app.db.call(lambda s: s.get(Ticket, 1))
    assert t.contact_phone and t.consent_at is not None  # the proof of consent is kept with the contact


async def test_anonymous_is_no_consent_and_keeps_no_contact(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    p = Person(Driver(fake_tg, app), 4802)
    await _to_contact_step(p)
    m = await p.expect("Bước 5/5")
    await p.press("fb:contact:give", message_id=m.message_id)
    consent = await p.expect("Đồng ý cho xử lý dữ liệu cá nhân")
    await p.press("fb:contact:anon", message_id=consent.message_id)  # changed their mind
    summary = await p.expect("Xem lại phản ánh")
    await p.press(button(summary, "fb:send:"), message_id=summary.message_id)
    await p.expect("Đã tiếp nhận phản ánh")
    t = app.db.call(lambda s: s.get(Ticket, 1))
    assert t.anonymous and t.consent_at is None and t.contact_phone is None and t.contact_name is None
