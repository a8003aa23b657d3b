# Over 400 lines: one channel's end-to-end tests.
"""A citizen on the Zalo Bot Platform, through the fake Zalo Bot API over real HTTP (webhook and polling)."""
from __future__ import annotations

import asyncio
import logging
import unicodedata

import sqlalchemy as sa

from bot.kernel import inbox, texts
from bot.kernel.messages import Attachment, Reply
from bot.storage.models import Chat, InboundEvent, OutboxMessage
from tests.conftest import ZALO_SECRET, eventually, zalo_settings

CHAT = "6ede9afa66b88fe6d6a9"  # Zalo ids are 20-hex-char strings


def hook_url(app) -> str:
    return f"http://127.0.0.1:{app.settings.http_port}/zalo/webhook"


def count(app, model) -> int:
    return app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def outbox(app, chat_id: str):
    sel = sa.select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
    return app.db.call(lambda s: [(r.status, r.attempts, r.last_error or "") for r in s.execute(sel).scalars()])


# ---------------------------------------------------------------- asking, in both receiving modes
async def test_question_by_webhook_gets_the_plain_text_answer(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    assert await fake_zalo.post_webhook(hook_url(app), fake_zalo.text(CHAT, "cho e hoi ocop 4 sao la bao nhiu diem"),
                                        secret=ZALO_SECRET, wrap=True) == 200
    answer = await fake_zalo.wait_text(CHAT, "70 đến dưới 90")
    assert answer.method == "sendMessage"
    assert "**" not in answer.text and "<b>" not in answer.text  # plain text: markup stripped
    assert "Nguồn: Quyết định 148/QĐ-TTg" in answer.text
    # The flat body (what the live API sends) works as well as the documented wrapped one.
    assert await fake_zalo.post_webhook(hook_url(app), fake_zalo.text(CHAT, "ocop 3 sao la bao nhieu diem"),
                                        secret=ZALO_SECRET) == 200
    await fake_zalo.wait_text(CHAT, "50 đến dưới 70")
    assert not any(m == "getUpdates" for m, _ in fake_zalo.calls)  # webhook mode does not poll


async def test_question_by_polling(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_mode="polling"))
    fake_zalo.push(fake_zalo.text(CHAT, "Đóng góp xây dựng nông thôn mới có bắt buộc không?", name="Chú Sáu"))
    await fake_zalo.wait_text(CHAT, "tự nguyện")
    fake_zalo.push(fake_zalo.text(CHAT, "/start", name="Chú Sáu"))
    welcome = await fake_zalo.wait_text(CHAT, "Xin chào Chú Sáu")
    assert "1. 🏡 Hỏi về nông thôn mới" in welcome.text
    chat = app.db.call(lambda s: s.execute(sa.select(Chat).where(Chat.channel == "zalo")).scalars().one())
    assert (chat.chat_id, chat.display_name, chat.chat_type) == (CHAT, "Chú Sáu", "private")


async def test_polling_treats_408_as_no_update_and_keeps_going(tmp_path, fake_zalo, make_app):
    await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_mode="polling", zalo_bot_poll_timeout=1))
    await eventually(lambda: sum(m == "getUpdates" for m, _ in fake_zalo.calls) >= 2, timeout=5)  # 408s came back
    fake_zalo.push(fake_zalo.text(CHAT, "OCOP là gì?"))
    await fake_zalo.wait_text(CHAT, "Mỗi xã một sản phẩm")


async def test_polling_while_a_webhook_is_set_is_reported_not_deleted(tmp_path, fake_zalo, make_app, caplog):
    fake_zalo.webhook = {"url": "https://ntm.example.vn/zalo/webhook", "updated_at": 1}
    with caplog.at_level(logging.ERROR, logger="bot.channels.zalo_bot"):
        await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_mode="polling"))
        await eventually(lambda: any("webhook is registered" in r.getMessage() for r in caplog.records))
    assert fake_zalo.webhook["url"]  # production webhook left alone
    assert not any(m == "deleteWebhook" for m, _ in fake_zalo.calls)


