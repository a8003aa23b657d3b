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
    telegram_global_rate: float = 30.0  # messages per second, whole bot
    telegram_chat_rate: float = 1.0  # messages per second in one private chat
    telegram_chat_burst: int = 3  # short bursts tolerated in one private chat
    telegram_group_per_minute: int = 20
    outbox_max_age_hours: float = 72.0  # transient failures are retried this long, then marked dead

    # --- broadcasts (issue 6): subscriptions, staff broadcasts, slogan of the week
    # Topics citizens can subscribe to: "key=Label; key=Label" (keys: a-z, 0-9, -, _; at most 16 chars).
    broadcast_topics: str = "ntm=Tin nông thôn mới; ocop=Sản phẩm OCOP; xa=Thông báo của xã, phường"
    broadcast_commune_topic: str = "xa"  # subscribers of this topic are asked for their commune; commune notices go to it
    broadcast_quiet_hours: str = "21:00-07:00"  # local time (Asia/Ho_Chi_Minh) when nothing is sent; empty = never quiet
    broadcast_approval_role: str = ""  # e.g. "supervisor": a different officer with that role (or higher) must approve
    broadcast_concurrency: int = 8  # sends in flight per channel = the most recipients a crash can leave "unknown"
    broadcast_telegram_rate: float = 29.0  # messages/s for broadcasts (Telegram allows ~30/s per bot; 1/s stays for chats)
    zalo_broadcast_rate: float = 10.0  # messages/s for broadcasts on Zalo (no published limit; 429 = back off)
    broadcast_default_rate: float = 20.0  # messages/s on other channels
    broadcast_max_attempts: int = 5  # transient failures per recipient before it counts as failed
    broadcast_slogan_weekly: bool = False  # slogan of the week (off by default; the agency decides)
    broadcast_slogan_weekday: int = Field(default=1, ge=1, le=7)  # 1 = Monday … 7 = Sunday
    broadcast_slogan_time: str = "08:00"  # local time
    broadcast_slogan_topic: str = "ntm"  # sent to subscribers of this topic

    # --- matching thresholds (0..100)
    faq_answer_threshold: float = 62.0
    faq_suggest_threshold: float = 42.0

    log_level: str = "INFO"
    log_json: bool = False

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
