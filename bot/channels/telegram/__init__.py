"""Telegram through python-telegram-bot: typed Bot API calls, error classes, long polling.

PTB's `Application`/`Updater` are not used: their in-memory update queue is dropped on `stop()` and the
Updater confirms a polling offset before our handler has stored the update, so a crash would lose
messages. Instead every update goes through the durable inbox (`App.submit`) before it is acknowledged,
and every send goes through the durable outbox. PTB's HTTP goes through `AiohttpRequest`, on the app's
one shared aiohttp session (PTB's default httpx stack is the bottleneck of a webhook bot).

Modules: `http` (PTB's request layer on the shared aiohttp session), `inbound` (updates to `Inbound`), `send`
(rendering and sending), `adapter` (lifecycle, polling, webhook). Registered here as every channel is.
"""
from __future__ import annotations

import logging

from bot.channels.telegram.adapter import TelegramChannel
from bot.kernel.channel import CHANNELS, Caps, ChannelSpec, Host
from bot.kernel.messages import TELEGRAM

log = logging.getLogger(__name__)


def _from_settings(host: Host) -> TelegramChannel:
    if not host.settings.staff_chat_id:
        log.warning("STAFF_CHAT_ID is not set: new tickets wait for the local staff room (`ntm-bot chat --staff`)")
    return TelegramChannel(host)


CHANNELS.register(ChannelSpec(
    TELEGRAM, Caps(buttons=True, max_len=4000),  # 4096 minus room for HTML entities
    title="Telegram", configured=lambda s: bool(s.telegram_bot_token), factory=_from_settings, audience=True, broadcast_rate=lambda s: s.broadcast_telegram_rate))
