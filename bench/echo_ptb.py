"""Reference point: a bare python-telegram-bot echo bot (Application, default httpx request), webhook
route on aiohttp, replies to the (fake) Bot API."""
from __future__ import annotations

import asyncio
import sys

from aiohttp import web
from telegram import Update
from telegram.ext import Application, MessageHandler, filters


async def main(port: int, base: str, token: str, secret: str) -> None:
    application = Application.builder().token(token).base_url(base).updater(None).concurrent_updates(True).build()

    async def echo(update: Update, _ctx: object) -> None:
        await update.effective_message.reply_text(update.effective_message.text or "?")

    application.add_handler(MessageHandler(filters.ALL, echo))

    async def hook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/telegram/webhook", hook)
    app.router.add_get("/readyz", lambda r: web.Response(text="ok"))
    async with application:
        await application.start()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
