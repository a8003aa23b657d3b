"""Who a browser is: an anonymous identity (a random id) in a signed, HttpOnly, SameSite cookie, and the tokens
derived from it (CSRF). itsdangerous does the signing (HMAC, constant-time checks, timestamps, key derivation per
purpose) so none of that is hand-written here.

The secret is WEB_SECRET, or one generated on the first start and kept in the database, so every instance behind
the proxy signs and checks with the same key. A cookie signed with another secret is refused (a new identity is
given), as is an expired one.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

from bot.kernel.messages import utcnow
from bot.storage.models import KeyValue

COOKIE = "ntm_web"
CSRF_HEADER = "X-CSRF-Token"
SECRET_KEY = "web_secret"  # KeyValue row holding the generated secret


def load_or_create_secret(session: Any) -> str:
    """The generated secret, shared through the database (the first instance to start makes it)."""
    from bot.storage.dialect import insert_ignore

    row = session.get(KeyValue, SECRET_KEY)
    if row is None:
        insert_ignore(session, KeyValue.__table__,
                      {"key": SECRET_KEY, "value": {"secret": secrets.token_urlsafe(48)}, "updated_at": utcnow()}, ["key"])
        session.flush()
        row = session.get(KeyValue, SECRET_KEY)
        session.refresh(row)
    return str((row.value or {})["secret"])


def new_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


@dataclass
class Identity:
    secret: str
    max_age_days: int

    def __post_init__(self) -> None:
        self._cookie = URLSafeTimedSerializer(self.secret, salt="ntm-web-identity")
        self._csrf = Signer(self.secret, salt="ntm-web-csrf")

    def cookie_value(self, sid: str) -> str:
        return self._cookie.dumps(sid)

    def read_cookie(self, value: str | None) -> str | None:
        """The identity in a cookie we signed, not expired; None for anything else."""
        if not value or len(value) > 512:
            return None
        try:
            sid = self._cookie.loads(value, max_age=self.max_age_days * 86400)
        except BadSignature:  # includes SignatureExpired
            return None
        return sid if isinstance(sid, str) and 10 <= len(sid) <= 64 else None

    def csrf_token(self, sid: str) -> str:
        return self._csrf.get_signature(sid).decode()

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), token or "")
