"""Several real instances (`ntm-bot run`, separate processes, webhook mode) on one PostgreSQL database or
one SQLite file, and SIGTERM during a burst: every update acknowledged with 200 is answered, once."""
from __future__ import annotations

import asyncio
import collections
import datetime as dt
import random
import textwrap

import aiohttp
import pytest
import sqlalchemy as sa

from tests.conftest import MINI_KB
from tests.instances import BotProcess, metric_value, post_update, scrape

ANSWER = "Mỗi xã một sản phẩm"  # the mini KB's answer to "OCOP là gì?"
PROBE_JOB = textwrap.dedent('''
    import datetime as dt, os
    from bot.kernel.jobs import job
    from bot.storage.models import AuditLog

    @job("probe", every=dt.timedelta(seconds=1))
    def probe(session, services):
        session.add(AuditLog(at=services.clock(), actor=f"pid:{os.getpid()}", action="probe"))
''')


def _bot(tmp_path, fake, db_url, name, **kw) -> BotProcess:
    return BotProcess(tmp_path / name, fake_base_url=fake.base_url, token=fake.token, database_url=db_url,
                      kb_dir=MINI_KB, name=name, **kw)


@pytest.fixture(params=["postgres", "sqlite"])
def shared_db(request, tmp_path):
    """One database for two instances: PostgreSQL, or one SQLite file (the instances take turns on it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    return request.getfixturevalue("own_pg")


async def test_two_instances_share_one_database(shared_db, tmp_path, fake_tg):
    db_url = shared_db
    (tmp_path / "probe_job.py").write_text(PROBE_JOB)
    bots = [_bot(tmp_path, fake_tg, db_url, f"i{n}", preload=("probe_job",), pythonpath=(str(tmp_path),))
            for n in (1, 2)]
    try:
        for b in bots:
            b.start()  # both migrate at once: PostgreSQL's advisory lock (SQLite: the turns) serialises them
        await asyncio.gather(*(b.wait_ready() for b in bots))
        async with aiohttp.ClientSession() as http:
            # the same update POSTed to both instances at once: stored once, answered once
            same = fake_tg.make_message(9100, "OCOP là gì?")
            codes = await asyncio.gather(*(post_update(http, b.url, same) for b in bots for _ in range(3)))
            assert set(codes) == {200}

            # 40 chats × 3 messages, every message POSTed to both instances (redelivery on both)
            questions = ["OCOP là gì?", "ocop 3 sao la bao nhieu diem", "Đóng góp xây dựng nông thôn mới có bắt buộc không?"]

            async def citizen(chat: int) -> None:
                for q in questions:
                    upd = fake_tg.make_message(chat, q)
                    order = bots[:] if random.random() < 0.5 else bots[::-1]
                    assert set(await asyncio.gather(*(post_update(http, b.url, upd) for b in order))) == {200}

            chats = list(range(9200, 9240))
            await asyncio.gather(*(citizen(c) for c in chats))
            await fake_tg.wait_for(lambda m: m.chat_id == "9100" and ANSWER in m.text)
            await fake_tg.wait_for(lambda m: m.chat_id in {str(c) for c in chats}, count=len(chats) * 3, timeout=30)
            await asyncio.sleep(1.0)  # a duplicate, if any, would show up now
            per_chat = collections.Counter(m.chat_id for m in fake_tg.sent)
            assert per_chat["9100"] == 1
            for c in chats:
                texts = [m.text for m in fake_tg.to(c)]
                assert len(texts) == 3, (c, texts)  # each message answered exactly once …
                assert ANSWER in texts[0] and "50 đến dưới 70" in texts[1] and "tự nguyện" in texts[2]  # … in order

            # the outbox work was shared: both processes sent, and together exactly what the fake received
            pages = [await scrape(http, b.url) for b in bots]
            sent = [metric_value(p, "ntm_messages_sent_total", channel="telegram") for p in pages]
            assert all(n > 0 for n in sent), sent
            assert sum(sent) == len([m for m in fake_tg.sent if m.method == "sendMessage"])
            stored = sum(metric_value(p, "ntm_updates_received_total", result="stored") for p in pages)
            dups = sum(metric_value(p, "ntm_updates_received_total", result="duplicate") for p in pages)
            assert stored == 1 + len(chats) * 3 and dups == 5 + len(chats) * 3
            # database gauges agree whichever instance answers
            assert metric_value(pages[0], "ntm_inbox_pending") == metric_value(pages[1], "ntm_inbox_pending") == 0

        # the probe job (every second; the scheduler ticks every 5 s) ran once per occurrence
        await asyncio.sleep(6)
        engine = sa.create_engine(db_url)
        with engine.connect() as c:
            runs = c.execute(sa.text("SELECT at, actor FROM audit_log WHERE action = 'probe' ORDER BY at")).all()
            events = c.execute(sa.text("SELECT count(*), count(DISTINCT event_key) FROM inbound_event")).one()
        engine.dispose()
        assert len(runs) >= 2
        ats = [r.at if isinstance(r.at, dt.datetime) else dt.datetime.fromisoformat(r.at) for r in runs]  # SQLite: text
        gaps = [(b - a).total_seconds() for a, b in zip(ats, ats[1:])]
        assert min(gaps) >= 0.9, gaps  # never two runs of one occurrence
        assert events[0] == events[1] == 1 + len(chats) * 3
    finally:
        for b in bots:
            b.stop_now()
    for b in bots:
        assert fake_tg.token not in b.log() and "ops-Secret" not in b.log()


async def test_sigterm_during_a_burst_loses_no_acknowledged_update(tmp_path, fake_tg):
    db_url = f"sqlite:///{tmp_path / 'burst.sqlite3'}"
    bot = _bot(tmp_path, fake_tg, db_url, "burst").start()
    await bot.wait_ready()
    status: dict[int, int] = {}
    chats = list(range(9500, 9800))
    sem = asyncio.Semaphore(24)
    async with aiohttp.ClientSession() as http:
        async def one(chat: int) -> None:
            async with sem:
                status[chat] = await post_update(http, bot.url, fake_tg.make_message(chat, "OCOP là gì?"), timeout=20)
                if len(status) == 100:
                    bot.signal()  # SIGTERM in the middle of the burst

        await asyncio.gather(*(one(c) for c in chats))
    assert await bot.wait_exit(30) == 0
    acked = [c for c, code in status.items() if code == 200]
    refused = [c for c, code in status.items() if code != 200]
    assert len(acked) >= 100 and refused  # the burst really straddled the shutdown
    assert all(code in (0, 503) for c, code in status.items() if code != 200)

    restarted = _bot(tmp_path, fake_tg, db_url, "burst").start()
    try:
        await restarted.wait_ready()
        acked_ids = {str(c) for c in acked}
        await fake_tg.wait_for(lambda m: m.chat_id in acked_ids and ANSWER in m.text, count=len(acked), timeout=30)
        await asyncio.sleep(0.5)
        for c in acked:
            assert len(fake_tg.to(c)) == 1, c  # answered, and only once
    finally:
        restarted.stop_now()
    assert fake_tg.token not in bot.log() + restarted.log()
