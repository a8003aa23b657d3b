"""Real bot instances as separate OS processes (`ntm-bot run`), for multi-instance, shutdown and fault runs.

Used by tests and by bench/load.py and bench/faults.py. Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SECRET = "ops-Secret_0123456789"


def fresh_pg_database(admin_url: str) -> tuple[str, Any]:
    """A new empty PostgreSQL database (URL, drop function): tests that must not share the session's."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"ntm_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """One `ntm-bot run` in webhook mode against a fake Bot API.

    `preload` names modules imported before the CLI runs (e.g. a test job); the process is otherwise exactly
    `ntm-bot run` with the given environment.
    """

    def __init__(self, workdir: Path, *, fake_base_url: str, token: str, database_url: str, kb_dir: Path | None,
                 port: int | None = None, env: dict[str, str] | None = None, preload: tuple[str, ...] = (),
                 name: str = "bot", pythonpath: tuple[str, ...] = ()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.name = name
        self.preload = preload
        self.log_path = self.workdir / f"{name}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "ZALO_"))},
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": fake_base_url,
            "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(self.workdir),
            "KB_DIR": str(kb_dir) if kb_dir else "",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join([str(ROOT), *pythonpath, os.environ.get("PYTHONPATH", "")]),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "BotProcess":
        code = "".join(f"import {m}; " for m in self.preload) + "import sys; from bot.cli import main; sys.exit(main(['run']))"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=self.workdir, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
                try:
                    async with s.get(self.url + "/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log()[-3000:]}")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    async def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} did not exit within {timeout}s")
            await asyncio.sleep(0.05)
        return self.proc.returncode

    def stop_now(self) -> None:
        """Cleanup: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def post_update(session: aiohttp.ClientSession, base_url: str, update: dict[str, Any],
                      secret: str = SECRET, timeout: float = 10.0) -> int:
    """POST one update to an instance's webhook; the HTTP status, or 0 if the connection failed."""
    try:
        async with session.post(base_url + "/telegram/webhook", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            await r.read()
            return r.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 0


async def scrape(session: aiohttp.ClientSession, base_url: str) -> str:
    async with session.get(base_url + "/metrics") as r:
        return await r.text()


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (Prometheus text format)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        if metric != name:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += float(value)
    return total
