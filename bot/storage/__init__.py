"""Durable state: SQLModel tables, the engine, migrations."""
