"""Tickets on PostgreSQL: the migrations, a report end to end, and codes unique across instances."""
from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from bot.features.tickets import service as ticketing
from bot.storage.db import Database
from bot.storage.tickets import Ticket
from tests.conftest import make_settings
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, file_report, ticket_settings, wait_card


async def test_report_loop_on_postgres(pg_url, tmp_path, fake_tg, make_app):
    import itertools

    # The PostgreSQL database is shared by the session's tests; a new fake Bot API would reuse update ids
    # that an earlier test already stored (and the inbox would rightly ignore them as redeliveries).
    fake_tg._update_ids = itertools.count(10_000_000)
    app = await make_app(ticket_settings(tmp_path, fake_tg, database_url=pg_url, staff_forum_topics=True,
                                         staff_topics_per_minute=120))
    assert app.db.is_postgres
    d = Driver(fake_tg, app)
    farmer = Person(d, 8201)
    code = await file_report(farmer)
    card = await wait_card(fake_tg, code)
    await Person(d, STAFF, user_id=OFFICER).say("Đã chuyển xã xử lý.", thread_id=card.thread_id)
    await farmer.expect("Đã chuyển xã xử lý")


def test_codes_are_unique_across_instances(pg_url, tmp_path):
    """Several instances file tickets at once: every code is distinct, and topic slots never collide."""
    settings = make_settings(tmp_path, database_url=pg_url, staff_chat_id="-1001", telegram_bot_token="1:x",
                             staff_forum_topics=True, staff_topics_per_minute=60)
    dbs = [Database(pg_url) for _ in range(3)]
    dbs[0].migrate()
    cat = ticketing.categories(settings)[0]
    now = dt.datetime.now(dt.timezone.utc)

    def file(session, i):
        t, _ = ticketing.create_ticket(session, settings, now, channel="telegram", chat_id=str(i), user_id=str(i),
                                       draft_key=f"telegram:{i}:d", category=cat, description="Đèn đường ấp 1 hỏng")
        return t.code

    async def run():
        return await asyncio.gather(*(dbs[i % 3].run(file, i) for i in range(60)))

    codes = asyncio.run(run())
    assert len(set(codes)) == 60 and all(c.startswith("PA-") and len(c) == 9 for c in codes)
    with dbs[0].engine.connect() as c:  # (the database is shared with the other PostgreSQL tests)
        slots = c.execute(sa.text("SELECT next_attempt_at FROM outbox WHERE chat_key LIKE '%/topics' AND ref = ANY(:codes) "
                                  "ORDER BY next_attempt_at"), {"codes": codes}).scalars().all()
        assert c.execute(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.draft_key.like("telegram:%:d"))).scalar_one() == 60
    assert len(slots) == 60
    assert all((b - a).total_seconds() >= 0.99 for a, b in zip(slots, slots[1:]))  # 60/min, even across instances
    for db in dbs:
        db.dispose()
