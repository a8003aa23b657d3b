"""Webhook mode: Telegram POSTs updates to our aiohttp app; only with the right secret, each once."""
from __future__ import annotations

import aiohttp
import sqlalchemy as sa

from bot.storage.models import InboundEvent
from tests.conftest import tg_settings

SECRET = "s3cret-Token_123"


async def _post(app, payload, secret=SECRET, raw: bytes | None = None):
    url = f"http://127.0.0.1:{app.settings.http_port}/telegram/webhook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with aiohttp.ClientSession() as s:
        kw = {"data": raw, "headers": {**headers, "Content-Type": "application/json"}} if raw is not None else {"json": payload, "headers": headers}
        async with s.post(url, **kw) as r:
            return r.status


def _count_events(app) -> int:
    return app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(InboundEvent)).scalar_one())


async def test_webhook_secret_dedup_and_answer(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET))
    chat = 6001
    update = fake_tg.make_message(chat, "Đóng góp xây dựng nông thôn mới có bắt buộc không?")

    assert await _post(app, update, secret="wrong") == 403
    assert await _post(app, update, secret=None) == 403
    assert _count_events(app) == 0  # a forged request changes nothing

    assert await _post(app, update) == 200
    await fake_tg.wait_text(chat, "tự nguyện")
    assert await _post(app, update) == 200  # redelivery: acknowledged, not processed again
    fake_tg.push  # (polling is off in webhook mode)
    await app.wait_quiet(f"telegram:{chat}")
    assert len([s for s in fake_tg.to(chat) if "tự nguyện" in s.text]) == 1
    assert _count_events(app) == 1
    # PTB's polling endpoint was never used in webhook mode
    assert not any(m == "getUpdates" for m, _ in fake_tg.calls)


async def test_webhook_rejects_malformed_bodies(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET))
    assert await _post(app, None, raw=b"{not json") == 400
    assert await _post(app, {"no": "update_id"}) == 400
    assert await _post(app, None, raw=b"x" * (2 * 1024 * 1024)) == 413
    assert _count_events(app) == 0


async def test_webhook_button_press(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET))
    chat = 6002
    assert await _post(app, fake_tg.make_message(chat, "ocop sao diem")) == 200
    sugg = await fake_tg.wait_text(chat, "Có phải bạn muốn hỏi")
    assert await _post(app, fake_tg.make_callback(chat, "faq:t.ocop-4-sao", message_id=sugg.message_id)) == 200
    await fake_tg.wait_text(chat, "70 đến dưới 90")
