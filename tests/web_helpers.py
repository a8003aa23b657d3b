"""The web chat under test: a real `ntm-bot run` (webhook mode against the fake Telegram API, whose staff group is
the officers' inbox) and a real Chromium driven by Playwright."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MINI_KB
from tests.instances import BotProcess
from tests.tickets_helpers import OFFICER, STAFF

CHROMIUM = os.environ.get("NTM_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("NTM_REQUIRE_BROWSER") == "1"
CODE_RE = re.compile(r"PA-\d{6}")
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
DOCS = Path(__file__).resolve().parent.parent / "docs"


def shot_path(tmp_path: Path, name: str) -> str:
    """Screenshots go to docs/ (the README shows them) when NTM_SCREENSHOTS=1, to the test's directory otherwise."""
    return str((DOCS if os.environ.get("NTM_SCREENSHOTS") == "1" else tmp_path) / name)


def web_bot(tmp_path: Path, fake: Any, name: str = "web", database_url: str | None = None,
            env: dict[str, str] | None = None) -> BotProcess:
    return BotProcess(tmp_path / name, fake_base_url=fake.base_url, token=fake.token,
                      database_url=database_url or f"sqlite:///{tmp_path / (name + '.sqlite3')}", kb_dir=MINI_KB,
                      name=name, env={"STAFF_CHAT_ID": str(STAFF), "STAFF_USER_IDS": str(OFFICER),
                                      "TELEGRAM_GROUP_PER_MINUTE": "600", "TELEGRAM_CHAT_RATE": "50",
                                      "TELEGRAM_CHAT_BURST": "10", **(env or {})})


def need_browser() -> None:
    if not os.path.exists(CHROMIUM):
        if REQUIRE_BROWSER:
            pytest.fail(f"Chromium is required (NTM_REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (30, 120, 60)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(width: int = 80, height: int = 60) -> bytes:
    """A phone photo: JPEG with EXIF carrying a GPS position (which must not survive the upload)."""
    from PIL import Image

    img = Image.new("RGB", (width, height), (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (10.0, 22.0, 30.0), "E", (105.0, 26.0, 10.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def bot_texts(page: Any) -> list[str]:
    return await page.locator("#log .msg.bot").all_inner_texts()


async def wait_bot(page: Any, needle: str, timeout: float = 15_000) -> None:
    """Until a bot message containing `needle` is on the page."""
    await page.locator("#log .msg.bot", has_text=needle).first.wait_for(timeout=timeout)


async def say(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def press(page: Any, label: str) -> None:
    """Press the button with this label in the newest bot message that has it."""
    await page.locator("#log .msg.bot .choices button", has_text=label).last.click()


async def bot_count(page: Any) -> int:
    return await page.locator("#log .msg.bot").count()


async def next_bot(page: Any, before: int, timeout: float = 15_000) -> Any:
    """The first bot message after the `before` ones already shown, once it is there."""
    message = page.locator("#log .msg.bot").nth(before)  # (no wait_for_function: the page's CSP forbids eval)
    await message.wait_for(timeout=timeout)
    return message
