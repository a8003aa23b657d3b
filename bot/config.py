"""Settings, loaded from the environment and `.env` (see `.env.example` for every key)."""
from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def split_list(v: str) -> list[str]:
    """"1, 2;3" -> ["1", "2", "3"] (lists in the environment are comma-separated)."""
    return [x.strip() for x in v.replace(";", ",").split(",") if x.strip()]


# ------------------------------------------------------------------ strict parsers of list-like settings
# A typo in one of these must stop start-up with a clear message (the validators below), not surface as a
# warning the first time a citizen files a report at night. Features read the parsed values through these.
_TOPIC_KEY = re.compile(r"^[a-z0-9-]{1,16}$")
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


@functools.lru_cache(maxsize=16)
def parse_categories(spec: str) -> tuple[tuple[str, int], ...]:
    """TICKET_CATEGORIES "Giao thông:10, Khác" -> (("Giao thông", 10), ("Khác", 10)): label and working days."""
    out: list[tuple[str, int]] = []
    for item in split_list(spec):
        label, sep, days = item.partition(":")
        label, days = label.strip(), days.strip()
        if not label:
            raise ValueError(f"«{item}»: thiếu tên loại việc / a category needs a label (Tên:số ngày)")
        if not sep or not days:
            out.append((label, 10))
            continue
        if not days.isdigit() or not 1 <= int(days) <= 365:
            raise ValueError(f"«{item}»: số ngày làm việc phải là số 1–365 / working days must be 1–365 (ví dụ Giao thông:10)")
        out.append((label, int(days)))
    if not out:
        raise ValueError("cần ít nhất một loại việc / at least one category")
    return tuple(out)


@functools.lru_cache(maxsize=16)
def parse_holidays(spec: str) -> tuple[frozenset[dt.date], frozenset[tuple[int, int]]]:
    """TICKET_HOLIDAYS "05-19, 2026-12-24" -> ({2026-12-24}, {(5, 19)}): local days off on top of the national ones."""
    once: set[dt.date] = set()
    yearly: set[tuple[int, int]] = set()
    for item in split_list(spec):
        try:
            if re.fullmatch(r"\d{2}-\d{2}", item):
                m, d = (int(x) for x in item.split("-"))
                dt.date(2024, m, d)  # a real day (of a leap year)
                yearly.add((m, d))
            else:
                once.add(dt.date.fromisoformat(item))
        except ValueError:
            raise ValueError(f"«{item}»: cần MM-DD (hằng năm) hoặc YYYY-MM-DD (một lần) / want MM-DD or YYYY-MM-DD") from None
    return frozenset(once), frozenset(yearly)


@functools.lru_cache(maxsize=16)
def parse_topics(value: str) -> tuple[tuple[str, str], ...]:
    """BROADCAST_TOPICS "ntm=Tin nông thôn mới; ocop=…" -> (("ntm", "Tin nông thôn mới"), …), in order."""
    out: list[tuple[str, str]] = []
    for part in value.split(";"):
        if not part.strip():
            continue
        key, sep, label = part.partition("=")
        key, label = key.strip().lower(), label.strip()
        if not (sep and _TOPIC_KEY.match(key) and label):
            raise ValueError(f"«{part.strip()}»: cần khóa=Tên, khóa gồm a-z 0-9 - (tối đa 16) / want key=Label")
        out.append((key, label))
    return tuple(out)


@functools.lru_cache(maxsize=16)
def parse_quiet(value: str) -> tuple[dt.time, dt.time] | None:
    """BROADCAST_QUIET_HOURS "21:00-07:00" -> (21:00, 07:00); empty -> None (never quiet)."""
    if not value.strip():
        return None
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$", value)
    if m:
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 <= 23 and h2 <= 23 and m1 <= 59 and m2 <= 59 and (h1, m1) != (h2, m2):
            return dt.time(h1, m1), dt.time(h2, m2)
    raise ValueError(f"«{value}»: cần giờ bắt đầu-kết thúc, ví dụ 21:00-07:00 / want e.g. 21:00-07:00")


