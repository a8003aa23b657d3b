"""A whole channel in one module, to show what adding a platform takes: its name, what it can show (Caps), its
own settings (ECHO_*), its webhook route and its sender, registered with the kernel's channel registry. No
other file knows it. The "platform" is any HTTP server at ECHO_REPLY_URL that takes the replies.

    inbound   POST /echo/webhook  {"id": 1, "chat": "c1", "name": "…", "text": "…"}   (header X-Echo-Secret)
    outbound  POST ECHO_REPLY_URL {"chat": "c1", "text": "…"} -> {"id": …}; 429 / 5xx are retried
"""
from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.kernel.channel import CHANNELS, Busy, Caps, ChannelAdapter, ChannelSpec, Host, SendResult
from bot.kernel.messages import Inbound

ECHO = "echo"


class EchoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ECHO_", env_file=None)

    reply_url: str = ""  # where replies are posted; the channel is configured when it is set
    secret: str = ""  # the webhook's shared secret


class EchoChannel(ChannelAdapter):
    name = ECHO

    def __init__(self, host: Host):
        self.host = host
        self.settings = EchoSettings()

    def routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/echo/webhook", self.webhook)]

    async def webhook(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Echo-Secret", "") != self.settings.secret:
            return web.Response(status=401)
        body = await request.json()
        chat = str(body["chat"])
        inbound = Inbound(channel=ECHO, chat_id=chat, user_id=chat, display_name=str(body.get("name", "")),
                          text=str(body.get("text", "")), message_id=str(body["id"]), event_key=f"m{body['id']}")
        try:
            await self.host.submit(inbound)  # committed before the platform hears "ok"
        except Busy:
            return web.Response(status=503)
        return web.json_response({"ok": True})

    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        if payload.get("kind") == "callback_answer":
            return SendResult(True)
        try:
            async with self.host.http.post(self.settings.reply_url,
                                           json={"chat": chat_id, "text": payload.get("text") or ""}) as r:
                if r.status == 429:
                    return SendResult(False, retry_after=0.2, error="HTTP 429")
                if r.status >= 500:
                    return SendResult(False, error=f"HTTP {r.status}")
                if r.status >= 400:
                    return SendResult(False, permanent=True, error=f"HTTP {r.status}")
                return SendResult(True, message_id=str((await r.json()).get("id")))
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            return SendResult(False, error=f"{type(err).__name__}: {err}")


SPEC = CHANNELS.register(ChannelSpec(
    ECHO, Caps(buttons=False, max_len=500, markup=False), title="Echo (thử nghiệm)",
    configured=lambda settings: bool(EchoSettings().reply_url), factory=EchoChannel))
