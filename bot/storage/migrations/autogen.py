"""Developer helper: write a new migration from the difference between the models and a fresh database.

    python -m bot.migrations.autogen "add ticket table"

Creates a scratch SQLite database at the current head, compares it with the models, and writes the
revision file into bot/migrations/versions/.
"""
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.storage.db import Database
from bot.storage.migrations import __path__ as _mig_path


def main() -> None:
    message = " ".join(sys.argv[1:]) or "schema change"
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'autogen.sqlite3'}")
        db.migrate()
        cfg = Config()
        cfg.set_main_option("script_location", _mig_path[0])
        with db.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True)
        db.dispose()


if __name__ == "__main__":
    main()
