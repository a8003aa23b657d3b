"""Drive citizens and officers through the fake Telegram API (polling or webhook), as people would."""
from __future__ import annotations

import asyncio
import html
import re
import time
from typing import Any, Callable

import aiohttp

from tests.fakes.telegram_api import FakeTelegram, Sent

STAFF = -100777  # the officers' supergroup
OFFICER = 9001  # seeded admin (STAFF_USER_IDS)
SECRET = "tickets-Secret_1"
CODE_RE = re.compile(r"PA-\d{6}")


def ticket_settings(tmp_path, fake: FakeTelegram, **overrides: Any):
    from tests.conftest import tg_settings

    # Production pacing is Telegram's (1 msg/s per private chat, 20/min per group); these tests walk dozens of
    # steps in seconds, so they pace faster (the pacing itself is tested in test_delivery and the fault test).
    base: dict[str, Any] = {"staff_chat_id": str(STAFF), "staff_user_ids": str(OFFICER),
                            "telegram_chat_rate": 50.0, "telegram_chat_burst": 10, "telegram_group_per_minute": 600}
    if overrides.get("telegram_mode") == "webhook":
        base["telegram_webhook_secret"] = SECRET
    base.update(overrides)
    return tg_settings(tmp_path, fake, **base)


class Driver:
    """Sends updates the way the app receives them: getUpdates (polling) or POST /telegram/webhook."""

    def __init__(self, fake: FakeTelegram, app: Any = None, port: int | None = None):
        self.fake = fake
        self.app = app
        self.port = port
        self.webhook = bool(app is not None and app.settings.telegram_mode == "webhook") or port is not None

    async def send(self, update: dict[str, Any]) -> None:
        if not self.webhook:
            self.fake.push(update)
            return
        port = self.port or self.app.settings.http_port
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        for attempt in range(50):
            try:
                async with aiohttp.ClientSession() as s:
                    async with s.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
                        assert r.status == 200, r.status
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.2)  # a restarting bot: Telegram retries a webhook until it is answered
        raise AssertionError("webhook not reachable")


def inbox_of(fake: FakeTelegram, chat_id: int | str) -> list[Sent]:
    """fake.to(chat_id), indexed incrementally (hundreds of people polling their inboxes)."""
    index: dict[str, list[Sent]] = fake.__dict__.setdefault("_by_chat", {})
    done = fake.__dict__.get("_indexed", 0)
    for m in fake.sent[done:]:
        index.setdefault(m.chat_id, []).append(m)
    fake.__dict__["_indexed"] = len(fake.sent)
    return index.get(str(chat_id), [])


class Person:
    """One Telegram user in one chat, reading the bot's messages in order."""

    def __init__(self, driver: Driver, chat_id: int, user_id: int | None = None, name: str = "Nông Dân",
                 username: str | None = None):
        self.d = driver
        self.fake = driver.fake
        self.chat_id = chat_id
        self.user_id = user_id if user_id is not None else chat_id
        self.name = name
        self.username = username
        self.seen = 0  # messages to this chat already read
        self.poll = 0.02

    def inbox(self) -> list[Sent]:
        return inbox_of(self.fake, self.chat_id)

    async def say(self, text: str = "", **kw: Any) -> None:
        await self.d.send(self.fake.make_message(self.chat_id, text, user_id=self.user_id, name=self.name,
                                                 username=self.username, **kw))

    async def press(self, data: str, message_id: int = 1, **kw: Any) -> None:
        await self.d.send(self.fake.make_callback(self.chat_id, data, user_id=self.user_id, message_id=message_id,
                                                  name=self.name, **kw))

    async def expect(self, needle: str, timeout: float = 10.0, where: Callable[[Sent], bool] = lambda s: True) -> Sent:
        """The next message (after those already read) containing needle; marks everything up to it read."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.inbox()
            for i in range(self.seen, len(msgs)):
                if needle.lower() in plain(msgs[i].text).lower() and where(msgs[i]):
                    self.seen = i + 1
                    return msgs[i]
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.chat_id}: no message with {needle!r}; got "
                                     f"{[plain(m.text)[:70] for m in msgs[self.seen:]]}")
            await asyncio.sleep(self.poll)


def plain(text: str) -> str:
    """What a person reads: Telegram HTML without tags and entities."""
    return html.unescape(re.sub(r"</?[a-z-]+>", "", text))


def button(msg: Sent, prefix: str) -> str:
    for b in msg.buttons:
        if b["callback_data"].startswith(prefix):
            return b["callback_data"]
    raise AssertionError(f"no button {prefix!r} in {[b['callback_data'] for b in msg.buttons]}")


async def file_report(p: Person, *, description: str = "Đường ấp 3 bị sạt lở, xe máy không qua được",
                      place: str = "xa my khanh", photo: str | None = None, contact: tuple[str, str] | None = None,
                      category: str = "fb:cat:giao-thong") -> str:
    """The whole guided report with buttons; returns the ticket code from the receipt."""
    await p.say("/phananh")
    m = await p.expect("Bước 1/5")
    await p.press(category, message_id=m.message_id)
    await p.expect("Bước 2/5")
    await p.say(description, photo=photo)
    await p.expect("Bước 3/5")
    await p.say(place)
    m = await p.expect("Bước 4/5")
    await p.press("fb:hamlet:skip", message_id=m.message_id)
    m = await p.expect("Bước 5/5")
    if contact is None:
        await p.press("fb:contact:anon", message_id=m.message_id)
    else:
        await p.press("fb:contact:give", message_id=m.message_id)
        m = await p.expect("Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15")
        await p.press("fb:consent:yes", message_id=m.message_id)
        await p.expect("họ và tên")
        await p.say(contact[0])
        await p.expect("điện thoại")
        await p.say(contact[1])
    summary = await p.expect("Xem lại phản ánh")
    await p.press(button(summary, "fb:send:"), message_id=summary.message_id)
    receipt = await p.expect("Đã tiếp nhận phản ánh")
    code = CODE_RE.search(receipt.text)
    assert code, receipt.text
    return code.group(0)


def staff_msgs(fake: FakeTelegram) -> list[Sent]:
    return fake.to(STAFF)


async def wait_card(fake: FakeTelegram, code: str, timeout: float = 10.0) -> Sent:
    hits = await fake.wait_for(lambda s: s.chat_id == str(STAFF) and f"🆕 {code}" in plain(s.text), timeout=timeout)
    return hits[0]

