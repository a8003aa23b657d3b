"""The web chat channel: `GET /chat` (a page for phones first), `GET /chat/widget.js` (one script tag on a portal
page), on the same core as Telegram and Zalo. See `channel.py` for how messages flow.

Registered here as every channel is: its name, what it can show, its settings and its routes. It is on by
default (WEB_CHAT_ENABLED) and not standalone: with no other channel configured, `ntm-bot run` opens the
terminal chat and serves the web chat beside it. Citizens do not subscribe to broadcasts here."""
from __future__ import annotations

from bot.channels.web import models  # noqa: F401  (registers the photos' eraser and retention job)
from bot.channels.web.channel import WebChannel
from bot.channels.web.routes import build_routes
from bot.kernel.channel import CHANNELS, Caps, ChannelSpec, Host
from bot.kernel.messages import WEB


def _adapter(host: Host) -> WebChannel:
    channel = WebChannel(host)
    channel.route_table = build_routes(host, channel)
    return channel


CHANNELS.register(ChannelSpec(
    WEB, Caps(buttons=True, max_len=4000, broadcasts=False),  # buttons as buttons, **bold** as <strong>
    title="trang web", configured=lambda s: bool(s.web_chat_enabled), factory=_adapter, standalone=False))