# ---------------------------------------------------------------- no buttons: numbers and words
async def test_choices_by_typing_numbers_and_words(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    url = hook_url(app)

    async def say(text: str) -> None:
        assert await fake_zalo.post_webhook(url, fake_zalo.text(CHAT, text), secret=ZALO_SECRET) == 200
        await app.wait_quiet(f"zalo:{CHAT}")

    await say("ocop sao diem")  # ambiguous: suggestions become numbered options
    sugg = await fake_zalo.wait_text(CHAT, "Có phải bạn muốn hỏi")
    lines = sugg.text.splitlines()
    assert "1. OCOP 4 sao cần bao nhiêu điểm?" in lines and "2. OCOP 3 sao cần bao nhiêu điểm?" in lines
    assert texts.OPTIONS_HINT in sugg.text
    await say("2")
    await fake_zalo.wait_text(CHAT, "50 đến dưới 70")

    await say("menu")  # the menu in words, no "/"
    await fake_zalo.wait_text(CHAT, "Xin chào")
    await say("số 2")  # "⭐ Hỏi về OCOP"
    await fake_zalo.wait_text(CHAT, "Một số câu hỏi thường gặp về OCOP")
    await say("ocop 4 sao can bao nhieu diem")  # typed the label (no diacritics)
    await fake_zalo.wait_text(CHAT, "70 đến dưới 90")

    await say("ocop sao diem")
    await say("9")  # not an offered option: treated as text, no crash
    await say("hủy")
    assert app.db.call(lambda s: s.execute(sa.select(Chat.options).where(Chat.chat_id == CHAT)).scalar_one()) is None
    failed = app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(InboundEvent)
                                             .where(InboundEvent.status != "done")).scalar_one())
    assert failed == 0


