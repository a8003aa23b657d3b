"""What differs between SQLite and PostgreSQL, said once: the dialect's INSERT (for ON CONFLICT) and
insert-or-ignore, with or without reading the row back."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

M = TypeVar("M")
_INSERTS: dict[str, Callable[[Any], Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_for(dialect: str, table: Any) -> Any:
    """The INSERT of a dialect (`on_conflict_do_nothing` and `returning` included); for statements built once."""
    return _INSERTS[dialect](table)


def insert(session: Session, table: Any) -> Any:
    """The INSERT of the session's dialect."""
    return insert_for(dialect_name(session), table)


def insert_ignore(session: Session, table: Any, values: dict[str, Any], conflict: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True if a row was inserted.

    RETURNING tells for sure: with SQLAlchemy 2.1 + psycopg the rowcount of this statement is -1 (unknown).
    """
    stmt = insert(session, table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    return session.execute(stmt.returning(sa.literal_column("1"))).first() is not None


def ensure_row(session: Session, model: type[M], values: dict[str, Any], conflict: list[str],
               stmt: Any = None) -> M:
    """The row of `model` whose `conflict` columns hold `values`' ones, inserted with `values` when there is none
    (a concurrent insert by another transaction is not an error: its row is read back). `stmt`, when given,
    is the SELECT that reads it back (e.g. with FOR UPDATE)."""
    insert_ignore(session, model.__table__, values, conflict)  # type: ignore[attr-defined]  # table models get __table__ from SQLModel's metaclass
    if stmt is None:
        stmt = select(model).where(*[getattr(model, c) == values[c] for c in conflict])
    return session.exec(stmt).one()
