"""Group commit: many updates per transaction, with the same guarantees as one transaction per step."""
from __future__ import annotations

import sqlalchemy as sa

from bot import composition
from bot.kernel import texts
from bot.kernel.registry import REGISTRY, Command
from bot.storage.models import InboundEvent
from tests.conftest import eventually, tg_settings


async def test_a_failing_handler_costs_only_its_own_message(tmp_path, fake_tg, make_app):
    def broken(ctx):  # a handler bug
        ctx.reply("never sent")
        raise RuntimeError("bug")

    composition.load()
    registry = REGISTRY.copy()  # the broken command exists in this app only
    registry.add_command(Command("no", broken))
    app = await make_app(tg_settings(tmp_path, fake_tg), registry=registry)
    # Several chats in the same batches as the failing one: their answers must not be lost or delayed for good.
    for chat in range(8301, 8306):
        fake_tg.push(fake_tg.make_message(chat, "OCOP là gì?"))
    fake_tg.push(fake_tg.make_message(8300, "/no"))
    fake_tg.push(fake_tg.make_message(8300, "ocop 3 sao bao nhieu diem"))
    apology = await fake_tg.wait_text(8300, "trục trặc")
    assert apology.text == texts.INTERNAL_ERROR
    await fake_tg.wait_text(8300, "50 đến dưới 70")  # the chat goes on, in order
    for chat in range(8301, 8306):
        await fake_tg.wait_text(chat, "Mỗi xã một sản phẩm")
    assert not any("never sent" in m.text for m in fake_tg.sent)
    statuses = app.db.call(lambda s: dict(s.execute(
        sa.select(InboundEvent.event_key, InboundEvent.status).where(InboundEvent.chat_key == "telegram:8300")).all()))
    assert sorted(statuses.values()) == ["done", "failed"]
    assert "no" not in REGISTRY.commands


async def test_step_by_step_path_without_group_commit(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg, group_commit=False))
    assert app.pipeline is None
    fake_tg.push(fake_tg.make_message(8400, "/start"))
    await fake_tg.wait_text(8400, "Xin chào")
    fake_tg.push(fake_tg.make_message(8400, "ocop 4 sao la bao nhieu diem"))
    await fake_tg.wait_text(8400, "70 đến dưới 90")


async def test_a_redelivery_in_the_same_batch_is_processed_once(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg))
    update = fake_tg.make_message(8500, "OCOP là gì?")
    fake_tg.push(update)
    fake_tg.push(update)  # Telegram sends it twice before we confirm it
    await fake_tg.wait_text(8500, "Mỗi xã một sản phẩm")
    await app.wait_quiet("telegram:8500")
    await eventually(lambda: app.pipeline._idle.is_set())
    assert len([m for m in fake_tg.to(8500) if "Mỗi xã một sản phẩm" in m.text]) == 1