async def test_commands_with_or_without_slash(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    for i, text in enumerate(["/start", "start", "Bắt đầu", "/menu", "/bắt đầu", "MENU", "/"]):
        chat = f"c{i:019d}"
        assert await fake_zalo.post_webhook(hook_url(app), fake_zalo.text(chat, text), secret=ZALO_SECRET) == 200
        welcome = await fake_zalo.wait_text(chat, "Xin chào")
        assert "1. 🏡 Hỏi về nông thôn mới" in welcome.text, text
        assert "**" not in welcome.text
    chat = "d" * 20
    for text, needle in [("huy", "không có việc gì"), ("/huy", "không có việc gì"), ("help", "nông thôn mới"),
                         ("/khongcolenhnay", "không có lệnh này")]:
        assert await fake_zalo.post_webhook(hook_url(app), fake_zalo.text(chat, text), secret=ZALO_SECRET) == 200
        await fake_zalo.wait_text(chat, needle)
        await app.wait_quiet(f"zalo:{chat}")


# ---------------------------------------------------------------- events
async def test_image_sticker_and_protected_user_events(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    url = hook_url(app)
    assert await fake_zalo.post_webhook(url, fake_zalo.image(CHAT, "https://f.zalo.me/a.jpg", "đường bị ngập"),
                                        secret=ZALO_SECRET) == 200
    assert await fake_zalo.post_webhook(url, fake_zalo.image("e" * 20, "https://f.zalo.me/b.jpg", legacy=True),
                                        secret=ZALO_SECRET) == 200
    await app.wait_quiet(f"zalo:{'e' * 20}")
    payloads = app.db.call(lambda s: {r.chat_key: r.payload for r in s.execute(sa.select(InboundEvent)).scalars()})
    assert payloads[f"zalo:{CHAT}"]["attachments"] == [{"kind": "photo", "ref": "https://f.zalo.me/a.jpg", "name": "", "mime": ""}]
    assert payloads[f"zalo:{CHAT}"]["text"] == "đường bị ngập"
    assert payloads[f"zalo:{'e' * 20}"]["attachments"][0]["ref"] == "https://f.zalo.me/b.jpg"  # `photo` fallback
    await fake_zalo.wait_text("e" * 20, "ảnh")  # a photo outside a report: told politely

    assert await fake_zalo.post_webhook(url, fake_zalo.sticker("f" * 20), secret=ZALO_SECRET) == 200
    await fake_zalo.wait_text("f" * 20, texts.STICKER_REPLY)

    # Protected users (children, …): Zalo withholds the content; the bot points to another way.
    assert await fake_zalo.post_webhook(url, fake_zalo.unsupported("a" * 20), secret=ZALO_SECRET) == 200
    reply = await fake_zalo.wait_text("a" * 20, "không đọc được tin nhắn này")
    assert app.settings.agency_contact in reply.text


async def test_a_redelivered_event_does_nothing(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    event = fake_zalo.text(CHAT, "OCOP là gì?")
    assert await fake_zalo.post_webhook(hook_url(app), event, secret=ZALO_SECRET) == 200
    await fake_zalo.wait_text(CHAT, "Mỗi xã một sản phẩm")
    assert await fake_zalo.post_webhook(hook_url(app), event, secret=ZALO_SECRET, wrap=True) == 200  # same event again
    other = fake_zalo.event("message.image.received", CHAT, photo_url="https://x/y.jpg")
    other["message"]["message_id"] = event["message"]["message_id"]  # same id, other event: not a duplicate
    assert await fake_zalo.post_webhook(hook_url(app), other, secret=ZALO_SECRET) == 200
    await app.wait_quiet(f"zalo:{CHAT}")
    assert len([s for s in fake_zalo.to(CHAT) if "Mỗi xã một sản phẩm" in s.text]) == 1
    assert count(app, InboundEvent) == 2


async def test_forged_and_malformed_webhooks_are_rejected_and_change_nothing(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    url, event = hook_url(app), fake_zalo.text(CHAT, "OCOP là gì?")
    assert await fake_zalo.post_webhook(url, event, secret=None) == 403
    assert await fake_zalo.post_webhook(url, event, secret="wrong-secret") == 403
    assert await fake_zalo.post_webhook(url, event, secret=ZALO_SECRET + "x") == 403
    assert await fake_zalo.post_webhook(url, raw=b"x" * (2 * 1024 * 1024), secret=None) == 403  # secret checked first
    assert await fake_zalo.post_webhook(url, raw=b'{"ok": true, "result": {', secret=ZALO_SECRET) == 400
    assert await fake_zalo.post_webhook(url, raw=b"\xff\xfe\x00", secret=ZALO_SECRET) == 400
    assert await fake_zalo.post_webhook(url, raw=b"[1, 2]", secret=ZALO_SECRET) == 400
    assert await fake_zalo.post_webhook(url, {"event_name": "message.text.received"}, secret=ZALO_SECRET) == 400
    assert await fake_zalo.post_webhook(url, {"ok": True, "result": {"message": {"text": "x"}}}, secret=ZALO_SECRET) == 400
    big = fake_zalo.text(CHAT, "a" * (1024 * 1024 + 10))
    assert await fake_zalo.post_webhook(url, big, secret=ZALO_SECRET) == 413
    await asyncio.sleep(0.2)
    assert count(app, InboundEvent) == 0 and count(app, Chat) == 0 and count(app, OutboxMessage) == 0
    assert fake_zalo.sent == []


async def test_webhook_refuses_everything_without_a_configured_secret(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_webhook_secret=""))
    assert await fake_zalo.post_webhook(hook_url(app), fake_zalo.text(CHAT, "hi"), secret="") == 403
    assert count(app, InboundEvent) == 0


# ---------------------------------------------------------------- sending
def queue(app, chat_id: str, reply: Reply) -> None:
    def go(s):
        chat = inbox.get_or_create_chat(s, "zalo", chat_id)
        inbox.deliver(s, reply, default=chat)

    app.db.call(go)
    app.outbox.kick()


async def test_long_answers_split_at_2000_characters_after_nfc(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    sentence = unicodedata.normalize("NFD", "Người dân đóng góp xây dựng nông thôn mới là tự nguyện. ")  # decomposed
    assert len(sentence) > len(unicodedata.normalize("NFC", sentence))
    text = "**Trả lời:** " + sentence * 80  # ~4,500 NFC characters, ~5,600 decomposed
    queue(app, CHAT, Reply(text))
    parts = await fake_zalo.wait_for(lambda m: m.chat_id == CHAT, count=3)
    await app.wait_quiet(f"zalo:{CHAT}")
    parts = fake_zalo.to(CHAT)
    assert len(parts) == 3 and all(len(p.text) <= 2000 for p in parts)
    assert all(p.text == unicodedata.normalize("NFC", p.text) for p in parts)
    assert parts[0].text.startswith("Trả lời: Người dân")  # markup stripped
    assert "".join(p.text for p in parts).count("tự nguyện") == 80
    assert not fake_zalo.rejected

    # An NFD text longer than 2000 code points but not after NFC goes in one message.
    short = unicodedata.normalize("NFD", "Đường làng ngõ xóm sạch đẹp. " * 65)
    assert len(short) > 2000 >= len(unicodedata.normalize("NFC", short))
    queue(app, "b" * 20, Reply(short))
    await fake_zalo.wait_for(lambda m: m.chat_id == "b" * 20)
    await app.wait_quiet(f"zalo:{'b' * 20}")
    assert len(fake_zalo.to("b" * 20)) == 1


async def test_the_fake_rejects_over_2000_characters_and_the_bot_does_not_retry(tmp_path, fake_zalo, make_app):
    """Guard for the test above: a text over the limit really is refused (400 = permanent)."""
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    adapter = app.adapters["zalo"]
    result = await adapter.client.call("getMe")
    assert result["account_name"].startswith("Bot")
    from bot.channels.zalo_bot import ZaloBotError

    try:
        await adapter.client.call("sendMessage", {"chat_id": CHAT, "text": "x" * 2001})
        raise AssertionError("accepted")
    except ZaloBotError as err:
        assert err.code == 400
    assert adapter._failure(ZaloBotError(400, "x")).permanent


async def test_photo_by_url_with_caption(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    queue(app, CHAT, Reply("Ảnh **công trình** đã hoàn thành", attachments=(
        Attachment("photo", "https://ntm.angiang.gov.vn/anh/cau.jpg"), Attachment("photo", "AgACAgUAAxkBAAIB-telegram-file-id"))))
    await fake_zalo.wait_for(lambda m: m.chat_id == CHAT)
    await app.wait_quiet(f"zalo:{CHAT}")
    assert [(m.method, m.params["photo"], m.text) for m in fake_zalo.to(CHAT)] == [
        ("sendPhoto", "https://ntm.angiang.gov.vn/anh/cau.jpg", "Ảnh công trình đã hoàn thành")]
    assert outbox(app, CHAT)[0][0] == "sent"


# ---------------------------------------------------------------- errors
async def test_429_backs_off_then_delivers(tmp_path, fake_zalo, make_app):
    import time

    first: list[float] = []

    def fault(method, params):
        if method == "sendMessage" and not first:
            first.append(time.monotonic())
            return ("429", 0)
        return None

    fake_zalo.fault_fn = fault
    app = await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_retry_after=1.0))
    queue(app, CHAT, Reply("Thông báo lịch tiếp dân."))
    sent = await fake_zalo.wait_text(CHAT, "lịch tiếp dân")
    assert sent.at - first[0] >= 0.95  # waited the default back-off
    assert fake_zalo.faults_injected["429"] == 1 and len(fake_zalo.to(CHAT)) == 1


async def test_401_alerts_the_operator_once_and_keeps_messages_queued(tmp_path, fake_zalo, make_app, caplog):
    broken = {"on": True}
    fake_zalo.fault_fn = lambda method, params: ("401", 0) if broken["on"] and method == "sendMessage" else None
    app = await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_unauthorized_pause=0.2))
    with caplog.at_level(logging.DEBUG):
        for i in range(3):
            queue(app, f"u{i:019d}", Reply(f"Tin số {i}"))
        await eventually(lambda: fake_zalo.faults_injected["401"] >= 4)
        alerts = [r for r in caplog.records if r.levelno == logging.ERROR and "401" in r.getMessage()]
        assert len(alerts) == 1 and "ZALO_BOT_TOKEN" in alerts[0].getMessage()
        states = {row[0] for i in range(3) for row in outbox(app, f"u{i:019d}")}
        assert states <= {"pending", "sending"}  # kept (maybe being retried right now), not failed
        broken["on"] = False  # the operator put the new token in
        for i in range(3):
            await fake_zalo.wait_text(f"u{i:019d}", f"Tin số {i}")


async def test_400_is_permanent_403_is_transient(tmp_path, fake_zalo, make_app):
    seen: list[str] = []

    def fault(method, params):
        if method != "sendMessage":
            return None
        seen.append(params["chat_id"])
        if params["chat_id"] == "p" * 20:
            return ("400", 0)
        if params["chat_id"] == "t" * 20 and seen.count("t" * 20) == 1:
            return ("403", 0)  # Zalo documents 403 as "internal server error"
        return None

    fake_zalo.fault_fn = fault
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    queue(app, "p" * 20, Reply("Không gửi được"))
    queue(app, "t" * 20, Reply("Gửi được lần hai"))
    await fake_zalo.wait_text("t" * 20, "lần hai", timeout=10)
    await eventually(lambda: outbox(app, "p" * 20)[0][0] == "failed")
    assert outbox(app, "p" * 20)[0][1] == 1  # not retried
    await eventually(lambda: outbox(app, "t" * 20)[0][:2] == ("sent", 2))  # retried once after the 403


async def test_the_token_never_reaches_logs_or_stored_errors(tmp_path, fake_zalo, make_app, caplog):
    from tests.conftest import free_port

    token = fake_zalo.token
    other = "9" * 20
    faults = {CHAT: iter([("500", 0), ("400", 0)]), other: iter([("401", 0), ("timeout", 1.5), ("404", 0)])}
    fake_zalo.fault_fn = lambda method, params: next(faults[params["chat_id"]], None) if method == "sendMessage" else None
    with caplog.at_level(logging.DEBUG):
        app = await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_read_timeout=0.5, zalo_bot_mode="polling",
                                           zalo_bot_poll_timeout=1))
        queue(app, CHAT, Reply("Tin thứ nhất"))
        queue(app, other, Reply("Tin thứ ba"))
        await eventually(lambda: outbox(app, CHAT)[0][0] == outbox(app, other)[0][0] == "failed", timeout=15)
        # A base URL that does not answer at all: connection errors carry the URL in some libraries.
        dead = zalo_settings(tmp_path / "dead", fake_zalo, zalo_bot_api_base_url=f"http://127.0.0.1:{free_port()}",
                             zalo_bot_mode="polling", zalo_bot_poll_timeout=1)
        app2 = await make_app(dead)
        queue(app2, CHAT, Reply("Tin thứ hai"))
        await eventually(lambda: outbox(app2, CHAT)[0][1] >= 1)
        await asyncio.sleep(0.3)
    errors = outbox(app, CHAT) + outbox(app, other) + outbox(app2, CHAT)
    assert all(e[2] for e in errors)  # errors were stored …
    stored = " ".join(e[2] for e in errors)
    logged = "\n".join(r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records)
    assert "zalo" in logged.lower()  # … and things were logged
    for secret in (token, token.split(":", 1)[1]):
        assert secret not in stored and secret not in logged and secret not in caplog.text


