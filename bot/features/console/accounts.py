"""Console accounts: passwords hashed with argon2id (argon2-cffi, its RFC 9106 low-memory profile), a lockout
after repeated wrong passwords, sessions kept on the server (the cookie holds a signed random token whose
SHA-256 is stored here), the session cookie's secret shared by every instance through the database.

Every function works in the caller's transaction (`db.run(fn, …)`)."""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import struct

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from bot.kernel.websec import new_token, token_hash
from bot.storage.console import ConsoleSession, StaffLogin
from bot.storage.dialect import ensure_row
from bot.storage.models import AuditLog, KeyValue, Staff

HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4 (RFC 9106's second recommended profile)
MAX_FAILURES = 5  # wrong passwords in a row, then the account waits
LOCK_MINUTES = 15
SESSION_HOURS = 12  # a working day; then log in again
IDLE_HOURS = 2  # no page opened for this long: logged out
MIN_PASSWORD = 10
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
SECRET_KEY = "console:cookie-secret"
ROLES = ("officer", "supervisor", "admin")


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the login does not exist takes as long as a real check (no account probing);
    made on first use, not at import (every process imports this module)."""
    return HASHER.hash(secrets.token_hex(16))


@dataclasses.dataclass(frozen=True)
class Officer:
    """Who is logged in, as a page needs it."""

    staff_id: int
    user_id: str
    login: str
    name: str
    role: str
    communes: tuple[str, ...]  # empty: the provincial office
    csrf: str
    session_id: int

    @property
    def actor(self) -> str:
        """Audit and ticket history name the console like a channel: canbo:<login>."""
        return f"canbo:{self.login}"

    @property
    def provincial(self) -> bool:
        return self.role in ("supervisor", "admin") or not self.communes


def audit(session: Session, now: dt.datetime, actor: str, action: str, target: str = "", detail: str = "") -> None:
    session.add(AuditLog(at=now, actor=actor[:64], action=action[:48], target=target[:64], detail=detail[:1000]))


def cookie_secret(session: Session) -> str:
    """One random secret for every instance (created by the first one to need it)."""
    row = session.exec(select(KeyValue).where(KeyValue.key == SECRET_KEY)).first()
    if row is None:
        row = ensure_row(session, KeyValue, {"key": SECRET_KEY, "value": {"secret": secrets.token_urlsafe(48)}}, ["key"])
    return str((row.value or {})["secret"])


class AccountError(ValueError):
    """What is wrong with an account request, in Vietnamese (shown to the admin)."""


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    if len(password) > 200:
        raise AccountError("Mật khẩu dài quá 200 ký tự.")


def save_account(session: Session, now: dt.datetime, *, login: str, name: str, role: str = "officer",
                 communes: list[str] | None = None, password: str | None = None, user_id: str = "",
                 actor: str = "cli") -> StaffLogin:
    """Create or update a console account (and its staff row: Telegram officers keep their user id)."""
    from knowledge.communes import default_finder

    login = login.strip().lower()
    if not LOGIN_RE.match(login):
        raise AccountError("Tên đăng nhập: 3–32 chữ thường không dấu, số, dấu chấm, gạch ngang hoặc gạch dưới.")
    if role not in ROLES:
        raise AccountError("Vai trò: officer (cán bộ), supervisor (lãnh đạo) hoặc admin (quản trị).")
    known = default_finder().by_code
    communes = [c.strip() for c in (communes or []) if c.strip()]
    unknown = [c for c in communes if c not in known]
    if unknown:
        raise AccountError("Không có xã, phường mã " + ", ".join(unknown) + " (knowledge/communes.csv).")
    if password is not None:
        check_password_rules(password)
    row = session.exec(select(StaffLogin).where(StaffLogin.login == login)).first()
    staff = session.get(Staff, row.staff_id) if row else None
    if staff is None:
        uid = user_id.strip() or f"web:{login}"
        staff = session.exec(select(Staff).where(Staff.user_id == uid)).first() or Staff(user_id=uid, created_at=now)
    staff.display_name = name.strip()[:128] or staff.display_name or login
    staff.role = role
    staff.active = True
    staff.added_by = staff.added_by or actor
    session.add(staff)
    session.flush()
    if row is None:
        row = StaffLogin(staff_id=staff.id, login=login, created_at=now)
    row.communes = sorted(set(communes))
    if password is not None:
        row.password_hash = HASHER.hash(password)
        row.password_set_at = now
        row.failed, row.locked_until = 0, None
        revoke_all(session, now, staff.id)  # type: ignore[arg-type]
    session.add(row)
    audit(session, now, actor, "console_account", target=login, detail=f"{role} {','.join(row.communes)}")
    return row


def revoke_all(session: Session, now: dt.datetime, staff_id: int) -> None:
    for s in session.exec(select(ConsoleSession).where(ConsoleSession.staff_id == staff_id,
                                                       ConsoleSession.revoked_at.is_(None))):  # type: ignore[union-attr]
        s.revoked_at = now
        session.add(s)


# ------------------------------------------------------------------ optional second factor (RFC 6238)
TOTP_STEP = 30  # seconds
TOTP_DIGITS = 6


def totp_at(secret: str, step: int) -> str:
    """The RFC 6238 (HOTP of RFC 4226 over the time step) code, HMAC-SHA1, 6 digits: what authenticator apps show."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_step(code: str, secret: str, now: dt.datetime, after: int) -> int | None:
    """The time step `code` belongs to (this one or one either side, for clock drift), if later than `after`."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != TOTP_DIGITS or not secret:
        return None
    current = int(now.timestamp()) // TOTP_STEP
    for step in (current - 1, current, current + 1):
        if step > after and hmac.compare_digest(totp_at(secret, step), code):
            return step
    return None


def set_totp(session: Session, now: dt.datetime, login: str, on: bool, actor: str = "cli") -> str:
    """Turn the second factor on (a new secret, returned) or off for an account."""
    row = session.exec(select(StaffLogin).where(StaffLogin.login == login.strip().lower())).first()
    if row is None:
        raise AccountError(f"Không có tài khoản {login}.")
    row.totp_secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=") if on else ""
    row.totp_last_step = 0
    session.add(row)
    revoke_all(session, now, row.staff_id)
    audit(session, now, actor, "console_totp", target=row.login, detail="bật" if on else "tắt")
    return row.totp_secret


@dataclasses.dataclass(frozen=True)
class LoginResult:
    token: str = ""  # the new session's token (for the cookie) when the password was right
    locked_minutes: int = 0  # the account waits this long


def log_in(session: Session, now: dt.datetime, login: str, password: str, address: str, code: str = "") -> LoginResult:
    """Check a password (and the authenticator code when the account has one); count failures and lock the
    account after MAX_FAILURES; a new session on success. Every attempt is audited (the address, never the
    password or code)."""
    login = login.strip().lower()[:64]
    row = session.exec(select(StaffLogin).where(StaffLogin.login == login)).first()
    staff = session.get(Staff, row.staff_id) if row else None
    where = f"từ {address}"[:200]
    if row is None or staff is None or not staff.active or not row.password_hash:
        try:
            HASHER.verify(_dummy_hash(), password[:200])
        except VerificationError:
            pass
        audit(session, now, f"canbo:{login}"[:64], "console_login_failed", detail=f"không có tài khoản {where}")
        return LoginResult()
    if row.locked_until is not None and row.locked_until > now:
        audit(session, now, f"canbo:{login}", "console_login_locked", detail=where)
        return LoginResult(locked_minutes=max(1, int((row.locked_until - now).total_seconds() // 60) + 1))
    try:
        HASHER.verify(row.password_hash, password[:200])
        step = totp_step(code, row.totp_secret, now, row.totp_last_step) if row.totp_secret else 0
        if step is None:
            raise VerificationError("authenticator code")
    except (VerificationError, InvalidHashError) as err:
        wrong = "sai mã xác thực" if "authenticator" in str(err) else "sai mật khẩu"
        row.failed += 1
        locked = 0
        if row.failed >= MAX_FAILURES:
            row.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            row.failed = 0
            locked = LOCK_MINUTES
            audit(session, now, f"canbo:{login}", "console_locked", detail=f"{MAX_FAILURES} lần sai liên tiếp {where}")
        else:
            audit(session, now, f"canbo:{login}", "console_login_failed", detail=f"{wrong} lần {row.failed} {where}")
        session.add(row)
        return LoginResult(locked_minutes=locked)
    if HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = HASHER.hash(password)
    if row.totp_secret:
        row.totp_last_step = step  # type: ignore[assignment]  # the same code cannot log in twice
    row.failed, row.locked_until = 0, None
    session.add(row)
    token = new_token()
    session.add(ConsoleSession(token_hash=token_hash(token), staff_id=staff.id, csrf=new_token(24),
                               created_at=now, last_seen_at=now))
    audit(session, now, f"canbo:{login}", "console_login", detail=where)
    return LoginResult(token=token)


def officer_for(session: Session, now: dt.datetime, token: str) -> Officer | None:
    """The officer of a live session (not revoked, not expired, not idle, account still active)."""
    s = session.exec(select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))).first()
    if s is None or s.revoked_at is not None:
        return None
    if now - s.created_at > dt.timedelta(hours=SESSION_HOURS) or now - s.last_seen_at > dt.timedelta(hours=IDLE_HOURS):
        s.revoked_at = now
        session.add(s)
        return None
    staff = session.get(Staff, s.staff_id)
    row = session.exec(select(StaffLogin).where(StaffLogin.staff_id == s.staff_id)).first()
    if staff is None or row is None or not staff.active:
        return None
    if now - s.last_seen_at > dt.timedelta(minutes=1):  # one write a minute at most
        s.last_seen_at = now
        session.add(s)
    return Officer(staff_id=staff.id, user_id=staff.user_id, login=row.login,  # type: ignore[arg-type]
                   name=staff.display_name or row.login, role=staff.role, communes=tuple(row.communes or ()),
                   csrf=s.csrf, session_id=s.id)  # type: ignore[arg-type]


def log_out(session: Session, now: dt.datetime, token: str) -> None:
    s = session.exec(select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))).first()
    if s is not None and s.revoked_at is None:
        s.revoked_at = now
        session.add(s)
        row = session.exec(select(StaffLogin).where(StaffLogin.staff_id == s.staff_id)).first()
        audit(session, now, f"canbo:{row.login if row else s.staff_id}", "console_logout")


def accounts(session: Session) -> list[tuple[StaffLogin, Staff]]:
    out = []
    for row in session.exec(select(StaffLogin).order_by(StaffLogin.login)):
        staff = session.get(Staff, row.staff_id)
        if staff is not None:
            out.append((row, staff))
    return out
