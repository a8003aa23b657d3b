"""SIGKILL with replies in flight, then a restart: a dead instance's claims are taken over at once.

The fake Bot API takes every send and then does not answer (the bot's 60 s read timeout keeps waiting), so the
killed instance leaves its replies `sending` under its name, and more queued behind them. Restarted (and, on
PostgreSQL, next to a second instance that never stopped), every one of those replies reaches its chat within
5 s: nobody waits for the 120 s lease (OUTBOX_LEASE_SECONDS, the production default, is not lowered here).
Each may arrive twice (it was in flight), none is lost.
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
import sqlalchemy as sa

from tests.conftest import MINI_KB
from tests.instances import BotProcess, post_update

ANSWER = "Mỗi xã một sản phẩm"
CHATS = 12


def _env() -> dict[str, str]:
    return {"TELEGRAM_READ_TIMEOUT": "60", "TELEGRAM_CHAT_RATE": "50", "TELEGRAM_CHAT_BURST": "10",
            "LOG_LEVEL": "WARNING", "OUTBOX_LEASE_SECONDS": "120"}


def _sending_by_owner(url: str) -> dict[str, int]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as c:
            return dict(c.execute(sa.text(
                "SELECT claimed_by, count(*) FROM outbox WHERE status = 'sending' GROUP BY claimed_by")).all())
    finally:
        engine.dispose()


async def _dead_claims_gone(db_url: str, dead: set[str], timeout: float = 5.0) -> None:
    """No row is left `sending` under a killed instance's name. (Rows `sending` under the living instance's name are
    its own sends in flight: asserting that nothing at all is `sending` right after the chats were answered raced
    with them.)"""
    deadline = time.monotonic() + timeout
    while (left := {o: n for o, n in _sending_by_owner(db_url).items() if o in dead}):
        assert time.monotonic() < deadline, left
        await asyncio.sleep(0.1)


async def _kill_mid_delivery(fake, bot: BotProcess, db_url: str, chats: list[int]) -> set[str]:
    """Two questions per chat to `bot`; its sends hang (taken by the platform, never answered); SIGKILL. Returns the
    names its claims carry."""
    fake.fault_fn = lambda method, params: ("slow", 600.0) if method == "sendMessage" else None
    async with aiohttp.ClientSession() as http:
        for chat in chats:
            for _ in range(2):
                assert await post_update(http, bot.url, fake.make_message(chat, "OCOP là gì?")) == 200
    deadline = time.monotonic() + 20
    while sum(_sending_by_owner(db_url).values()) < len(chats):  # the first reply of every chat is claimed
        assert time.monotonic() < deadline, _sending_by_owner(db_url)
        await asyncio.sleep(0.1)
    assert bot.proc is not None
    owners = {o for o in _sending_by_owner(db_url) if o.split(":")[1:2] == [str(bot.proc.pid)]}  # host:pid:token
    assert owners
    bot.kill()
    await bot.wait_exit(10)
    fake.fault_fn = None
    return owners


async def _all_answered_after(fake, chats: list[int], since: float, timeout: float) -> float:
    """Seconds until every chat got both its answers (sent after `since`)."""
    deadline = since + timeout
    while True:
        got = {c: sum(1 for m in fake.to(c) if m.at >= since and ANSWER in m.text) for c in chats}
        if all(n >= 2 for n in got.values()):
            return time.monotonic() - since
        if time.monotonic() > deadline:
            raise AssertionError(f"not every chat answered within {timeout}s: {got}")
        await asyncio.sleep(0.05)


async def test_sqlite_restart_takes_over_the_dead_instances_claims(tmp_path, fake_tg):
    db_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    bot = BotProcess(tmp_path / "i1", fake_base_url=fake_tg.base_url, token=fake_tg.token, database_url=db_url,
                     kb_dir=MINI_KB, env=_env())
    chats = [8100 + i for i in range(CHATS)]
    try:
        bot.start()
        await bot.wait_ready()
        dead = await _kill_mid_delivery(fake_tg, bot, db_url, chats)
        restarted = time.monotonic()
        bot.start()
        took = await _all_answered_after(fake_tg, chats, restarted, 15)
        assert took <= 5.0, took  # from the restart (process start-up included)
        await _dead_claims_gone(db_url, dead)
    finally:
        bot.stop_now()
    assert "Traceback" not in bot.log()


async def test_postgresql_two_instances_take_over_at_once(tmp_path, fake_tg, own_pg):
    bots = [BotProcess(tmp_path / f"i{n}", fake_base_url=fake_tg.base_url, token=fake_tg.token, database_url=own_pg,
                       kb_dir=MINI_KB, env=_env(), name=f"i{n}") for n in (1, 2)]
    chats = [8200 + i for i in range(CHATS)]
    try:
        for b in bots:
            b.start()
        await asyncio.gather(*(b.wait_ready() for b in bots))
        dead = await _kill_mid_delivery(fake_tg, bots[0], own_pg, chats)
        killed = time.monotonic()
        bots[0].start()  # restarted at once, as systemd does
        took = await _all_answered_after(fake_tg, chats, killed, 15)
        assert took <= 5.0, took
        await bots[0].wait_ready()
        await _dead_claims_gone(own_pg, dead)
    finally:
        for b in bots:
            b.stop_now()
    assert all("Traceback" not in b.log() for b in bots)
