"""Settings, loaded from the environment and `.env` (see `.env.example` for every key)."""
from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def split_list(v: str) -> list[str]:
    """"1, 2;3" -> ["1", "2", "3"] (lists in the environment are comma-separated)."""
    return [x.strip() for x in v.replace(";", ",").split(",") if x.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite file under data/")
    data_dir: Path = PROJECT_ROOT / "data"

    # --- knowledge base (default: the curated content shipped in knowledge/data)
    kb_dir: Path | None = None
    kb_watch_seconds: float = 5.0  # how often a running bot checks whether `ntm-bot kb reload` was asked

    # --- agency shown to citizens
    agency_name: str = "Văn phòng Điều phối nông thôn mới tỉnh An Giang"
    agency_contact: str = "Ủy ban nhân dân xã, phường nơi bạn cư trú"
    contact_retention_months: int = 24

    # --- HTTP server (webhooks, health)
    http_host: str = "127.0.0.1"
    http_port: int = 8080

    # --- Telegram
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_mode: str = Field(default="polling", pattern="^(polling|webhook)$")
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_read_timeout: float = 10.0  # seconds to wait for a Bot API answer before retrying later

    # --- staff
    staff_chat_id: str = ""
    staff_user_ids: str = ""  # comma-separated Telegram user ids of the first admins

    # --- outbound delivery
    send_concurrency: int = 16
    group_commit: bool = True  # store, process and claim many updates per transaction (see bot/pipeline.py)
    telegram_global_rate: float = 30.0  # messages per second, whole bot
    telegram_chat_rate: float = 1.0  # messages per second in one private chat
    telegram_chat_burst: int = 3  # short bursts tolerated in one private chat
    telegram_group_per_minute: int = 20
    outbox_max_age_hours: float = 72.0  # transient failures are retried this long, then marked dead
    outbox_lease_seconds: float = 120.0  # a send claimed by a process that died is retried after this long

    # --- matching thresholds (0..100)
    faq_answer_threshold: float = 58.0
    faq_suggest_threshold: float = 42.0

    # --- tickets (citizen reports, staff inbox): see docs/tickets-config.md
    # "Label:working days" pairs; the order is the order of the buttons citizens see.
    ticket_categories: str = (
        "Giao thông:10, Thủy lợi:10, Điện:10, Nước sạch:10, Môi trường:10, Trường học:10, Y tế:10, "
        "Văn hóa:10, OCOP:10, Góp ý chương trình NTM:15, Khác:10"
    )
    ticket_holidays: str = "01-01, 04-30, 05-01, 09-02"  # MM-DD every year, or YYYY-MM-DD once (Tết, Giỗ Tổ: add yearly)
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
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
