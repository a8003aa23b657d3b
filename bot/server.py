"""The one aiohttp server: its runner (a cap on open connections) and its routes: webhooks (added by
adapters, `ChannelAdapter.routes`), health, readiness, metrics.

    /healthz  liveness: the process answers (restart it if not)
    /readyz   readiness: accepting, database reachable, at least one channel configured (503 otherwise:
              take the instance out of the load balancer); also reports the inbox/outbox backlog
    /metrics  Prometheus text format (see bot.kernel.metrics for what is per process and what is shared)
    /congkhai the public results page (bot/pages/results.py)
    /canbo    the officers' web console (bot/pages/console/)
"""
from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bot.kernel import metrics


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


class CappedRunner(web.AppRunner):
    """aiohttp's runner with a cap on open connections (aiohttp has none): one over the cap is closed as soon as it
    is accepted, so a flood of idle or slow sockets cannot use up the file descriptors webhooks need. Slow and idle
    clients themselves are closed by aiohttp's keep-alive timeout (HTTP_KEEPALIVE_SECONDS)."""

    def __init__(self, app: web.Application, *, max_connections: int, **kwargs: Any):
        super().__init__(app, **kwargs)
        self.max_connections = max_connections
        self.refused = 0

    async def _make_server(self) -> Any:
        server = await super()._make_server()
        made = server.connection_made

        def connection_made(handler: Any, transport: Any) -> None:
            made(handler, transport)
            if len(server.connections) > self.max_connections:
                self.refused += 1
                metrics.WEBHOOK_REJECTED.labels("http", "too_many_connections").inc()
                asyncio.get_running_loop().call_soon(handler.force_close)  # once its handler task has started

        server.connection_made = connection_made  # type: ignore[method-assign]  # the connection cap wraps the server's hook on purpose
        return server


def add_routes(app: Any) -> None:  # app: the running bot.app.App (which imports this module)
    async def healthz(_: web.Request) -> web.Response:
        """Liveness: the process answers."""
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        """Readiness: accepting, the database answers, channels are configured, the KB is loaded."""
        if not app.accepting:
            return web.json_response({"status": "shutting down"}, status=503)
        try:
            info = await app.db.run(backlog, app.services.clock())
        except Exception as err:
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
        except Exception:  # still serve the process counters
            families = []
        return web.Response(body=metrics.render(families), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})

    app.web.router.add_get("/healthz", healthz)
    app.web.router.add_get("/readyz", readyz)
    app.web.router.add_get("/metrics", metrics_page)

    from bot.pages.results import add_routes as add_results_page  # GET /congkhai: the public results page

    add_results_page(app.web.router, app)

    from bot.pages.console import add_routes as add_console  # /canbo: the officers' web console

    add_console(app.web.router, app)
