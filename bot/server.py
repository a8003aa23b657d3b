"""The HTTP routes of the one aiohttp app: webhooks (added by adapters), health, readiness, metrics.

    /healthz  liveness: the process answers (restart it if not)
    /readyz   readiness: accepting, database reachable, at least one channel configured (503 otherwise:
              take the instance out of the load balancer); also reports the inbox/outbox backlog
    /metrics  Prometheus text format (see bot.metrics for what is per process and what is shared)
    /congkhai the public results page (handlers/results/page.py)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from aiohttp import web

from bot import metrics

if TYPE_CHECKING:
    from bot.app import App


def backlog(session: Any, now: Any) -> dict[str, Any]:
    from bot.storage.models import InboundEvent, OutboxMessage

    o, i = OutboxMessage.__table__, InboundEvent.__table__
    out_n, out_oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(o.c.created_at)).where(o.c.status.in_(("pending", "sending")))
    ).one()
    in_n, in_oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(i.c.received_at)).where(i.c.status == "pending")
    ).one()
    return {
        "outbox_pending": out_n,
        "outbox_oldest_age_s": round(metrics.age_seconds(out_oldest, now), 1),
        "inbox_pending": in_n,
        "inbox_oldest_age_s": round(metrics.age_seconds(in_oldest, now), 1),
    }


def add_routes(app: "App") -> None:
    async def healthz(_: web.Request) -> web.Response:
        """Liveness: the process answers."""
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        """Readiness: accepting, the database answers, channels are configured, the KB is loaded."""
        if not app.accepting:
            return web.json_response({"status": "shutting down"}, status=503)
        try:
            info = await app.db.run(backlog, app.services.clock())
        except Exception as err:  # noqa: BLE001
            return web.json_response({"status": "database unavailable", "error": type(err).__name__}, status=503)
        body = {"status": "ready", "channels": sorted(app.adapters), "kb_entries": len(app.kb.entries), **info,
                "loops": {name: app.loops.down.get(name, "ok") for name in sorted(app.loops.tasks)}}
        if app.loops.down:  # a background loop crashed and waits to restart: nothing may be flowing
            body["status"] = "loop down: " + ", ".join(sorted(app.loops.down))
            return web.json_response(body, status=503)
        if not app.adapters:
            body["status"] = "no channel configured"
            return web.json_response(body, status=503)
        return web.json_response(body)

    async def metrics_page(_: web.Request) -> web.Response:
        try:
            families = await app.db.run(metrics.read_db_gauges, app.services.clock())
        except Exception:  # noqa: BLE001 - still serve the process counters
            families = []
        return web.Response(body=metrics.render(families), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})

    app.web.router.add_get("/healthz", healthz)
    app.web.router.add_get("/readyz", readyz)
    app.web.router.add_get("/metrics", metrics_page)

    from handlers.results.page import add_routes as add_results_page  # GET /congkhai: the public results page

    add_results_page(app)
