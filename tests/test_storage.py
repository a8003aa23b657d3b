"""Schema and migrations: the same migrations build the same schema on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.storage.all_models import metadata
from bot.storage.db import Database


def _diff(db: Database) -> list:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": db.is_sqlite})
        return compare_metadata(ctx, metadata)


def test_sqlite_migrations_match_models(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    db.migrate()
    db.migrate()  # idempotent
    assert _diff(db) == []
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()


def test_postgres_migrations_match_models(pg_url):
    db = Database(pg_url)
    db.migrate()
    assert _diff(db) == []
    db.dispose()


async def test_conversation_on_postgres(pg_url, tmp_path, fake_tg, make_app):
    from tests.conftest import tg_settings

    app = await make_app(tg_settings(tmp_path, fake_tg, database_url=pg_url))
    assert app.db.is_postgres
    fake_tg.push(fake_tg.make_message(8101, "OCOP là gì?"))
    await fake_tg.wait_text(8101, "Mỗi xã một sản phẩm")


def test_new_row_is_stored_like_a_constructed_one(tmp_path):
    """`new_row` (the hot path's constructor) stores the same row as the model's own __init__."""
    import datetime as dt

    from sqlmodel import Session

    from bot.storage.models import OutboxMessage, new_row

    db = Database(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    db.migrate()
    at = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.timezone.utc)
    values = {"channel": "telegram", "chat_id": "7", "chat_key": "telegram:7", "payload": {"text": "Chào bà con"},
              "created_at": at, "next_attempt_at": at, "ref": "PA-1"}
    with Session(db.engine) as s:
        fast, slow = new_row(OutboxMessage, dict(values)), OutboxMessage(**values)
        fast.chat_key += "#1"  # callers adjust queued rows (lanes) before the flush
        slow.chat_key += "#1"
        s.add_all([fast, slow])
        s.commit()
        a, b = s.get(OutboxMessage, fast.id), s.get(OutboxMessage, slow.id)
        s.expire_all()
        cols = [c.name for c in OutboxMessage.__table__.columns if c.name != "id"]
        assert {c: getattr(a, c) for c in cols} == {c: getattr(b, c) for c in cols}
        assert a.status == "pending" and a.attempts == 0 and a.chat_key == "telegram:7#1" and a.kind == "reply"
    db.dispose()


def test_a_transactions_replies_go_in_one_insert_on_sqlite(tmp_path):
    """On SQLite the outbox keys are taken in the transaction (max + 1), so a transaction's replies are one
    INSERT; keys stay unique across transactions, after a rolled-back savepoint and after another writer's row."""
    from sqlalchemy import event
    from sqlmodel import Session, select

    from bot.kernel import inbox
    from bot.kernel.messages import Reply
    from bot.storage.models import OutboxMessage

    db = Database(f"sqlite:///{tmp_path / 'o.sqlite3'}")
    db.migrate()
    inserts: list[object] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda conn, cur, stmt, params, ctx, many: inserts.append(params) if stmt.startswith("INSERT INTO outbox") else None)

    def queue(session, chats):
        return [r.id for c in chats for r in inbox.deliver(session, Reply(f"Chào {c}", channel="telegram", chat_id=str(c)))]

    first = db.call(queue, [1, 2, 3])
    assert len(inserts) == 1 and len(inserts[0]) == 3 and first == [1, 2, 3]

    def with_rollback(session):
        sp = session.begin_nested()
        inbox.deliver(session, Reply("bỏ", channel="telegram", chat_id="4"))
        session.flush()
        sp.rollback()
        return queue(session, [5])

    kept = db.call(with_rollback)
    with Session(db.engine) as s:  # another writer (a CLI command) adds a row the ordinary way
        other = OutboxMessage(channel="telegram", chat_id="9", chat_key="telegram:9", payload={"text": "khác"})
        s.add(other)
        s.commit()
        other_id = other.id
    later = db.call(queue, [6, 7])
    ids = first + kept + [other_id] + later
    assert len(set(ids)) == len(ids) == 7 and later[0] > other_id

    # One session, two transactions, another writer in between; and a reply queued before any write.
    with Session(db.engine) as s, Session(db.engine) as w:
        a = queue(s, [10])
        s.commit()
        w.add(OutboxMessage(channel="telegram", chat_id="11", chat_key="telegram:11", payload={"text": "khác"}))
        w.commit()
        b = queue(s, [12])
        s.commit()
    assert b[0] > a[0] + 1
    with Session(db.engine) as s:
        texts = {r.chat_id: r.payload["text"] for r in s.exec(select(OutboxMessage))}
        raw = s.connection().exec_driver_sql("SELECT payload FROM outbox WHERE chat_id = '1'").scalar()
    assert '"text":"Chào 1"' in raw  # stored as written, not as \u escapes
    assert texts == {"1": "Chào 1", "2": "Chào 2", "3": "Chào 3", "5": "Chào 5", "9": "khác", "6": "Chào 6", "7": "Chào 7",
                     "10": "Chào 10", "11": "khác", "12": "Chào 12"}
    db.dispose()


def test_bot_instances_on_one_sqlite_file_take_turns(tmp_path):
    """Two bot processes on one SQLite file: a transaction waits for the other instance's to end, then sees
    its rows (without turns it would read around it, and a write would poll SQLite's busy lock)."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'turns.sqlite3'}"
    db = Database(url, take_turns=True)
    db.call(lambda s: s.execute(sa.text("CREATE TABLE turn (x TEXT)")))
    other = textwrap.dedent(f"""
        import time
        import sqlalchemy as sa
        from bot.storage.db import Database

        def slow(session):
            session.execute(sa.text("INSERT INTO turn VALUES ('a')"))
            print("holding", flush=True)
            time.sleep(0.5)
            session.execute(sa.text("INSERT INTO turn VALUES ('b')"))

        Database({url!r}, take_turns=True).call(slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", other], stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert proc.stdout.readline().strip() == b"holding"
        seen = db.call(lambda s: sorted(x for (x,) in s.execute(sa.text("SELECT x FROM turn"))))
        assert seen == ["a", "b"]
    finally:
        assert proc.wait(10) == 0
        db.dispose()