# ---------------------------------------------------------------- operator commands
async def test_cli_set_webhook_info_delete(tmp_path, fake_zalo):
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZALO_", "TELEGRAM_"))}
    env.update(ZALO_BOT_TOKEN=fake_zalo.token, ZALO_BOT_API_BASE_URL=fake_zalo.base_url,
               ZALO_BOT_WEBHOOK_URL="https://ntm.angiang.example/zalo/webhook", ZALO_BOT_WEBHOOK_SECRET=ZALO_SECRET,
               DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}")

    async def run(*args: str, **extra: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "zalo", *args, env={**env, **extra},
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()

    code, out, _ = await run("set-webhook")
    assert code == 0 and "Đã đăng ký webhook Zalo" in out
    assert fake_zalo.webhook["url"] == "https://ntm.angiang.example/zalo/webhook"
    assert fake_zalo.webhook["secret_token"] == ZALO_SECRET
    code, out, _ = await run("info")
    assert code == 0 and "Bot NTM An Giang" in out and "https://ntm.angiang.example/zalo/webhook" in out
    code, out, _ = await run("delete-webhook")
    assert code == 0 and fake_zalo.webhook["url"] == ""
    code, _, err = await run("set-webhook", ZALO_BOT_WEBHOOK_SECRET="short")
    assert code == 2 and "8–256" in err
    code, out, err = await run("info", ZALO_BOT_TOKEN="1:wrong-token-value")
    assert code == 1 and "401" in err and "wrong-token-value" not in out + err


async def test_a_staff_answer_zalo_refuses_for_good_is_reported_to_staff(tmp_path, fake_zalo, fake_tg, make_app):
    from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, wait_card
    from tests.zalo_helpers import file_ticket, zalo_ticket_settings

    fake_zalo.fault_fn = lambda method, params: (
        ("404", 0) if method == "sendMessage" and "Trả lời phản ánh" in params.get("text", "") else None)
    app = await make_app(zalo_ticket_settings(tmp_path, fake_tg, zalo=fake_zalo))
    code = file_ticket(app, "zalo", CHAT)
    card = await wait_card(fake_tg, code)
    officer = Person(Driver(fake_tg, app), STAFF, user_id=OFFICER)
    await officer.say("Xã đã sửa xong đoạn đường.", reply_to=card.message_id)
    notice = await officer.expect("Không gửi được tin tới người dân")
    assert code in notice.text and "Xã đã sửa xong" in notice.text
    assert "Zalo từ chối tin nhắn" in notice.text and "404" in notice.text  # the reason Zalo gave, in Vietnamese
    assert outbox(app, CHAT)[-1][0] == "failed"
    await asyncio.sleep(0.3)
    assert sum("Không gửi được" in m.text for m in fake_tg.to(STAFF)) == 1


async def test_a_staff_answer_that_runs_out_of_retries_is_reported(tmp_path, fake_zalo, fake_tg, make_app):
    from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, wait_card
    from tests.zalo_helpers import file_ticket, zalo_ticket_settings

    fake_zalo.fault_fn = lambda method, params: ("500", 0) if method == "sendMessage" else None
    app = await make_app(zalo_ticket_settings(tmp_path, fake_tg, zalo=fake_zalo, outbox_max_age_hours=0.001))  # 3.6 s
    code = file_ticket(app, "zalo", CHAT)
    await wait_card(fake_tg, code)
    officer = Person(Driver(fake_tg, app), STAFF, user_id=OFFICER)
    await officer.say(f"/reply {code} Trả lời phản ánh.")
    notice = await officer.expect("Không gửi được tin tới người dân", timeout=30)
    assert code in notice.text and "Zalo không nhận tin sau nhiều lần thử" in notice.text and "500" in notice.text
    assert outbox(app, CHAT)[-1][0] == "dead" and outbox(app, CHAT)[-1][1] >= 2


async def test_rate_limits_come_from_the_settings(tmp_path, fake_zalo, make_app):
    app = await make_app(zalo_settings(tmp_path, fake_zalo, zalo_bot_rate=4, zalo_bot_chat_rate=0.5,
                                       zalo_bot_chat_burst=2))
    limits = app.adapters["zalo"].limits({"chat_id": CHAT, "payload": {}})
    assert [(lim.key, lim.limit, lim.period) for lim in limits] == [(f"zalo:chat:{CHAT}", 2, 4.0), ("zalo:all", 4, 1.0)]
    import time

    start = time.monotonic()
    for i in range(5):  # 5 messages to 5 chats at 4/s overall: the fifth waits for the window
        queue(app, f"r{i:019d}", Reply(f"Tin {i}"))
    await fake_zalo.wait_for(lambda m: m.chat_id.startswith("r"), count=5)
    times = sorted(m.at for m in fake_zalo.sent if m.chat_id.startswith("r"))
    assert times[4] - times[0] >= 0.95 and time.monotonic() - start < 10


def test_mode_is_webhook_when_a_url_is_configured(tmp_path):
    from tests.conftest import make_settings

    assert make_settings(tmp_path, zalo_bot_token="1:x").zalo_bot_effective_mode == "polling"
    assert make_settings(tmp_path, zalo_bot_token="1:x", zalo_bot_webhook_url="https://a/zalo/webhook").zalo_bot_effective_mode == "webhook"
    assert make_settings(tmp_path, zalo_bot_webhook_url="https://a/zalo/webhook", zalo_bot_mode="polling").zalo_bot_effective_mode == "polling"


# ---------------------------------------------------------------- voice notes and message kinds we do not know
async def test_a_voice_note_outside_a_report_gets_a_kind_answer(tmp_path, fake_zalo, make_app):
    """Live Zalo Bot updates carry `message.voice.received` with `voice_url` (.aac): kept by reference, answered
    kindly (the bot cannot listen), never silence."""
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    event = fake_zalo.voice(CHAT)
    url = event["message"]["voice_url"]
    assert url.endswith(".aac") and event["message"]["message_type"] == "CHAT_VOICE" and "event_name" in event  # flat
    assert await fake_zalo.post_webhook(hook_url(app), event, secret=ZALO_SECRET) == 200
    reply = await fake_zalo.wait_text(CHAT, "chưa nghe được tin nhắn thoại")
    assert "gõ câu hỏi bằng chữ" in reply.text and "phản ánh" in reply.text
    await app.wait_quiet(f"zalo:{CHAT}")
    stored = app.db.call(lambda s: s.execute(sa.select(InboundEvent.payload)).scalars().one())
    assert stored["attachments"] == [{"kind": "voice", "ref": url, "name": "", "mime": "audio/aac"}]
    assert len(fake_zalo.to(CHAT)) == 1


async def test_a_message_kind_zalo_adds_later_is_answered_not_ignored(tmp_path, fake_zalo, make_app, caplog):
    from bot.kernel import metrics

    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    before = metrics.ZALO_EVENTS.labels("zalo", "unknown_message")._value.get()
    secret_words = "bí mật trong tin nhắn video"
    with caplog.at_level(logging.DEBUG):
        event = fake_zalo.event("message.video.received", CHAT, video_url="https://v.zdn.vn/x.mp4", caption=secret_words)
        assert await fake_zalo.post_webhook(hook_url(app), event, secret=ZALO_SECRET) == 200
        reply = await fake_zalo.wait_text(CHAT, "chưa đọc được nội dung")
    assert "gõ câu hỏi bằng chữ" in reply.text
    assert secret_words not in caplog.text and "x.mp4" not in caplog.text  # the content is neither read nor logged
    assert metrics.ZALO_EVENTS.labels("zalo", "unknown_message")._value.get() == before + 1
    # An event that is not a message is acknowledged and does nothing.
    other = fake_zalo.event("bot.status.changed", "g" * 20)
    assert await fake_zalo.post_webhook(hook_url(app), other, secret=ZALO_SECRET) == 200
    await asyncio.sleep(0.3)
    assert fake_zalo.to("g" * 20) == []


async def test_invisible_characters_or_punctuation_alone_get_a_short_reply(tmp_path, fake_zalo, make_app):
    """Zero-width spaces pasted from a web page are an empty message; «?» alone is «what do you need?», not the
    off-topic reply."""
    app = await make_app(zalo_settings(tmp_path, fake_zalo))
    assert await fake_zalo.post_webhook(hook_url(app), fake_zalo.text(CHAT, "\u200b\u200b\ufeff"),
                                        secret=ZALO_SECRET) == 200
    reply = await fake_zalo.wait_text(CHAT, "chưa đọc được nội dung")
    assert "gõ câu hỏi bằng chữ" in reply.text
    await app.wait_quiet(f"zalo:{CHAT}")
    assert await fake_zalo.post_webhook(hook_url(app), fake_zalo.text(CHAT, "??"), secret=ZALO_SECRET) == 200
    reply = await fake_zalo.wait_text(CHAT, "cần hỏi gì")
    assert "ngoài những gì tôi biết" not in reply.text and len(reply.text) < 80
