"""Reference point: a bare aiogram echo bot, webhook on aiohttp, replies to the (fake) Bot API."""
from __future__ import annotations

import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web


def main(port: int, base: str, token: str, secret: str) -> None:
    server = TelegramAPIServer.from_base(base.removesuffix("/bot"))
    bot = Bot(token, session=AiohttpSession(api=server))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    app = web.Application()
    app.router.add_get("/readyz", lambda r: web.Response(text="ok"))
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path="/telegram/webhook")
    setup_application(app, dp, bot=bot)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
