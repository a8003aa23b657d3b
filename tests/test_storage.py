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
