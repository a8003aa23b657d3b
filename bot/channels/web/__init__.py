"""The web chat channel: `GET /chat` (a page for phones first), `GET /chat/widget.js` (one script tag on a portal
page), on the same core as Telegram and Zalo. See `channel.py` for how messages flow."""
from __future__ import annotations

from typing import TYPE_CHECKING

WEB = "web"

if TYPE_CHECKING:
    from bot.app import App


def register(app: "App") -> None:
    """Add the adapter and its routes to the app (called by `App.configure_channels`)."""
    from bot.channels.web.channel import WebChannel
    from bot.channels.web.routes import add_routes

    channel = WebChannel(app)
    app.add_adapter(channel)
    add_routes(app, channel)
