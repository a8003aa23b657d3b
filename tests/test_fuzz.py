"""Fuzzing the Telegram webhook with hypothesis: no crash, no 500, nothing stored for rejected input; any
Unicode text gets a polite reply that Telegram's HTML parser (the fake's) accepts."""
from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from handlers import texts
from tests.conftest import tg_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fuzz import WebhookTarget, citizen_texts, json_values, mutated

SECRET = "fuzz-Secret_42"
FUZZ = hsettings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
_chats = itertools.count(700_000)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    from bot.app import App

    loop = asyncio.new_event_loop()
    fake = FakeTelegram()
    loop.run_until_complete(fake.start())
    from tests.conftest import free_port

    tmp = tmp_path_factory.mktemp("fuzz")
    s = tg_settings(tmp, fake, telegram_mode="webhook", telegram_webhook_secret=SECRET, http_port=free_port(),
                    telegram_chat_rate=1000, telegram_global_rate=1000)
    app = App(s)
    app.configure_channels()
    loop.run_until_complete(app.start())
    t = WebhookTarget(loop, app, "/telegram/webhook", {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    t.fake = fake  # type: ignore[attr-defined]
    yield t
    t.close()
    loop.run_until_complete(app.stop())
    loop.run_until_complete(fake.stop())
    loop.close()


def _check_rejected_writes_nothing(target, body, headers=None):
    target.idle()
    before = target.rows()
    code = target.post(body, headers)
    assert code in (200, 400, 403, 413), code  # never a 500
    target.idle()
    after = target.rows()
    if code != 200:
        assert after == before, (code, body)  # rejected: nothing written
    else:
        assert after["inbound_event"] - before["inbound_event"] <= 1
    return code


@FUZZ
@given(body=json_values())
def test_arbitrary_json(target, body):
    _check_rejected_writes_nothing(target, body)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes(target, raw):
    _check_rejected_writes_nothing(target, raw)


@FUZZ
@given(data=st.data())
def test_mutated_updates(target, data):
    fake = target.fake
    kind = data.draw(st.sampled_from(["message", "callback", "photo", "reply"]))
    chat = next(_chats)
    base = {"message": lambda: fake.make_message(chat, "OCOP là gì?"),
            "callback": lambda: fake.make_callback(chat, "faq:t.ocop-4-sao"),
            "photo": lambda: fake.make_message(chat, "ảnh", photo="AgAD"),
            "reply": lambda: fake.make_message(chat, "trả lời", reply_to=5, thread_id=7)}[kind]()
    _check_rejected_writes_nothing(target, data.draw(mutated(base)))


@FUZZ
@given(secret=st.one_of(st.none(), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)))
def test_forged_requests_write_nothing(target, secret):
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    code = _check_rejected_writes_nothing(target, target.fake.make_message(next(_chats), "OCOP là gì?"), headers)
    assert code == 403


@hsettings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, max_examples=60)
@given(text=citizen_texts())
def test_any_text_gets_a_polite_reply(target, text):
    fake = target.fake
    chat = next(_chats)
    assert target.post(fake.make_message(chat, text)) == 200
    replies = target.run(fake.wait_for(lambda m: m.chat_id == str(chat), timeout=10))
    target.run(target.app.wait_quiet(f"telegram:{chat}"))
    sent = fake.to(chat)
    assert sent and replies
    for m in sent:
        assert m.params.get("parse_mode") == "HTML"  # our HTML was accepted: no plain-text fallback
        assert texts.INTERNAL_ERROR not in m.text
        assert m.text.strip()
    # the bot still answers a normal question afterwards
    assert target.post(fake.make_message(chat + 10**9, "OCOP là gì?")) == 200
    target.run(fake.wait_text(chat + 10**9, "Mỗi xã một sản phẩm"))
