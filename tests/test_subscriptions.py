"""Citizens subscribe and unsubscribe (Telegram, and through the core on a channel without buttons)."""
from __future__ import annotations

import uuid

from bot.kernel.messages import TERMINAL, Inbound
from tests import bc_util as u


async def test_first_contact_offers_never_subscribes_then_subscribe_and_stop(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    chat = 9101
    fake_tg.push(fake_tg.make_message(chat, "/start", name="Chú Năm"))
    welcome = await fake_tg.wait_text(chat, "Xin chào Chú Năm")
    assert u.button(welcome, "sub:start")  # offered …
    assert u.subscription(app, chat) is None  # … but nobody is subscribed silently

    ask = await u.press(fake_tg, chat, "sub:start", "Bạn muốn nhận tin gì", user=chat)
    datas = [b["callback_data"] for b in ask.buttons]
    assert datas == ["sub:t:*", "sub:t:ntm", "sub:t:ocop", "sub:t:xa"]
    assert "Chỉ: Sản phẩm OCOP" in [b["text"] for b in ask.buttons]

    await u.press(fake_tg, chat, "sub:t:*", "Bạn ở xã, phường nào", user=chat)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(chat, "my hoa hung"))  # no diacritics
    done = await u.wait_new(fake_tg, chat, "Đã đăng ký nhận tin", after)
    assert "Xã Mỹ Hòa Hưng" in done.text and "/huydangky" in done.text
    sub = u.subscription(app, chat)
    assert sub.active and sub.topics == ",ntm,ocop,xa," and sub.commune_code == "30313"

    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(chat, "/start"))
    welcome2 = await u.wait_new(fake_tg, chat, "Xin chào", after)
    assert "sub:start" not in [b["callback_data"] for b in welcome2.buttons]  # already subscribed

    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(chat, "Hủy đăng ký"))  # typed as words, with diacritics
    await u.wait_new(fake_tg, chat, "Đã ngừng gửi tin", after)
    sub = u.subscription(app, chat)
    assert not sub.active and sub.unsubscribe_reason == "user" and sub.unsubscribed_at is not None

    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(chat, "/huydangky"))
    await u.wait_new(fake_tg, chat, "Bạn chưa đăng ký nhận tin", after)


async def test_one_topic_no_commune_question_and_commune_step_lets_questions_through(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    chat = 9102
    fake_tg.push(fake_tg.make_message(chat, "/dangky"))
    await fake_tg.wait_text(chat, "Bạn muốn nhận tin gì")
    done = await u.press(fake_tg, chat, "sub:t:ocop", "Đã đăng ký nhận tin", user=chat)
    assert "Sản phẩm OCOP" in done.text
    assert u.subscription(app, chat).topics == ",ocop,"

    # Asked for the commune, the person asks a question instead: it is answered, the step is left.
    other = 9103
    fake_tg.push(fake_tg.make_message(other, "/dangky"))
    await fake_tg.wait_text(other, "Bạn muốn nhận tin gì")
    await u.press(fake_tg, other, "sub:t:xa", "Bạn ở xã, phường nào", user=other)
    fake_tg.push(fake_tg.make_message(other, "Cho tôi hỏi OCOP là gì vậy?"))
    await fake_tg.wait_text(other, "Mỗi xã một sản phẩm")
    sub = u.subscription(app, other)
    assert sub.active and sub.commune_code is None
    # An unknown place name gets a polite retry with a skip button.
    fake_tg.push(fake_tg.make_message(other, "/dangky"))
    after = u.last_id(fake_tg)
    await u.press(fake_tg, other, "sub:t:xa", "Bạn ở xã, phường nào", user=other)
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(other, "Xóm Không Có"))
    retry = await u.wait_new(fake_tg, other, "chưa tìm thấy", after)
    assert u.button(retry, "sub:skip")


async def test_in_a_group_subscription_is_refused_politely(tmp_path, fake_tg, make_app):
    app = await u.start(make_app, u.settings(tmp_path, fake_tg))
    fake_tg.push(fake_tg.make_message(-100555, "/dangky", user_id=9104))
    await fake_tg.wait_text(-100555, "tin nhắn riêng")
    assert u.subscription(app, -100555) is None


async def test_channel_neutral_subscribe_receive_and_stop_on_a_channel_without_buttons(tmp_path, fake_tg, make_app):
    """A terminal chat goes through the same core as Zalo will: numbered options, no markup, footer to stop."""
    from bot.channels.terminal import TerminalChannel

    out: list[str] = []
    app = await u.start(make_app, u.settings(tmp_path, fake_tg), adapters=(TerminalChannel(out.append),))
    key = f"{TERMINAL}:t1"

    async def say(text: str) -> str:
        n = len(out)
        await app.submit(Inbound(TERMINAL, "t1", "u1", text=text, event_key=uuid.uuid4().hex))
        await app.wait_quiet(key)
        return "".join(out[n:])

    menu = await say("/start")
    assert "Đăng ký nhận tin" in menu and "**" not in menu
    topics = await say("dang ky nhan tin")
    assert "1. Tất cả các tin" in topics and "(Trả lời bằng số thứ tự" in topics
    assert "Bạn ở xã, phường nào" in await say("1")
    assert "Đã đăng ký nhận tin" in await say("1")  # 1 = «Bỏ qua»
    assert u.subscription(app, "t1", TERMINAL).active

    bid = await u.send_broadcast(fake_tg, "**Mời bà con** dự họp ấp ngày 5/12.")
    await u.done(app, bid)
    got = [x for x in out if "Mời bà con" in x]
    assert len(got) == 1
    assert "Tin từ Văn phòng Điều phối nông thôn mới tỉnh An Giang" in got[0]
    assert "**" not in got[0] and "Gõ /huydangky để ngừng nhận tin." in got[0]

    assert "Đã ngừng gửi tin" in await say("/huydangky")
    bid2, _ = await u.compose(fake_tg, "Tin thứ hai chỉ cho người còn đăng ký.")
    # Nobody left to reach: the officer is told instead of being offered to send to no one.
    await u.press(fake_tg, u.STAFF, f"bct:{bid2}:all", "Chưa có ai đăng ký nhận tin")
    assert u.broadcast_row(app, bid2).status == "draft"
    assert not [x for x in out if "Tin thứ hai" in x]


async def test_the_words_the_help_promises_on_zalo_work_and_only_as_the_whole_message(tmp_path, fake_tg, make_app):
    """The help says 'trên Zalo gõ “dang ky”': that alone subscribes; a question that starts with it is a question."""
    from bot.channels.terminal import TerminalChannel

    out: list[str] = []
    app = await u.start(make_app, u.settings(tmp_path, fake_tg), adapters=(TerminalChannel(out.append),))
    key = f"{TERMINAL}:t2"

    async def say(text: str) -> str:
        n = len(out)
        await app.submit(Inbound(TERMINAL, "t2", "u2", text=text, event_key=uuid.uuid4().hex))
        await app.wait_quiet(key)
        return "".join(out[n:])

    for words in ("dang ky", "Đăng ký", "dangky"):
        assert "1. Tất cả các tin" in await say(words), words
    assert "Tất cả các tin" not in await say("dang ky ocop o dau")
    await say("dang ky")
    assert "xã, phường nào" in await say("1")
    assert "Đã đăng ký nhận tin" in await say("1")
    assert "Đã ngừng gửi tin" in await say("huydangky")
