"""The outbox: a platform error delays a message, never drops it."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bot.storage.models import Chat, OutboxMessage
from tests.conftest import eventually, tg_settings


async def test_429_retry_after_is_honoured(tmp_path, fake_tg, make_app):
    import time

    first: list[float] = []

    def fault(method, params):
        if method == "sendMessage" and not first:
            first.append(time.monotonic())
            return ("429", 1.0)
        return None

    fake_tg.fault_fn = fault
    await make_app(tg_settings(tmp_path, fake_tg))
    fake_tg.push(fake_tg.make_message(7001, "OCOP là gì?"))
    sent = await fake_tg.wait_text(7001, "Mỗi xã một sản phẩm", timeout=10)
    assert fake_tg.faults_injected["429"] == 1
    assert sent.at - first[0] >= 0.95  # waited retry_after before trying again
    assert len(fake_tg.to(7001)) == 1  # and delivered exactly once


async def test_5xx_and_timeouts_are_retried(tmp_path, fake_tg, make_app):
    seq = iter([("500", 0.0), ("timeout", 1.2)])

    def fault(method, params):
        return next(seq, None) if method == "sendMessage" else None

    fake_tg.fault_fn = fault
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_read_timeout=0.5))
    fake_tg.push(fake_tg.make_message(7002, "ocop 3 sao la bao nhieu diem"))
    sent = await fake_tg.wait_text(7002, "50 đến dưới 70", timeout=15)
    sel = sa.select(OutboxMessage).where(OutboxMessage.chat_id == "7002")
    row = await eventually(lambda: (r := app.db.call(lambda s: s.execute(sel).scalars().first())) and r.status == "sent" and r)
    assert row.attempts == 3 and row.lease_until is None and row.last_error is None and row.sent_at is not None
    assert row.platform_message_id == str(sent.message_id)


async def test_blocked_user_is_marked_not_retried(tmp_path, fake_tg, make_app):
    fake_tg.blocked.add("7003")
    app = await make_app(tg_settings(tmp_path, fake_tg))
    fake_tg.push(fake_tg.make_message(7003, "OCOP là gì?"))

    def state(s):
        chat = s.execute(sa.select(Chat).where(Chat.chat_id == "7003")).scalars().first()
        rows = s.execute(sa.select(OutboxMessage).where(OutboxMessage.chat_id == "7003", OutboxMessage.kind == "reply")).scalars().all()
        return chat and chat.blocked_at and [(r.status, r.attempts) for r in rows]

    rows = await eventually(lambda: app.db.call(state))
    assert rows == [("blocked", 1)]
    await asyncio.sleep(1.5)  # nothing more is tried
    assert len([m for m, p in fake_tg.calls if m == "sendMessage" and str(p.get("chat_id")) == "7003"]) == 1


async def test_long_answer_split_and_html_escaped(tmp_path, fake_tg, make_app):
    from bot.kernel import inbox
    from bot.kernel.messages import Reply

    app = await make_app(tg_settings(tmp_path, fake_tg))
    text = "<b>không phải thẻ</b> & \"trích\" **đậm** " + ("Câu dài về nông thôn mới. " * 400)

    def queue(s):
        chat = inbox.get_or_create_chat(s, "telegram", "7004")
        inbox.deliver(s, Reply(text), default=chat)

    app.db.call(queue)
    app.outbox.kick()
    parts = await fake_tg.wait_for(lambda m: m.chat_id == "7004", count=3, timeout=10)
    assert all(len(p.text) <= 4096 for p in parts)
    assert parts[0].text.startswith("&lt;b&gt;không phải thẻ&lt;/b&gt; &amp; \"trích\" <b>đậm</b>")
    assert "".join(p.text for p in parts).count("Câu dài") == 400
