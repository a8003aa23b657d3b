"""Which tickets an officer may see (Luật 91/2025/QH15: only their own communes' citizens' data).

An officer attached to communes sees the tickets of those communes; the provincial office (supervisors,
admins, and officers attached to no commune) sees every ticket, including those whose commune is unknown."""
from __future__ import annotations

from typing import Any

from bot.features.console.accounts import Officer
from bot.storage.tickets import Ticket


def may_see(officer: Officer, ticket: Ticket) -> bool:
    return officer.provincial or (ticket.commune_code or "") in officer.communes


def scope(query: Any, officer: Officer) -> Any:
    """`query` (a SELECT over ticket) narrowed to what the officer may see."""
    if officer.provincial:
        return query
    return query.where(Ticket.commune_code.in_(officer.communes))  # type: ignore[union-attr]
