# Over 400 lines: the web chat's routes share one closure (settings, CSP, limits, the channel): split, they would pass it all around.
"""HTTP routes of the web chat.

    GET  /chat                 the page (sets the anonymous identity cookie)
    GET  /chat/static/<file>   its CSS and JavaScript (no CDN, no inline script: the CSP forbids both)
    GET  /chat/events          Server-Sent Events: the history, then every new message, live
    POST /chat/send            a typed message or a button press (JSON; CSRF header)
    POST /chat/upload          a photo (multipart; CSRF header)
    POST /chat/location        the browser's position, after the citizen agreed (JSON; CSRF header)
    GET  /chat/media/<id>      an uploaded photo (random, unguessable address)
    GET  /chat/widget.js       one <script> tag on a portal page adds a button that opens /chat in a frame

Every answer to a POST is JSON: `{"ok": true}` once the message is stored (committed) — only then does the page
say "đã gửi" — or `{"error": "<Vietnamese sentence>"}` with a 4xx/5xx status.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import secrets
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.channels.web import texts as W
from bot.channels.web.channel import START_KEY, WebChannel, read_messages
from bot.channels.web.identity import COOKIE, CSRF_HEADER, new_id
from bot.channels.web.models import WebUpload
from bot.channels.web.uploads import BadImage, clean_image
from bot.kernel.channel import Busy, Host
from bot.kernel.messages import WEB, Attachment, Inbound, utcnow

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # characters; the core answers longer texts with "too long" too
MAX_JSON = 64 * 1024  # bytes of a JSON body
MAX_STREAMS_PER_SESSION = 5  # open tabs of one browser
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MEDIA_RE = re.compile(r"^[A-Za-z0-9_-]{20,48}$")
STATIC = {"chat.css": "text/css", "chat.js": "application/javascript", "icon.svg": "image/svg+xml"}
LOOKUP_FORM_MAX = 4096  # bytes of the lookup form
SSE_PING = 15.0


def _asset(name: str) -> bytes:
    return resources.files("bot.channels.web").joinpath("static", name).read_bytes()


class Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status, self.message, self.headers = status, message, headers or {}
        super().__init__(message)


def _json_error(err: Refused) -> web.Response:
    return web.json_response({"ok": False, "error": err.message}, status=err.status, headers=err.headers,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def build_routes(app: Host, channel: WebChannel) -> list[tuple[str, str, Any]]:
    """The web chat's routes, served by the bot's one web server (`WebChannel.routes`)."""
    s = app.settings
    max_upload = int(s.web_upload_max_mb * 1024 * 1024)
    frame_ancestors = " ".join(["'self'", *s.web_embed_origin_list])
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
           f"form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}")
    common = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
              "Permissions-Policy": "geolocation=(self), camera=(), microphone=()"}
    page_template = _asset("chat.html").decode()
    assets = {name: _asset(name) for name in STATIC}
    widget = _asset("widget.js")

    # ---------------------------------------------------------- helpers
    def address(request: web.Request) -> str:
        if s.web_trust_proxy:
            fwd = request.headers.get("X-Forwarded-For", "")
            if fwd:
                return fwd.split(",")[-1].strip()[:64]
        return (request.remote or "?")[:64]

    def is_https(request: web.Request) -> bool:
        if s.web_trust_proxy and request.headers.get("X-Forwarded-Proto", "").lower() == "https":
            return True
        return request.secure

    async def session_of(request: web.Request) -> str | None:
        ident = await channel.identity()
        return ident.read_cookie(request.cookies.get(COOKIE))

    def set_cookie(resp: web.StreamResponse, request: web.Request, value: str) -> None:
        secure = s.web_cookie_secure == "always" or (s.web_cookie_secure == "auto" and is_https(request))
        # Embedded in a portal (WEB_EMBED_ORIGINS), the chat runs in a frame whose top-level page may be another
        # site: a Lax cookie is not sent there, so the chat could not keep its conversation (nor start). Over HTTPS
        # the cookie is then SameSite=None and Partitioned (CHIPS: kept per top-level site, no cross-site tracking);
        # POSTs stay protected by the CSRF token and the Origin check, not by SameSite.
        max_age = s.web_session_days * 86400
        if secure and s.web_embed_origin_list:  # written out: Python < 3.14's cookie module knows no Partitioned
            resp.headers.add("Set-Cookie", f"{COOKIE}={value}; Max-Age={max_age}; Path=/chat; HttpOnly; Secure; "
                                           "SameSite=None; Partitioned")
            return
        resp.set_cookie(COOKIE, value, max_age=max_age, path="/chat", httponly=True, samesite="Lax", secure=secure)

    def same_origin(request: web.Request) -> bool:
        """A POST from a page of ours: the browser says where it comes from (Origin, Sec-Fetch-Site)."""
        site = request.headers.get("Sec-Fetch-Site")
        if site and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("Origin")
        if origin and origin != "null":
            return urlsplit(origin).netloc.lower() == request.host.lower()
        return True

    async def guard(request: web.Request) -> str:
        """Every POST: our cookie, our CSRF token, our origin, within the rate limits. Returns the identity."""
        if not app.accepting:
            raise Refused(503, W.ERR_BUSY, {"Retry-After": "1"})
        if not same_origin(request):
            raise Refused(403, W.ERR_ORIGIN)
        sid = await session_of(request)
        if sid is None:
            raise Refused(403, W.ERR_SESSION)
        ident = await channel.identity()
        if not ident.csrf_ok(sid, request.headers.get(CSRF_HEADER)):
            raise Refused(403, W.ERR_CSRF)
        if not channel.per_address.allow(address(request)):
            raise Refused(429, W.ERR_RATE_ADDRESS, {"Retry-After": "30"})
        if not channel.per_session.allow(sid):
            raise Refused(429, W.ERR_RATE, {"Retry-After": "10"})
        return sid

    async def read_json(request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_JSON:
            raise Refused(413, W.ERR_BODY.format(n=f"{MAX_TEXT:,}".replace(",", "."), mb=_mb(s.web_upload_max_mb)))
        raw = b""
        while len(raw) <= MAX_JSON:  # a body without Content-Length (chunked) is read only up to the limit
            chunk = await request.content.read(MAX_JSON + 1 - len(raw))
            if not chunk:
                break
            raw += chunk
        if len(raw) > MAX_JSON:
            raise Refused(413, W.ERR_BODY.format(n=f"{MAX_TEXT:,}".replace(",", "."), mb=_mb(s.web_upload_max_mb)))
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, W.ERR_BAD) from None
        if not isinstance(body, dict):
            raise Refused(400, W.ERR_BAD)
        return body

    def event_key(body: dict[str, Any]) -> str:
        key = body.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise Refused(400, W.ERR_BAD)
        return "w:" + key

    async def submit(inbound: Inbound) -> None:
        try:
            await app.submit(inbound)  # stored (committed) when it returns; False = a retry of a stored one
        except Busy:
            raise Refused(503, W.ERR_BUSY, {"Retry-After": "2"}) from None
        channel.hub.wake(inbound.chat_id)  # the sender's other tabs show it too

    def ok() -> web.Response:
        return web.json_response({"ok": True})

    def handled(fn: Any) -> Any:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except Refused as err:
                return _json_error(err)

        return wrapper

    async def page_session(request: web.Request) -> tuple[str | None, bool]:
        """(the browser's identity, whether it is new) for a page; (None, True) when this address starts too many."""
        sid = await session_of(request)
        if sid is not None:
            return sid, False
        if not channel.new_sessions.allow(address(request)):
            return None, True
        return new_id(), True

    def html_page(request: web.Request, body: str, status: int, new_cookie: str | None) -> web.Response:
        resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8",
                            headers={**common, "Content-Security-Policy": csp, "Cache-Control": "no-store"})
        if new_cookie is not None:
            set_cookie(resp, request, new_cookie)
        return resp

    # ---------------------------------------------------------- the page
    async def page(request: web.Request) -> web.StreamResponse:
        ident = await channel.identity()
        sid, fresh = await page_session(request)
        if sid is None:
            return web.Response(status=429, text=W.ERR_NEW_SESSIONS, headers={**common, "Retry-After": "600"})
        body = render_page(page_template, s, csrf=ident.csrf_token(sid), embed=request.query.get("embed") == "1")
        return html_page(request, body, 200, ident.cookie_value(sid) if fresh else None)

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound(text=W.NOT_FOUND)
        return web.Response(body=assets[name], content_type=STATIC[name], charset="utf-8",
                            headers={**common, "Cache-Control": "public, max-age=300"})

    async def widget_js(_: web.Request) -> web.StreamResponse:
        return web.Response(body=widget, content_type="application/javascript", charset="utf-8",
                            headers={**common, "Cache-Control": "public, max-age=300",
                                     "Cross-Origin-Resource-Policy": "cross-origin"})

    # ---------------------------------------------------------- live messages
    async def events(request: web.Request) -> web.StreamResponse:
        sid = await session_of(request)
        if sid is None:
            return _json_error(Refused(403, W.ERR_SESSION))
        if channel.hub.count(sid) >= MAX_STREAMS_PER_SESSION or channel.hub.count() >= s.web_max_streams:
            return _json_error(Refused(503, W.ERR_STREAMS, {"Retry-After": "5"}))
        after_in, after_out = _cursor(request.headers.get("Last-Event-ID") or request.query.get("after", ""))
        resp = web.StreamResponse(headers={**common, "Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        wake = channel.hub.subscribe(sid)
        seen: set[int] = set()
        first = after_in == 0 and after_out == 0
        poll = s.web_poll_seconds if app.db.is_sqlite else max(s.web_poll_seconds, 10.0)
        try:
            await resp.write(b"retry: 3000\n\n")
            idle = 0.0
            while not channel.hub.closing:
                wake.clear()
                msgs, after_in, after_out = await channel.read(read_messages, sid, after_in, after_out, seen, first,
                                                              (await channel.identity()).secret)
                if msgs or first:
                    cursor = f"{after_in}.{after_out}"
                    chunk = "".join(f"id: {cursor}\nevent: m\ndata: {json.dumps(m, ensure_ascii=False)}\n\n" for m in msgs)
                    if first:
                        chunk += f"id: {cursor}\nevent: ready\ndata: {json.dumps({'empty': not msgs})}\n\n"
                    await resp.write(chunk.encode())
                    first = False
                    idle = 0.0
                try:
                    await asyncio.wait_for(wake.wait(), timeout=poll)
                except asyncio.TimeoutError:
                    idle += poll
                    if idle >= SSE_PING:
                        await resp.write(b": ping\n\n")  # keeps proxies from closing a quiet stream
                        idle = 0.0
        except ConnectionResetError:  # the tab was closed
            pass
        finally:
            channel.hub.unsubscribe(sid, wake)
        return resp

    # ---------------------------------------------------------- what the citizen sends
    @handled
    async def send(request: web.Request) -> web.StreamResponse:
        sid = await guard(request)
        body = await read_json(request)
        key = event_key(body)
        if body.get("start") is True:  # the greeting on a first visit (shown as the bot's, not as "/start")
            await submit(Inbound(WEB, sid, sid, text="/start", event_key=START_KEY + sid))
            return ok()
        callback, text = body.get("callback"), body.get("text")
        if callback is not None:
            if not isinstance(callback, str) or not callback or len(callback.encode()) > 64:
                raise Refused(400, W.ERR_BAD)
            await submit(Inbound(WEB, sid, sid, callback=callback, event_key=key))
            return ok()
        if not isinstance(text, str):
            raise Refused(400, W.ERR_BAD)
        if len(text) > MAX_TEXT:
            raise Refused(413, W.ERR_TOO_LONG.format(n=f"{MAX_TEXT:,}".replace(",", ".")))
        if not text.strip():
            raise Refused(400, W.ERR_EMPTY)
        await submit(Inbound(WEB, sid, sid, text=text, event_key=key))
        return ok()

    @handled
    async def location(request: web.Request) -> web.StreamResponse:
        sid = await guard(request)
        body = await read_json(request)
        key = event_key(body)
        try:
            lat, lon = float(body.get("lat")), float(body.get("lon"))  # type: ignore[arg-type]  # None or a non-number raises, answered below
        except (TypeError, ValueError):
            raise Refused(400, W.ERR_LOCATION) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Refused(400, W.ERR_LOCATION)
        await submit(Inbound(WEB, sid, sid, attachments=(Attachment("location", f"{lat:.6f},{lon:.6f}"),), event_key=key))
        return ok()

    @handled
    async def upload(request: web.Request) -> web.StreamResponse:
        sid = await guard(request)
        too_big = Refused(413, W.ERR_PHOTO_SIZE.format(mb=_mb(s.web_upload_max_mb)))
        if request.content_length is None:  # browsers always send it with a form; no unbounded chunked uploads
            raise Refused(411, W.ERR_BAD)
        if request.content_length > max_upload + 16 * 1024:
            raise too_big
        if not request.content_type.startswith("multipart/"):
            raise Refused(400, W.ERR_BAD)
        key, raw, caption = "", b"", ""
        try:
            reader = await request.multipart()
            async for part in reader:
                if part.name == "key":
                    key = (await part.read(decode=False))[:100].decode("ascii", "replace")
                elif part.name == "caption":
                    caption = (await part.read(decode=False))[: MAX_TEXT * 4].decode("utf-8", "replace")[:MAX_TEXT]
                elif part.name == "photo":
                    chunks, size = [], 0
                    while chunk := await part.read_chunk(64 * 1024):
                        size += len(chunk)
                        if size > max_upload:
                            raise too_big
                        chunks.append(chunk)
                    raw = b"".join(chunks)
                else:
                    raise Refused(400, W.ERR_BAD)
        except (ValueError, AssertionError, UnicodeDecodeError):
            raise Refused(400, W.ERR_BAD) from None
        event = event_key({"key": key})
        if not raw:
            raise Refused(400, W.ERR_PHOTO_TYPE)
        if not channel.uploads.allow(sid):
            raise Refused(429, W.ERR_PHOTO_RATE.format(n=s.web_uploads_per_hour), {"Retry-After": "600"})
        try:
            img = await asyncio.get_running_loop().run_in_executor(None, clean_image, raw)
        except BadImage as err:
            raise Refused(415 if err.reason == "type" else 413,
                          W.ERR_PHOTO_PIXELS if err.reason == "pixels" else W.ERR_PHOTO_TYPE) from None
        media_id = secrets.token_urlsafe(24)

        def store(session: Any) -> None:
            session.add(WebUpload(id=media_id, chat_id=sid, mime=img.mime, size=len(img.data), width=img.width,
                                  height=img.height, data=img.data, created_at=utcnow()))

        await app.db.run(store)  # committed before the message that refers to it
        ext = "png" if img.mime == "image/png" else "jpg"
        photo = Attachment("photo", f"{public_base(request)}/chat/media/{media_id}", name=f"anh-{media_id[:6]}.{ext}",
                           mime=img.mime)
        await submit(Inbound(WEB, sid, sid, text=caption.strip(), attachments=(photo,), event_key=event))
        return ok()

    def public_base(request: web.Request) -> str:
        if s.web_public_url:
            return s.web_public_url.rstrip("/")
        scheme = "https" if is_https(request) else "http"
        return f"{scheme}://{request.host}"

    async def media(request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["id"]
        if not MEDIA_RE.match(media_id):
            raise web.HTTPNotFound(text=W.NOT_FOUND)
        row = await channel.read(lambda session: session.get(WebUpload, media_id))
        if row is None:
            raise web.HTTPNotFound(text=W.NOT_FOUND)
        return web.Response(body=row.data, content_type=row.mime, headers={
            **common, "Cache-Control": "private, max-age=3600", "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "inline"})

    # ---------------------------------------------------------- looking a report up (any device, no JavaScript)
    lookup_template = _asset("lookup.html").decode()

    async def lookup_page(request: web.Request) -> web.StreamResponse:
        from bot.channels.web import lookup as L

        ident = await channel.identity()
        sid, fresh = await page_session(request)
        if sid is None:
            return web.Response(status=429, text=W.ERR_NEW_SESSIONS, headers={**common, "Retry-After": "600"})
        status, found, asked, code = 200, None, False, ""
        if request.method == "POST":
            asked = True
            form: dict[str, str] = {}
            if request.content_length is None or request.content_length > LOOKUP_FORM_MAX:
                return _json_error(Refused(413, W.ERR_BAD))
            if fresh or not same_origin(request):
                return _json_error(Refused(403, W.ERR_SESSION))
            data = await request.post()
            form = {k: str(v)[:100] for k, v in data.items() if isinstance(v, str)}
            if not ident.csrf_ok(sid, form.get("csrf")):
                return _json_error(Refused(403, W.ERR_CSRF))
            if not channel.lookups.allow(address(request)):
                return _json_error(Refused(429, W.ERR_RATE_ADDRESS, {"Retry-After": "600"}))
            code = form.get("code", "")
            found = await app.db.run(L.find, ident.secret, code, form.get("secret", ""))
            status = 200 if found is not None else 404
        body = render_template(lookup_template, {
            "csrf": ident.csrf_token(sid), "title": W.LOOKUP_TITLE, "agency": s.agency_name, "lead": W.LOOKUP_LEAD,
            "code_label": W.LOOKUP_CODE, "secret_label": W.LOOKUP_SECRET, "submit": W.LOOKUP_SUBMIT,
            "back": W.LOOKUP_BACK, "code": code}, raw={"result": L.result_html(found, asked)})
        return html_page(request, body, status, ident.cookie_value(sid) if fresh else None)

    return [
        ("GET", "/chat", page),
        ("GET", "/chat/", page),
        ("GET", "/chat/static/{name}", static),
        ("GET", "/chat/widget.js", widget_js),
        ("GET", "/chat/events", events),
        ("GET", "/chat/media/{id}", media),
        ("POST", "/chat/send", send),
        ("POST", "/chat/location", location),
        ("POST", "/chat/upload", upload),
        ("GET", "/chat/tracuu", lookup_page),
        ("POST", "/chat/tracuu", lookup_page),
    ]


def _mb(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _cursor(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,18})\.(\d{1,18})", value.strip())
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def render_template(template: str, values: dict[str, str], raw: dict[str, str] | None = None) -> str:
    """{{name}} filled with escaped values; `raw` holds fragments built (and escaped) by our own code."""
    out = template
    for k, v in values.items():
        out = out.replace("{{" + k + "}}", html.escape(v))
    for k, v in (raw or {}).items():
        out = out.replace("{{" + k + "}}", v)
    return out


def render_page(template: str, settings: Any, *, csrf: str, embed: bool) -> str:
    """The page with its few variable parts, each escaped for HTML."""
    from bot.channels.web import texts as T

    follow = []
    if settings.web_zalo_url:
        follow.append(f'<a class="follow" href="{html.escape(settings.web_zalo_url)}" rel="noopener" target="_blank">{T.FOLLOW_ZALO}</a>')
    if settings.web_telegram_url:
        follow.append(f'<a class="follow" href="{html.escape(settings.web_telegram_url)}" rel="noopener" target="_blank">{T.FOLLOW_TELEGRAM}</a>')
    values = {
        "csrf": csrf, "agency": settings.agency_name, "title": T.PAGE_TITLE, "lead": T.PAGE_LEAD,
        "input_label": T.INPUT_LABEL, "placeholder": T.INPUT_PLACEHOLDER, "send": T.SEND, "photo": T.PHOTO,
        "location": T.LOCATION, "noscript": T.NOSCRIPT.format(contact=settings.agency_contact),
        "follow_title": T.FOLLOW_TITLE, "follow_body": T.FOLLOW_BODY, "privacy": T.PRIVACY_NOTE,
        "consent": T.LOCATION_CONSENT, "body_class": "embed" if embed else "",
        "max_text": str(MAX_TEXT), "lookup_link": T.LOOKUP_LINK + " từ thiết bị khác",
    }
    out = template
    for k, v in values.items():
        out = out.replace("{{" + k + "}}", html.escape(v))
    return out.replace("{{follow_links}}", "".join(follow))

