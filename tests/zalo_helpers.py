"""Zalo citizens for end-to-end tests: they type (Zalo has no buttons) through the fake Zalo servers over real
HTTP, and read the bot's messages in order. The staff side is the fake Telegram API (tests/tickets_helpers.py)."""
from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from tests.conftest import ZALO_SECRET
from tests.tickets_helpers import CODE_RE, ticket_settings

BUTTON_WORDS = re.compile(r"\b(?:bấm|nhấn|nút)\b", re.IGNORECASE)  # what no Zalo citizen should be told to do


def zalo_ticket_settings(tmp_path: Path, fake_tg: Any, *, zalo: Any = None, oa: Any = None, **overrides: Any):
    """The staff inbox on (fake) Telegram, citizens on the fake Zalo Bot Platform and/or Official Account.
    Per-chat pacing is faster than production, as in tickets_helpers (pacing is tested on its own)."""
    values: dict[str, Any] = {}
    if zalo is not None:
        values.update(zalo_bot_token=zalo.token, zalo_bot_api_base_url=zalo.base_url, zalo_bot_mode="webhook",
                      zalo_bot_webhook_secret=ZALO_SECRET, zalo_bot_poll_timeout=2, zalo_bot_retry_after=0.5,
                      zalo_bot_chat_rate=50.0, zalo_bot_chat_burst=10, zalo_bot_rate=100.0)
    if oa is not None:
        access, refresh = oa.issue_tokens()
        values.update(zalo_oa_app_id=oa.app_id, zalo_oa_app_secret=oa.app_secret, zalo_oa_secret_key=oa.oa_secret_key,
                      zalo_oa_access_token=access, zalo_oa_refresh_token=refresh, zalo_oa_api_base_url=oa.base_url,
                      zalo_oauth_base_url=oa.base_url, zalo_oa_chat_rate=50.0, zalo_oa_chat_burst=10,
                      zalo_oa_rate=100.0)
    values.update(overrides)
    return ticket_settings(tmp_path, fake_tg, **values)


class Citizen:
    """One person writing to the bot on Zalo. Subclasses say how to send and where the bot's messages are."""

    def __init__(self, fake: Any, app: Any, chat_id: str, name: str = "Chú Tư"):
        self.fake, self.app, self.chat_id, self.name = fake, app, chat_id, name
        self.seen = 0

    def inbox(self) -> list[Any]:
        return self.fake.to(self.chat_id)

    async def say(self, text: str) -> None:
        raise NotImplementedError

    async def photo(self, url: str, caption: str = "") -> None:
        raise NotImplementedError

    async def expect(self, needle: str, timeout: float = 10.0) -> Any:
        """The next message (after those already read) containing needle; marks everything up to it read."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.inbox()
            for i in range(self.seen, len(msgs)):
                if needle.lower() in msgs[i].text.lower():
                    self.seen = i + 1
                    return msgs[i]
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.chat_id}: no message with {needle!r}; got "
                                     f"{[m.text[:80] for m in msgs[self.seen:]]}")
            await asyncio.sleep(0.02)


class BotCitizen(Citizen):
    """On the Zalo Bot Platform: events POSTed to /zalo/webhook, or queued for getUpdates (polling)."""

    async def _deliver(self, event: dict[str, Any]) -> None:
        if self.app.settings.zalo_bot_effective_mode == "polling":
            self.fake.push(event)
            return
        url = f"http://127.0.0.1:{self.app.settings.http_port}/zalo/webhook"
        assert await self.fake.post_webhook(url, event, secret=ZALO_SECRET) == 200

    async def say(self, text: str) -> None:
        await self._deliver(self.fake.text(self.chat_id, text, name=self.name))

    async def photo(self, url: str, caption: str = "") -> None:
        await self._deliver(self.fake.image(self.chat_id, url, caption, name=self.name))

    async def voice(self, url: str | None = None) -> dict[str, Any]:
        event = self.fake.voice(self.chat_id, url, name=self.name)
        await self._deliver(event)
        return event


class OACitizen(Citizen):
    """Writing to the agency's Official Account: signed events POSTed to /zalo-oa/webhook."""

    async def _deliver(self, event: dict[str, Any]) -> None:
        url = f"http://127.0.0.1:{self.app.settings.http_port}/zalo-oa/webhook"
        assert await self.fake.post_webhook(url, event) == 200

    async def say(self, text: str) -> None:
        await self._deliver(self.fake.text_event(self.chat_id, text))

    async def photo(self, url: str, caption: str = "") -> None:
        await self._deliver(self.fake.image_event(self.chat_id, url, caption))

    async def send(self, event: dict[str, Any]) -> dict[str, Any]:
        await self._deliver(event)
        return event


async def report_by_typing(c: Citizen, *, description: str = "Đường ấp 3 bị sạt lở, xe máy không qua được",
                           photo: str | None = None, place: str = "xa my khanh",
                           contact: tuple[str, str] | None = None) -> str:
    """The whole guided report, typed: the category by its number, the commune by its old name without
    diacritics, the hamlet skipped in words, the contact by number, the confirmation in words. Returns the code."""
    await c.say("phan anh")
    step1 = await c.expect("Bước 1/5")
    assert "1. Giao thông" in step1.text and "2. Thủy lợi" in step1.text
    await c.say("1")
    await c.expect("Bước 2/5")
    if photo:
        await c.photo(photo, description)
    else:
        await c.say(description)
    await c.expect("Bước 3/5")
    await c.say(place)
    await c.expect("Phường Bình Đức")
    step4 = await c.expect("Bước 4/5")
    assert "gõ «bỏ qua»" in step4.text, step4.text
    await c.say("bo qua")
    step5 = await c.expect("Bước 5/5")
    assert "1. 🙈 Gửi ẩn danh" in step5.text and "2. 📇 Để lại họ tên" in step5.text
    if contact is None:
        await c.say("1")
    else:
        await c.say("2")
        consent = await c.expect("Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15")
        assert "1. ✅ Tôi đồng ý" in consent.text
        await c.say("đồng ý")
        await c.expect("họ và tên")
        await c.say(contact[0])
        await c.expect("điện thoại")
        await c.say(contact[1])
    summary = await c.expect("Xem lại phản ánh")
    assert "gõ «gửi»" in summary.text and "1. ✅ Gửi phản ánh" in summary.text
    await c.say("gửi")
    receipt = await c.expect("Đã tiếp nhận phản ánh")
    code = CODE_RE.search(receipt.text)
    assert code, receipt.text
    return code.group(0)


def file_ticket(app: Any, channel: str, chat_id: str, description: str = "Đường ấp 3 bị sạt lở, xe máy không qua được",
                phone: str | None = None) -> str:
    """A ticket filed by a citizen of `channel` (as `feedback.send` files it), for tests about what happens next."""
    from bot.features.tickets import service as ticketing
    from bot.kernel import inbox
    from bot.kernel.messages import utcnow

    def go(s: Any) -> str:
        inbox.get_or_create_chat(s, channel, chat_id).user_id = chat_id
        t, _ = ticketing.create_ticket(
            s, app.settings, utcnow(), channel=channel, chat_id=chat_id, user_id=chat_id,
            draft_key=f"{channel}:{chat_id}:{description[:20]}", category=ticketing.category_by_slug(app.settings, "giao-thong"),
            description=description, commune_name="Phường Bình Đức", contact_name="Người Dân" if phone else None,
            contact_phone=phone, consent_at=utcnow() if phone else None,
        )
        return t.code

    code = app.db.call(go)
    app.outbox.kick()
    return code
