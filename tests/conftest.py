"""Shared fixtures: settings on a temporary SQLite file, the fake Telegram API, a running App."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Callable, Iterator

import pytest
import sqlalchemy as sa

from bot import composition
from bot.config import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.instances import fresh_pg_database

if TYPE_CHECKING:
    from tests.fakes.zalo_bot_api import FakeZaloBot
    from tests.fakes.zalo_oa_api import FakeZaloOA

HERE = Path(__file__).resolve().parent
MINI_KB = HERE / "data" / "kb"
# Bots the tests start as processes (`ntm-bot run`) keep the shipped decision model: retraining it for the mini
# knowledge base is a minute of CPU that would slow every timing the tests check (one test retrains on purpose).
os.environ.setdefault("KB_RETRAIN", "false")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("NTM_REQUIRE_PG") == "1"
composition.load()  # the features and channels, as the running bot has them (tests call kernel functions directly)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "data_dir": tmp_path,
        "telegram_bot_token": "",
        "staff_user_ids": "",
        "staff_chat_id": "",
        "http_host": "127.0.0.1",
        "http_port": 0,
        "kb_retrain": False,  # the mini knowledge base is decided by the shipped model; one test retrains
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]  # pydantic-settings' private init keyword; fields by name


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


async def eventually(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    """Poll until check() returns something truthy (a database state reached by background workers)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    """Start Apps (stopped at the end of the test). Returns the running App."""
    from bot.app import App

    apps: list[App] = []

    async def factory(settings: Settings | None = None, *, kb_dir: Path | None = None, serve_http: bool = True,
                      adapters: tuple[object, ...] = (), clock: Callable[[], object] | None = None,
                      registry: object = None, **overrides: object) -> App:
        s = settings or make_settings(tmp_path, **overrides)
        if kb_dir is not None:
            s = s.model_copy(update={"kb_dir": kb_dir})
        if serve_http and not s.http_port:
            s = s.model_copy(update={"http_port": free_port()})
        app = App(s, clock=clock, registry=registry) if clock is not None else App(s, registry=registry)  # type: ignore[arg-type]  # the fixture's arguments are loosely typed for the tests' convenience
        app.configure_channels()
        for a in adapters:
            app.add_adapter(a)  # type: ignore[arg-type]  # the fixture's arguments are loosely typed for the tests' convenience
        await app.start(serve_http=serve_http)
        apps.append(app)
        return app

    yield factory
    for app in reversed(apps):
        if app.started:
            await app.stop()


def tg_settings(tmp_path: Path, fake: FakeTelegram, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "telegram_bot_token": fake.token,
        "telegram_api_base_url": fake.base_url,
        "telegram_mode": "polling",
        "kb_dir": MINI_KB,
    }
    base.update(overrides)
    return make_settings(tmp_path, **base)


# ---------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def pg_url() -> str:
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as err:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (NTM_REQUIRE_PG=1) but not reachable at {PG_ADMIN_URL}: {err}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {err}")
    admin.dispose()
    url, drop = fresh_pg_database(PG_ADMIN_URL)
    yield url
    drop()


@pytest.fixture
def own_pg(pg_url: str) -> Iterator[str]:
    """A PostgreSQL database of this test's own: the session one is shared, and the fakes' update ids restart at
    1000 in every test (stored events would make later tests' updates look like redeliveries)."""
    url, drop = fresh_pg_database(PG_ADMIN_URL)
    yield url
    drop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the answer-quality figures of the shipped knowledge base (leave-one-out, regression set)."""
    import sys

    for module in ("tests.test_kb_quality", "tests.test_quality"):
        report = getattr(sys.modules.get(module), "REPORT", None)
        if report is not None:
            terminalreporter.write_line(report.summary().splitlines()[0])
    if "tests.test_understanding" in sys.modules:  # the calibrated decision's own cross-validation (knowledge/model.json)
        from knowledge.decision import DecisionModel
        from knowledge.train import cv_summary

        model = DecisionModel.load()
        if model is not None:
            terminalreporter.write_line("Quyết định trả lời, " + cv_summary(model))


# ---------------------------------------------------------------- Zalo (fake Bot Platform and OA API)
ZALO_SECRET = "zalo-Webhook_secret-42"


@pytest.fixture
async def fake_zalo() -> AsyncIterator["FakeZaloBot"]:
    from tests.fakes.zalo_bot_api import FakeZaloBot

    fake = FakeZaloBot()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_zalo_oa() -> AsyncIterator["FakeZaloOA"]:
    from tests.fakes.zalo_oa_api import FakeZaloOA

    fake = FakeZaloOA()
    await fake.start()
    yield fake
    await fake.stop()


def zalo_settings(tmp_path: Path, fake: "FakeZaloBot", **overrides: object) -> Settings:
    base: dict[str, object] = {
        "zalo_bot_token": fake.token,
        "zalo_bot_api_base_url": fake.base_url,
        "zalo_bot_mode": "webhook",
        "zalo_bot_webhook_secret": ZALO_SECRET,
        "zalo_bot_poll_timeout": 2,
        "zalo_bot_retry_after": 0.5,
        "zalo_bot_unauthorized_pause": 0.5,
        "kb_dir": MINI_KB,
    }
    base.update(overrides)
    return make_settings(tmp_path, **base)


def zalo_oa_settings(tmp_path: Path, fake: "FakeZaloOA", tokens: tuple[str, str] | None = None,
                     **overrides: object) -> Settings:
    access, refresh = tokens or fake.issue_tokens()
    base: dict[str, object] = {
        "zalo_oa_app_id": fake.app_id,
        "zalo_oa_app_secret": fake.app_secret,
        "zalo_oa_secret_key": fake.oa_secret_key,
        "zalo_oa_access_token": access,
        "zalo_oa_refresh_token": refresh,
        "zalo_oa_api_base_url": fake.base_url,
        "zalo_oauth_base_url": fake.base_url,
        "kb_dir": MINI_KB,
    }
    base.update(overrides)
    return make_settings(tmp_path, **base)
