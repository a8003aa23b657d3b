"""A local HTTP server on a free port, for the fake platform APIs (and test receivers): start, base URL, stop."""
from __future__ import annotations

from aiohttp import web


class LocalServer:
    """Subclasses add routes in `setup(app)`; `start()` serves them on 127.0.0.1 and returns the base URL."""

    client_max_size = 50 * 1024 * 1024

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0

    def setup(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application(client_max_size=self.client_max_size)
        self.setup(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp keeps it private
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None
