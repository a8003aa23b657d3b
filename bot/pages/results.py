"""`GET /congkhai` over HTTP: the public results page (collected and rendered by `bot.features.results.page`),
its stylesheet and icon; only GET (and HEAD), a rate limit per client address, the security headers."""
from __future__ import annotations

import math
from typing import Any, Callable

from aiohttp import web

from bot.features.results.figures import parse_month
from bot.features.results.page import PATH, SECURITY_HEADERS, STATIC, collect, esc, num, render
from bot.features.tickets import calendar
from bot.kernel.channel import Host
from bot.pages.http import AddressLimiter, client_address


def error_page(status: int, title: str, text: str) -> web.Response:
    body = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, '
            f'initial-scale=1"><title>{esc(title)}</title><link rel="stylesheet" href="{PATH}/style.css"></head><body>'
            f'<main id="noi-dung" class="wrap"><h1>{esc(title)}</h1><p>{esc(text)}</p><p><a href="{PATH}">Về trang công khai '
            'kết quả</a></p></main></body></html>')
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


# ------------------------------------------------------------------ routes
def add_routes(router: web.UrlDispatcher, app: Host) -> None:
    limiter = AddressLimiter()
    css = (STATIC / "style.css").read_bytes()
    icon = (STATIC / "icon.svg").read_bytes()

    async def results_page(request: web.Request) -> web.Response:
        wait = limiter.take(client_address(request))
        if wait:
            resp = error_page(429, "Tải trang quá nhanh", "Bạn tải trang này quá nhiều lần trong thời gian ngắn. "
                              f"Vui lòng thử lại sau {num(math.ceil(wait))} giây.")
            resp.headers["Retry-After"] = str(math.ceil(wait))
            return resp
        now = app.services.clock()
        today = calendar.local_date(now)
        period = parse_month(request.query.get("thang", "")[:20], today)
        if period is None:
            return error_page(400, "Tháng chưa đúng", "Vui lòng chọn tháng trong danh sách, ví dụ tháng 10/2026.")
        try:
            page = max(1, min(10_000, int(request.query.get("trang", "1")[:6])))
        except ValueError:
            page = 1
        data = await app.db.run(collect, app.settings, now, period[0], period[1], page)
        body = render(data, app.settings)
        return web.Response(text=body, content_type="text/html", charset="utf-8",
                            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    def static(body: bytes, content_type: str) -> Callable[[web.Request], Any]:
        async def serve(_: web.Request) -> web.Response:
            return web.Response(body=body, headers={**SECURITY_HEADERS, "Content-Type": content_type,
                                                    "Cache-Control": "public, max-age=3600"})
        return serve

    router.add_get(PATH, results_page)
    router.add_get(PATH + "/style.css", static(css, "text/css; charset=utf-8"))
    router.add_get(PATH + "/icon.svg", static(icon, "image/svg+xml"))
