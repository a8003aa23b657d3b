"""What every web page with a logged-in person needs, channel- and feature-neutral: a signed session cookie,
CSRF tokens, the security headers with a strict Content-Security-Policy, and a same-origin check.

Signing uses itsdangerous (HMAC-SHA256 with a timestamp, so a cookie older than its lifetime is refused even
if the browser kept it). The cookie carries only a random token; what it means (who, still valid) lives on the
server, so logging out ends it everywhere. Shared by the officers' console and, later, the web chat."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from typing import Mapping

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

# No inline script or style, nothing from another host, no framing, forms only to this site.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """What the server stores of a session token (a database copy cannot be replayed as a cookie)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(expected: str, given: str) -> bool:
    """Constant-time comparison of two tokens (CSRF); an empty token never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


class CookieSigner:
    """Signs and reads one cookie's value (`salt` keeps one cookie's signature from being valid for another)."""

    def __init__(self, secret: str, salt: str, max_age: int):
        self._s = URLSafeTimedSerializer(secret, salt=salt)
        self.max_age = max_age

    def dumps(self, value: str) -> str:
        return str(self._s.dumps(value))

    def loads(self, raw: str | None) -> str | None:
        """The value, or None for a missing, forged, altered or expired cookie."""
        if not raw or len(raw) > 512:
            return None
        try:
            value = self._s.loads(raw, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        return value if isinstance(value, str) else None


def set_cookie(resp: web.StreamResponse, name: str, value: str, *, path: str, max_age: int | None,
               secure: bool) -> None:
    """HttpOnly, SameSite=Strict (a link from another site arrives without it), Secure behind HTTPS."""
    resp.set_cookie(name, value, path=path, max_age=max_age, httponly=True, samesite="Strict", secure=secure)


def from_local_proxy(request: web.Request) -> bool:
    """The peer is the reverse proxy on this machine (the deployment the docs describe: nginx or Caddy in front,
    the bot on 127.0.0.1): only then are its X-Forwarded-* headers taken; from anyone else they prove nothing."""
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def is_https(request: web.Request) -> bool:
    return request.secure or (request.headers.get("X-Forwarded-Proto", "").lower() == "https"
                              and from_local_proxy(request))


def same_origin(request: web.Request) -> bool:
    """A state-changing request came from this site's own pages: its Origin (or, without one, its Referer)
    names this host. Browsers send Origin on every POST; a request with neither is refused."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if not source or source == "null":
        return False
    host = (request.headers.get("X-Forwarded-Host") if from_local_proxy(request) else None) or request.host
    rest = source.split("://", 1)[-1]
    return rest.split("/", 1)[0] == host


def with_headers(resp: web.StreamResponse, extra: Mapping[str, str] | None = None) -> web.StreamResponse:
    resp.headers.update(SECURITY_HEADERS)
    if extra:
        resp.headers.update(extra)
    return resp
