"""A new channel is one module: tests/channels/echo.py registers itself (name, Caps, settings, route) and talks
through the real server, inbox, pipeline and outbox, without any other file knowing it."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from bot.kernel import texts
from bot.kernel.channel import CHANNELS
from tests.conftest import MINI_KB, eventually
from tests.fakes.server import LocalServer

ANSWER = "Mỗi xã một sản phẩm"  # the mini KB's answer to "OCOP là gì?"


class Receiver(LocalServer):
    """The echo "platform": takes the bot's replies; the first `fail` of them get a 503."""

    def __init__(self, fail: int = 0):
        super().__init__()
        self.got: list[dict[str, str]] = []
        self.fail = fail

    def setup(self, app: web.Application) -> None:
        app.router.add_post("/send", self._send)

    async def _send(self, request: web.Request) -> web.Response:
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=503)
        self.got.append(await request.json())
        return web.json_response({"id": len(self.got)})

    def texts_to(self, chat: str) -> list[str]:
        return [m["text"] for m in self.got if m["chat"] == chat]


@pytest.fixture
async def echo(monkeypatch):
    receiver = Receiver(fail=1)
    await receiver.start()
    monkeypatch.setenv("ECHO_REPLY_URL", receiver.base_url + "/send")
    monkeypatch.setenv("ECHO_SECRET", "s3cret")
    from tests.channels import echo as module  # registers the channel

    CHANNELS.register(module.SPEC)  # again, if an earlier test unregistered it
    yield receiver
    CHANNELS.unregister(module.ECHO)
    await receiver.stop()


async def _post(app, body: dict, secret: str = "s3cret") -> int:
    url = f"http://127.0.0.1:{app.settings.http_port}/echo/webhook"
    async with aiohttp.ClientSession() as s, s.post(url, json=body, headers={"X-Echo-Secret": secret}) as r:
        return r.status


async def test_a_channel_registered_by_its_own_module_answers_through_the_pipeline(echo, make_app):
    app = await make_app(kb_dir=MINI_KB)
    assert "echo" in app.adapters  # built from the registry because ECHO_REPLY_URL is set
    assert await _post(app, {"id": 1, "chat": "c1", "text": "OCOP là gì?"}, secret="wrong") == 401
    assert await _post(app, {"id": 1, "chat": "c1", "name": "Lan", "text": "OCOP là gì?"}) == 200
    assert await _post(app, {"id": 1, "chat": "c1", "name": "Lan", "text": "OCOP là gì?"}) == 200  # redelivered
    await eventually(lambda: any(ANSWER in t for t in echo.texts_to("c1")))  # after one 503, retried
    await asyncio.sleep(0.3)
    assert sum(ANSWER in t for t in echo.texts_to("c1")) == 1  # the redelivery was not answered again
    # No buttons on this channel (its Caps): the menu comes as numbered choices, and a number picks one.
    assert await _post(app, {"id": 2, "chat": "c1", "text": "/start"}) == 200
    menu = await eventually(lambda: [t for t in echo.texts_to("c1") if texts.OPTIONS_HINT in t])
    assert "1. " in menu[0] and "**" not in menu[0]  # no markup either
    assert all(len(t) <= 500 for t in echo.texts_to("c1"))  # its max_len
    assert CHANNELS.title("echo") == "Echo (thử nghiệm)"


async def test_an_unconfigured_channel_gets_no_adapter(echo, make_app, monkeypatch):
    monkeypatch.delenv("ECHO_REPLY_URL")
    app = await make_app(kb_dir=MINI_KB)
    assert "echo" not in app.adapters
    assert CHANNELS.caps("echo").max_len == 500  # still known (its replies are shaped for it)
