"""A citizen talks to the bot on Telegram (polling), through the fake Bot API over real HTTP."""
from __future__ import annotations

from tests.conftest import tg_settings


async def test_start_question_and_buttons(tmp_path, fake_tg, make_app):
    await make_app(tg_settings(tmp_path, fake_tg))
    chat = 5001

    fake_tg.push(fake_tg.make_message(chat, "/start", name="Ba Tư"))
    welcome = await fake_tg.wait_text(chat, "Xin chào Ba Tư")
    labels = [b["text"] for b in welcome.buttons]
    assert "🏡 Hỏi về nông thôn mới" in labels and "⭐ Hỏi về OCOP" in labels
    assert all("sắp có" not in label.lower() for label in labels)  # no "coming soon" placeholders
    assert welcome.params["parse_mode"] == "HTML"

    # A question typed without diacritics, in teencode, gets the sourced answer.
    fake_tg.push(fake_tg.make_message(chat, "cho e hoi ocop 4* la bao nhiu diem vay ad"))
    answer = await fake_tg.wait_text(chat, "70 đến dưới 90")
    assert "Nguồn: Quyết định 148/QĐ-TTg ngày 24/02/2023" in answer.text

    # The command menu was registered with Vietnamese descriptions.
    names = {c["command"]: c["description"] for c in fake_tg.commands["default"]}
    assert names["start"] == "Menu chính" and "huy" in names


async def test_suggestion_buttons_and_press(tmp_path, fake_tg, make_app):
    await make_app(tg_settings(tmp_path, fake_tg))
    chat = 5002
    # Ambiguous between 3 and 4 stars: suggestions as inline buttons.
    fake_tg.push(fake_tg.make_message(chat, "ocop sao diem"))
    sugg = await fake_tg.wait_text(chat, "Có phải bạn muốn hỏi")
    datas = [b["callback_data"] for b in sugg.buttons]
    assert "faq:t.ocop-4-sao" in datas and "faq:t.ocop-3-sao" in datas
    fake_tg.push(fake_tg.make_callback(chat, "faq:t.ocop-3-sao", message_id=sugg.message_id))
    await fake_tg.wait_text(chat, "50 đến dưới 70")
    assert fake_tg.callback_answers  # the button press was acknowledged


async def test_redelivered_update_is_ignored(tmp_path, fake_tg, make_app):
    await make_app(tg_settings(tmp_path, fake_tg))
    chat = 5003
    update = fake_tg.make_message(chat, "OCOP là gì?")
    fake_tg.push(update)
    await fake_tg.wait_text(chat, "Mỗi xã một sản phẩm")
    fake_tg.push(update)  # Telegram delivers the same update again
    fake_tg.push(fake_tg.make_message(chat, "ocop 3 sao bao nhieu diem"))
    await fake_tg.wait_text(chat, "50 đến dưới 70")
    assert len([s for s in fake_tg.to(chat) if "Mỗi xã một sản phẩm" in s.text]) == 1
