"""The Telegram adapter: lifecycle (getMe, the command menu), long polling and the webhook, each update stored
through the durable inbox (`host.submit`) before it is acknowledged; sending is `send.Sending`."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import RetryAfter, TelegramError

from bot.channels.telegram.http import AiohttpRequest
from bot.channels.telegram.inbound import Forged, _int, member_change, to_inbound
from bot.channels.telegram.send import Sending, retry_seconds
from bot.kernel.channel import Busy, ChannelAdapter, cancel_quietly
from bot.kernel.messages import TELEGRAM

if TYPE_CHECKING:
    from bot.kernel.channel import Host

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class TelegramChannel(Sending, ChannelAdapter):
    name = TELEGRAM

    def __init__(self, app: "Host"):
        s = app.settings
        self.app = app
        self.token = s.telegram_bot_token
        self.bot = Bot(
            self.token,
            base_url=s.telegram_api_base_url,
            base_file_url=s.telegram_api_base_url.replace("/bot", "/file/bot"),
            request=AiohttpRequest(lambda: app.http, read_timeout=s.telegram_read_timeout),
            get_updates_request=AiohttpRequest(lambda: app.http, read_timeout=40.0),
        )
        self.global_rate = s.telegram_global_rate
        self.chat_rate = s.telegram_chat_rate
        self.chat_burst = max(1, s.telegram_chat_burst)
        self.group_per_minute = s.telegram_group_per_minute
        self._poller: asyncio.Task[None] | None = None
        self._stopping = False

    # ---------------------------------------------------------- lifecycle
    async def initialize(self) -> None:
        """getMe (with retries: the network may come up after us), then the command menu."""
        delay = 1.0
        while True:
            try:
                await self.bot.initialize()
                break
            except TelegramError as err:
                log.warning("Telegram not reachable yet (%s); retrying in %.0fs", self.redact(str(err)), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
        try:
            await self.set_commands()
        except TelegramError as err:
            log.warning("setMyCommands failed: %s", self.redact(str(err)))

    async def set_commands(self) -> None:
        commands = self.app.services.registry.commands
        citizen = [BotCommand(c.name, c.description) for c in commands.values() if c.menu and c.description]
        await self.bot.set_my_commands(citizen, scope=BotCommandScopeDefault())
        staff_chat = self.app.settings.staff_chat_id
        if staff_chat:
            staff = [BotCommand(c.name, c.description) for c in commands.values() if c.staff and c.description]
            if staff:
                await self.bot.set_my_commands(staff, scope=BotCommandScopeChat(int(staff_chat)))

    async def start(self) -> None:
        await self.initialize()
        if self.app.settings.telegram_mode == "polling":
            self._poller = self.app.spawn("telegram-poll", self.poll)

    async def stop(self) -> None:
        self._stopping = True
        await cancel_quietly(self._poller)
        try:
            await self.bot.shutdown()
        except Exception:  # best effort on shutdown
            pass

    def redact(self, text: str) -> str:
        return text.replace(self.token, "<token>") if self.token else text

    # ---------------------------------------------------------- receiving
    async def poll(self) -> None:
        """Long polling. An update is stored before the next getUpdates confirms it to Telegram."""
        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as err:
            log.warning("deleteWebhook failed: %s", self.redact(str(err)))
        offset: int | None = None
        delay = 1.0
        while not self._stopping:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as err:
                await asyncio.sleep(retry_seconds(err.retry_after))
                continue
            except TelegramError as err:
                log.warning("getUpdates failed: %s; retrying in %.0fs", self.redact(str(err)), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            for update in updates:
                if not await self._accept_polled(update):
                    return  # shutting down: the rest stays unconfirmed at Telegram
                offset = update.update_id + 1

    async def _accept_polled(self, update: Update) -> bool:
        """Store one polled update; on overload wait and retry (the offset only moves once it is stored)."""

        while True:
            try:
                try:
                    await self.accept(update.to_dict())
                except Forged:
                    log.warning("ignoring a malformed update %s from getUpdates", update.update_id)
                return True
            except Busy:
                if self._stopping or not self.app.accepting:
                    return False
                await asyncio.sleep(0.2)

    async def accept(self, data: dict[str, Any]) -> None:
        """Store one update durably (or apply a membership change). Raises Forged for a malformed update."""
        member = member_change(data)
        if member is not None:
            await self.app.set_blocked(TELEGRAM, *member)
            return
        inbound = to_inbound(data)
        if inbound is not None:
            await self.app.submit(inbound)

    def routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/telegram/webhook", self.webhook)]

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: verify the secret, store the update, answer at once.

        200 only once the update is committed (or deliberately dropped: a redelivery, flood control);
        503 while shutting down or over the channel cap, so Telegram delivers it again later.
        """
        from bot.kernel import metrics

        if not self.app.accepting:
            return web.Response(status=503, text="shutting down", headers={"Retry-After": "5"})
        from bot.channels.zalo_common import Rejected, read_body, secret_matches

        if not secret_matches(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.app.settings.telegram_webhook_secret):
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, "secret").inc()
            log.warning("telegram webhook: bad secret from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            raw = await read_body(request)  # within HTTP_BODY_SECONDS; aborted uploads are a quiet 400
        except Rejected as r:
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, r.reason).inc()
            return web.Response(status=r.status, text=r.text)
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not 0 <= _int(data.get("update_id")):
                raise Forged("not an update")
            member = member_change(data)
            inbound = None if member is not None else to_inbound(data)
        except web.HTTPException:
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, "too_large").inc()
            raise  # e.g. 413 for a body over the size limit
        except Exception:  # malformed input is the sender's problem
            metrics.WEBHOOK_REJECTED.labels(TELEGRAM, "malformed").inc()
            return web.Response(status=400, text="bad update")
        try:
            if member is not None:
                await self.app.set_blocked(TELEGRAM, *member)
            elif inbound is not None:
                await self.app.submit(inbound)
        except Busy:
            return web.Response(status=503, text="busy", headers={"Retry-After": "1"})
        return web.Response(text="ok")

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, max_connections=40)
