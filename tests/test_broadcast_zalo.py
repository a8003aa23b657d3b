"""Broadcasts reach Zalo through the same core: a citizen subscribes and stops on the Zalo Bot Platform
(fake Zalo Bot API over HTTP), staff broadcast from Telegram, a 429 from Zalo delays without doubling."""
from __future__ import annotations

import collections

from tests import bc_util as u
from tests.conftest import ZALO_SECRET, eventually, tg_settings, zalo_settings

CHAT = "6ede9afa66b88fe6d6a9"
OTHER = "7fef0b0b77c9907f07b0"


async def test_subscribe_receive_and_stop_on_zalo(tmp_path, fake_zalo, fake_tg, make_app):
    tg = tg_settings(tmp_path, fake_tg).model_dump(include={"telegram_bot_token", "telegram_api_base_url", "telegram_mode"})
    retried: collections.Counter[str] = collections.Counter()

    def fault(method, params):  # the first broadcast message to OTHER hits Zalo's quota once
        if method == "sendMessage" and str(params.get("chat_id")) == OTHER and "Tin từ" in str(params.get("text")):
            retried[OTHER] += 1
            return ("429", 0) if retried[OTHER] == 1 else None
        return None

    fake_zalo.fault_fn = fault
    app = await u.start(make_app, zalo_settings(tmp_path, fake_zalo, staff_user_ids=str(u.STAFF), broadcast_quiet_hours="", broadcast_approval=False,
                                                telegram_chat_burst=30, **tg))
    url = f"http://127.0.0.1:{app.settings.http_port}/zalo/webhook"

    async def say(chat: str, text: str) -> None:
        assert await fake_zalo.post_webhook(url, fake_zalo.text(chat, text), secret=ZALO_SECRET) == 200
        await app.wait_quiet(f"zalo:{chat}")

    await say(CHAT, "/start")
    welcome = await fake_zalo.wait_text(CHAT, "Xin chào")
    assert "Đăng ký nhận tin" in welcome.text and u.subscription(app, CHAT, "zalo") is None  # offered, not done
    await say(CHAT, "dang ky nhan tin")
    topics = await fake_zalo.wait_text(CHAT, "Bạn muốn nhận tin gì")
    assert "1. Tất cả các tin" in topics.text and "**" not in topics.text
    await say(CHAT, "1")
    await fake_zalo.wait_text(CHAT, "Bạn ở xã, phường nào")
    await say(CHAT, "my hoa hung")
    await fake_zalo.wait_text(CHAT, "Đã đăng ký nhận tin")
    sub = u.subscription(app, CHAT, "zalo")
    assert sub.active and sub.commune_code == "30313"
    u.seed(app, [OTHER], channel="zalo")

    # Staff on Telegram: a broadcast with a photo. Zalo users get the text (a Telegram file id means nothing there).
    after = u.last_id(fake_tg)
    fake_tg.push(fake_tg.make_message(u.STAFF, "/broadcast **Hội nghị** tổng kết nông thôn mới của xã.", photo="TG-PHOTO"))
    ask = await u.wait_new(fake_tg, u.STAFF, "gửi cho ai", after)
    bid = int(ask.text.split("#")[1].split(":")[0])
    assert "Chỉ người dùng Zalo (2)" in [b["text"] for b in ask.buttons]
    summary = await u.press(fake_tg, u.STAFF, f"bct:{bid}:c:zalo", "Đó là bản xem trước")
    assert "Zalo chỉ nhận phần chữ" in summary.text
    await u.press(fake_tg, u.STAFF, f"bc:ok:{bid}", "Đã xác nhận")
    b = await u.done(app, bid)
    for chat in (CHAT, OTHER):
        got = [m for m in fake_zalo.to(chat) if "Hội nghị tổng kết" in m.text]
        assert len(got) == 1 and got[0].method == "sendMessage", chat  # once each, the 429 notwithstanding
        assert got[0].text.startswith("📢 Tin từ Văn phòng Điều phối") and got[0].text.endswith("Gõ /huydangky để ngừng nhận tin.")
        assert "**" not in got[0].text
    assert (b.sent, b.rate_limited) == (2, 1) and fake_zalo.faults_injected["429"] == 1

    await say(CHAT, "huy dang ky")
    await fake_zalo.wait_text(CHAT, "Đã ngừng gửi tin")
    assert not u.subscription(app, CHAT, "zalo").active
    bid2 = await u.send_broadcast(fake_tg, "Tin thứ hai.", target="c:zalo")
    await u.done(app, bid2)
    assert [m.chat_id for m in fake_zalo.sent if "Tin thứ hai" in m.text] == [OTHER]
    await eventually(lambda: u.states(app, bid2) == {"sent": 1})
