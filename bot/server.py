"""The HTTP routes of the one aiohttp app: webhooks (added by adapters), health and readiness."""
from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from aiohttp import web

if TYPE_CHECKING:
    from bot.app import App


def add_routes(app: "App") -> None:
    async def healthz(_: web.Request) -> web.Response:
        """Liveness: the process answers."""
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        """Readiness: the database answers and the knowledge base is loaded."""
        try:
            await app.db.run(lambda s: s.execute(sa.text("SELECT 1")).scalar_one())
        except Exception as err:  # noqa: BLE001
            return web.json_response({"status": "database unavailable", "error": type(err).__name__}, status=503)
        return web.json_response(
            {"status": "ready", "channels": sorted(app.adapters), "kb_entries": len(app.kb.entries)}
        )

    app.web.router.add_get("/healthz", healthz)
    app.web.router.add_get("/readyz", readyz)
