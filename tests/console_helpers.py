"""The officers' console against a real `ntm-bot run` (webhook mode, the fake Telegram API): accounts created
with the real `ntm-bot staff add` command, a logged-in HTTP client that sends what a browser sends."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.instances import ROOT, BotProcess
from tests.tickets_helpers import OFFICER, SECRET, STAFF

BINH_DUC, LONG_XUYEN = "30292", "30307"  # "xã Mỹ Khánh" (a former unit) is today's Phường Bình Đức
PASSWORD = "Mat-khau-rat-dai-2026"
TG_AN, TG_BINH, TG_LANH = 9101, 9102, 9103  # the officers' Telegram accounts (private notices)
ACCOUNTS = {  # login: (name, role, communes, Telegram id)
    "an.binhduc": ("Nguyễn Văn An", "officer", BINH_DUC, TG_AN),
    "binh.longxuyen": ("Trần Thị Bình", "officer", LONG_XUYEN, TG_BINH),
    "lanhdao": ("Lê Văn Lãnh", "supervisor", "", TG_LANH),
    "quantri": ("Phạm Quản Trị", "admin", "", 9104),
}


def staff_cli(db_url: str, workdir: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": db_url, "DATA_DIR": str(workdir), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    code = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "staff", *args], input=(password or "") + "\n", text=True,
                          capture_output=True, env=env, cwd=workdir, timeout=120)


def make_accounts(db_url: str, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for login, (name, role, communes, tg) in ACCOUNTS.items():
        r = staff_cli(db_url, workdir, "add", login, "--name", name, "--role", role, "--communes", communes,
                      "--telegram-id", str(tg), "--password-stdin", password=PASSWORD)
        assert r.returncode == 0, r.stderr


def console_bot(workdir: Path, fake: Any, db_url: str, name: str = "bot", **env: str) -> BotProcess:
    return BotProcess(workdir / name, fake_base_url=fake.base_url, token=fake.token, database_url=db_url,
                      kb_dir=ROOT / "tests" / "data" / "kb", name=name, env={
                          "TELEGRAM_WEBHOOK_SECRET": SECRET, "STAFF_CHAT_ID": str(STAFF), "STAFF_USER_IDS": str(OFFICER),
                          "TELEGRAM_CHAT_RATE": "50", "TELEGRAM_CHAT_BURST": "10", "TELEGRAM_GROUP_PER_MINUTE": "600",
                          **env})


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


class Client:
    """An officer's browser over plain HTTP: cookies, the Origin header, the CSRF token of the last page."""

    def __init__(self, base: str):
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        async with self.http.get(self.base + path, **kw) as r:
            body = await r.text()
            m = CSRF_RE.search(body)
            if m:
                self.csrf = m.group(1)
            return r.status, body

    async def post(self, path: str, form: dict[str, str], *, origin: str | None = "self", csrf: bool = True,
                   **kw: Any) -> tuple[int, str]:
        headers = {"Origin": self.base} if origin == "self" else ({"Origin": origin} if origin else {})
        headers.update(kw.pop("headers", {}))
        data = {**({"csrf": self.csrf} if csrf else {}), **form}
        async with self.http.post(self.base + path, data=data, headers=headers, **kw) as r:
            body = await r.text()
            m = CSRF_RE.search(body)
            if m:
                self.csrf = m.group(1)
            return r.status, body

    async def login(self, login: str, password: str = PASSWORD) -> tuple[int, str]:
        await self.get("/canbo/dang-nhap")
        return await self.post("/canbo/dang-nhap", {"login": login, "password": password})

    def cookie(self, name: str) -> str:
        for c in self.http.cookie_jar:
            if c.key == name:
                return c.value
        return ""