def parse_hhmm(value: str) -> dt.time:
    m = _HHMM.match(value)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"«{value}»: cần giờ HH:MM, ví dụ 08:00 / want HH:MM")
    return dt.time(int(m.group(1)), int(m.group(2)))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite file under data/")
    data_dir: Path = PROJECT_ROOT / "data"

    # --- knowledge base (default: the curated content shipped in knowledge/data)
    kb_dir: Path | None = None
    kb_watch_seconds: float = 5.0  # how often a running bot checks whether `ntm-bot kb reload` was asked
    kb_retrain: bool = True  # retrain the answer decision (a child process, ~1 min) when the content changed

    # --- agency shown to citizens
    agency_name: str = "Văn phòng Điều phối nông thôn mới tỉnh An Giang"
    agency_contact: str = "Ủy ban nhân dân xã, phường nơi bạn cư trú"
    contact_retention_months: int = 24

    # --- HTTP server (webhooks, health)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Slow and idle clients: a connection must send a whole request within this many seconds of opening (and of
    # its previous one): aiohttp's keep-alive timeout, which also covers the headers of the first request.
    http_keepalive_seconds: float = Field(default=15.0, gt=0)
    http_body_seconds: float = Field(default=10.0, gt=0)  # to receive a webhook body once its headers are in
    http_max_connections: int = Field(default=512, ge=8)  # connections beyond it are closed at once

    # --- Telegram
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_mode: str = Field(default="polling", pattern="^(polling|webhook)$")
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_read_timeout: float = 10.0  # seconds to wait for a Bot API answer before retrying later

    # --- Zalo Bot Platform (bot.zaloplatforms.com; see docs/zalo.md)
    zalo_bot_token: str = ""  # "{bot_id}:{secret}" from Zalo Bot Creator; empty disables the channel
    zalo_bot_api_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_mode: str = Field(default="", pattern="^(|polling|webhook)$")  # empty: webhook if a URL is set
    zalo_bot_webhook_url: str = ""  # public HTTPS URL of /zalo/webhook
    zalo_bot_webhook_secret: str = ""  # 8–256 characters, echoed by Zalo in X-Bot-Api-Secret-Token
    zalo_bot_poll_timeout: int = 30  # getUpdates long-poll seconds
    zalo_bot_read_timeout: float = 10.0  # seconds to wait for a send before retrying later
    zalo_bot_rate: float = 10.0  # messages per second, whole bot (Zalo publishes no number)
    zalo_bot_chat_rate: float = 1.0  # messages per second in one chat
    zalo_bot_chat_burst: int = 3
    zalo_bot_retry_after: float = 5.0  # back-off after a 429 when Zalo does not say how long
    zalo_bot_unauthorized_pause: float = 60.0  # after a 401 (token reset): pause sending, keep messages queued

    # --- Zalo Official Account API v3 (openapi.zalo.me; see docs/zalo.md)
    zalo_oa_app_id: str = ""  # app id on developers.zalo.me; empty disables the channel
    zalo_oa_app_secret: str = ""  # app secret key (OAuth header secret_key)
    zalo_oa_id: str = ""  # the OA's id (only needed for the oa_id signature variant)
    zalo_oa_secret_key: str = ""  # "OA Secret Key" shown when the app is linked to the OA (webhook MAC)
    zalo_oa_access_token: str = ""  # first tokens, seeded into the database once; the database copy wins after
    zalo_oa_refresh_token: str = ""
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    # Webhook MAC = sha256(ID + body + timestamp + SECRET); sources disagree on ID and SECRET, so every listed
    # combination is accepted (all are our own secrets) and the one that matched is logged.
    zalo_oa_mac_ids: str = "app_id,oa_id"  # app_id | oa_id
    zalo_oa_mac_secrets: str = "oa_secret_key,app_secret"  # oa_secret_key | app_secret
    zalo_oa_refresh_ahead_minutes: float = 60.0  # refresh the access token this long before it expires
    zalo_oa_token_check_minutes: float = 10.0
    zalo_oa_reply_window_hours: float = 168.0  # OA may answer only within 7 days of the citizen's last message
    zalo_oa_read_timeout: float = 10.0
    # Signed webhook events older than this are refused (replays of old bytes); at most 36 h, as processed
    # events (the de-duplication keys) are kept 2 days.
    zalo_oa_event_max_age_hours: float = Field(default=24.0, gt=0, le=36)
    zalo_oa_rate: float = 10.0  # messages per second, whole OA (documented: 4,000 requests/minute per app)
    zalo_oa_chat_rate: float = 1.0
    zalo_oa_chat_burst: int = 3

    # --- web chat (bot/channels/web: GET /chat, /chat/widget.js)
    web_chat_enabled: bool = True  # the chat page on this server's HTTP port (no token needed)
    web_secret: str = ""  # signs cookies and tokens; empty: one is generated and kept in the database (shared)
    web_public_url: str = ""  # e.g. https://chat.example.gov.vn: absolute links to uploaded photos (staff inbox)
    web_embed_origins: str = ""  # origins allowed to embed /chat in an iframe (widget), space/comma separated
    web_cookie_secure: str = Field(default="auto", pattern="^(auto|always|never)$")  # auto: Secure over HTTPS
    web_trust_proxy: bool = False  # take the client address and scheme from X-Forwarded-For / -Proto
    web_session_days: int = Field(default=180, ge=1)  # the anonymous identity cookie lives this long
    web_session_rate: int = Field(default=20, ge=1)  # messages one browser may send per minute
    web_address_rate: int = Field(default=120, ge=1)  # messages from one address per minute (all its browsers)
    web_new_sessions_per_address: int = Field(default=60, ge=1)  # new identities one address may get per hour
    web_upload_max_mb: float = Field(default=8.0, gt=0, le=20)  # one photo, before it is re-encoded
    web_uploads_per_hour: int = Field(default=20, ge=1)  # photos one browser may send per hour
    web_poll_seconds: float = Field(default=2.0, gt=0)  # re-check for replies (other instances on SQLite)
    web_max_streams: int = Field(default=256, ge=1)  # open live streams per instance (HTTP_MAX_CONNECTIONS leaves room)
    web_zalo_url: str = ""  # where the page sends citizens to follow broadcasts on Zalo (e.g. https://zalo.me/…)
    web_telegram_url: str = ""  # … and on Telegram (https://t.me/<bot>)

    # --- staff
    staff_chat_id: str = ""
    staff_user_ids: str = ""  # comma-separated Telegram user ids of the first admins
    # The officers' web console (/canbo): the session cookie's signing secret; empty = a random one kept in the
    # database (shared by every instance). Set it to rotate: every console session ends.
    console_secret: str = ""
    console_url: str = ""  # the public address of the bot (https://…): links to /canbo in officers' notices
    console_escalate_hours: float = Field(default=4.0, gt=0)  # a new report nobody took after this goes to supervisors
    # A commune's own Telegram group (or forum topic) for its new reports: "30292=-1001234567,30307=-1007654321/15"
    console_commune_chats: str = ""

    # --- outbound delivery
    send_concurrency: int = 16
    group_commit: bool = True  # store, process and claim many updates per transaction (see bot/pipeline.py)
    telegram_global_rate: float = 30.0  # messages per second, whole bot
    telegram_chat_rate: float = 1.0  # messages per second in one private chat
    telegram_chat_burst: int = 3  # short bursts tolerated in one private chat
    telegram_group_per_minute: int = 20
    outbox_max_age_hours: float = 72.0  # transient failures are retried this long, then marked dead
    outbox_lease_seconds: float = 120.0  # a send claimed by a process that died is retried after this long

    # --- broadcasts (issue 6): subscriptions, staff broadcasts, slogan of the week
    # Topics citizens can subscribe to: "key=Label; key=Label" (keys: a-z, 0-9, -, _; at most 16 chars).
    broadcast_topics: str = "ntm=Tin nông thôn mới; ocop=Sản phẩm OCOP; xa=Thông báo của xã, phường"
    broadcast_commune_topic: str = "xa"  # subscribers of this topic are asked for their commune; commune notices go to it
    broadcast_quiet_hours: str = "21:00-07:00"  # local time (Asia/Ho_Chi_Minh) when nothing is sent; empty = never quiet
    # A broadcast to citizens needs a second officer's approval (any other officer; BROADCAST_APPROVAL_ROLE e.g.
    # "supervisor": one with that role or higher). false: the officer who confirms sends it.
    broadcast_approval: bool = True
    broadcast_approval_role: str = Field(default="", pattern="^(|officer|supervisor|admin)$")
    broadcast_concurrency: int = 8  # sends in flight per channel = the most recipients a crash can leave "unknown"
    broadcast_telegram_rate: float = 29.0  # messages/s for broadcasts (Telegram allows ~30/s per bot; 1/s stays for chats)
    zalo_broadcast_rate: float = 10.0  # messages/s for broadcasts on Zalo (no published limit; 429 = back off)
    broadcast_default_rate: float = 20.0  # messages/s on other channels
    broadcast_max_attempts: int = 5  # transient failures per recipient before it counts as failed
    broadcast_slogan_weekly: bool = False  # slogan of the week (off by default; the agency decides)
    broadcast_slogan_weekday: int = Field(default=1, ge=1, le=7)  # 1 = Monday … 7 = Sunday
    broadcast_slogan_time: str = "08:00"  # local time
    broadcast_slogan_topic: str = "ntm"  # sent to subscribers of this topic

    # (When to answer, suggest or decline is learned from the knowledge base: knowledge/model.json, `kb train`.)

    # --- tickets (citizen reports, staff inbox): see docs/tickets-config.md
    # "Label:working days" pairs; the order is the order of the buttons citizens see.
    ticket_categories: str = (
        "Giao thông:10, Thủy lợi:10, Điện:10, Nước sạch:10, Môi trường:10, Trường học:10, Y tế:10, "
        "Văn hóa:10, OCOP:10, Góp ý chương trình NTM:15, Khác:10"
    )
    # Vietnam's public holidays (Tết, Giỗ Tổ, substitute days: the `holidays` package) never count; these are local
    # days off on top: MM-DD every year, or YYYY-MM-DD once.
    ticket_holidays: str = ""
    ticket_due_soon_days: int = 2  # the daily reminder also lists tickets due within this many working days
    staff_forum_topics: bool = False  # one forum topic per ticket in STAFF_CHAT_ID (a forum supergroup)
    staff_topics_per_minute: int = 5  # forum topics created at most this often (abuse gets bots banned)
    draft_remind_minutes: int = 30  # a report left unfinished is reminded once after this long…
    draft_expire_hours: int = 24  # …and dropped after this long
    low_rating: int = 2  # a rating at or below this reopens the ticket for a supervisor
    # optional e-mail copy of each new ticket
    agency_email: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True  # STARTTLS on a plain connection (port 587)
    smtp_ssl: bool = False  # implicit TLS (port 465)
    smtp_from: str = ""
    smtp_timeout: float = 20.0

    log_level: str = "INFO"
    log_json: bool = False

    # --- operations (issue 7): flood control, shutdown, access log, retention
    flood_chat_limit: int = 40  # messages stored per chat in any flood_chat_period seconds (0 = off); a person
    # filling a report with buttons can send ~20 in a minute, a script sends hundreds
    flood_chat_period: float = 60.0
    flood_channel_per_second: int = 1000  # updates accepted per channel per second by one instance (0 = off)
    shutdown_drain_seconds: float = 10.0  # on SIGTERM: time to finish accepted work before exiting
    http_access_log: bool = False  # aiohttp access log lines (redacted like every log)
    retention_inbound_days: int = 30  # message texts of processed inbound events are erased after this
    retention_outbox_days: int = 30  # texts of delivered outbox messages are erased after this
    retention_unanswered_days: int = 180  # unanswered questions (KB work list) are deleted after this

    # ---------------------------------------------------------- validation (start-up stops on a typo)
    @field_validator("ticket_categories")
    @classmethod
    def _categories(cls, v: str) -> str:
        parse_categories(v)
        return v

    @field_validator("ticket_holidays")
    @classmethod
    def _holidays(cls, v: str) -> str:
        parse_holidays(v)
        return v

    @field_validator("broadcast_topics")
    @classmethod
    def _topics(cls, v: str) -> str:
        if not parse_topics(v):
            raise ValueError("cần ít nhất một chủ đề / at least one topic (key=Label)")
        return v

    @field_validator("broadcast_quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet(v)
        return v

    @field_validator("broadcast_slogan_time")
    @classmethod
    def _slogan_time(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @field_validator("staff_chat_id")
    @classmethod
    def _chat_id(cls, v: str) -> str:
        v = v.strip()
        if v and not re.fullmatch(r"-?\d{1,20}", v):
            raise ValueError(f"«{v}»: ID nhóm Telegram là một số, ví dụ -1001234567890 / a Telegram chat id is a number")
        return v

    @field_validator("console_commune_chats")
    @classmethod
    def _commune_chats(cls, v: str) -> str:
        for item in split_list(v):
            code, _, chat = item.partition("=")
            group, _, topic = chat.partition("/")
            if not (code.strip().isdigit() and group.strip().lstrip("-").isdigit() and (not topic or topic.isdigit())):
                raise ValueError("CONSOLE_COMMUNE_CHATS: mã xã=ID nhóm[/ID chủ đề], cách nhau dấu phẩy, "
                                 "ví dụ 30292=-1001234567,30307=-1007654321/15")
        return v

    def commune_chats(self) -> dict[str, tuple[str, str | None]]:
        """commune code -> (Telegram group id, forum topic id or None)."""
        out: dict[str, tuple[str, str | None]] = {}
        for item in split_list(self.console_commune_chats):
            code, _, chat = item.partition("=")
            group, _, topic = chat.partition("/")
            out[code.strip()] = (group.strip(), topic.strip() or None)
        return out

    @field_validator("staff_user_ids")
    @classmethod
    def _user_ids(cls, v: str) -> str:
        bad = [x for x in split_list(v) if not x.isdigit()]
        if bad:
            raise ValueError(f"«{bad[0]}»: ID người dùng Telegram là một số / Telegram user ids are numbers")
        return v

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _tg_secret(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v):
            raise ValueError("chỉ gồm A-Z a-z 0-9 _ -, tối đa 256 ký tự (quy định của Telegram) / "
                             "1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return v

    @field_validator("zalo_bot_webhook_secret")
    @classmethod
    def _zalo_secret(cls, v: str) -> str:
        if v and not 8 <= len(v) <= 256:
            raise ValueError("cần 8–256 ký tự (quy định của Zalo) / 8-256 characters (Zalo's rule)")
        return v

    @field_validator("web_embed_origins")
    @classmethod
    def _embed_origins(cls, v: str) -> str:
        for origin in re.split(r"[\s,;]+", v):
            if origin and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
                raise ValueError(f"«{origin}»: cần dạng https://ten-mien (không có đường dẫn) / want https://host[:port]")
        return v

    @field_validator("kb_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v in ("", None) else v

    @property
    def seed_admin_ids(self) -> list[str]:
        return split_list(self.staff_user_ids)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ntm-bot.sqlite3').as_posix()}"

    @property
    def zalo_bot_effective_mode(self) -> str:
        return self.zalo_bot_mode or ("webhook" if self.zalo_bot_webhook_url else "polling")

    @property
    def web_embed_origin_list(self) -> list[str]:
        return [x for x in re.split(r"[\s,;]+", self.web_embed_origins) if x]


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def settings_error(err: Exception) -> str:
    """A pydantic ValidationError as lines an operator can act on: KEY: what is wrong."""
    lines = ["Cấu hình không hợp lệ / invalid settings (.env or environment):"]
    for e in getattr(err, "errors", lambda: [])():
        key = ".".join(str(x) for x in e.get("loc", ())).upper() or "?"
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)
