"""The contract between the core and a channel adapter.

The core only needs to know what a channel can show (`Caps`) to shape replies; an adapter turns
platform events into `Inbound` and sends outbox payloads, reporting what happened as a `SendResult`.
"""
from __future__ import annotations

import abc
import asyncio
import contextlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Caps:
    buttons: bool  # inline buttons; without them choices become numbered text
    max_len: int  # characters per message (after NFC)
    markup: bool = True  # renders **bold**; otherwise it is stripped
    broadcasts: bool = True  # can be subscribed to (the web chat cannot: its messages live in the outbox only)


CAPS: dict[str, Caps] = {
    "telegram": Caps(buttons=True, max_len=4000),  # 4096 minus room for HTML entities
    "zalo": Caps(buttons=False, max_len=2000, markup=False),
    "zalo_oa": Caps(buttons=False, max_len=2000, markup=False),
    "terminal": Caps(buttons=False, max_len=100_000, markup=False),
    "web": Caps(buttons=True, max_len=4000, broadcasts=False),  # the web chat: buttons as buttons, **bold** as <strong>
    "terminal_staff": Caps(buttons=False, max_len=100_000, markup=False),
}


def caps_of(channel: str) -> Caps:
    return CAPS.get(channel, Caps(buttons=False, max_len=2000, markup=False))


# Words that depend on whether a channel shows buttons: "bấm «Bỏ qua»" on Telegram, "gõ «bỏ qua»" where choices
# are typed. Texts mark both with `by_caps()`; `core.deliver` keeps the one for the channel the message goes to
# (whoever builds the message, e.g. a staff answer to a Zalo citizen). The markers are control characters, which
# inbound text never contains (the core strips them), so nothing people wrote is ever rewritten.
_ALT_OPEN, _ALT_SEP, _ALT_CLOSE = "\x1e", "\x1f", "\x1d"
_ALT = re.compile(f"{_ALT_OPEN}([^{_ALT_OPEN}{_ALT_SEP}{_ALT_CLOSE}]*){_ALT_SEP}([^{_ALT_OPEN}{_ALT_SEP}{_ALT_CLOSE}]*){_ALT_CLOSE}")
_ALT_STRAY = re.compile(f"[{_ALT_OPEN}{_ALT_SEP}{_ALT_CLOSE}]")


def by_caps(with_buttons: str, typed: str) -> str:
    """Mark words that differ by channel: `by_caps("bấm «Bỏ qua»", "gõ «bỏ qua»")`."""
    return f"{_ALT_OPEN}{with_buttons}{_ALT_SEP}{typed}{_ALT_CLOSE}"


def for_caps(text: str, caps: Caps) -> str:
    """Keep, of every `by_caps` pair in text, the words for a channel with these caps."""
    if _ALT_OPEN not in text:
        return text
    return _ALT_STRAY.sub("", _ALT.sub(r"\1" if caps.buttons else r"\2", text))


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: str | None = None
    retry_after: float | None = None  # platform asked us to wait (429)
    blocked: bool = False  # the person blocked the bot / left: stop sending to them
    permanent: bool = False  # will never succeed (bad request): do not retry
    error: str = ""
    new_chat_id: str | None = None  # the chat moved (Telegram group -> supergroup)
    extra: dict[str, Any] | None = None  # adapter-specific result (e.g. a created forum topic id)

    @property
    def transient(self) -> bool:
        return not (self.ok or self.blocked or self.permanent)


# SendResult.extra flag: the chat itself cannot be reached (e.g. the Zalo OA reply window has passed), not just
# this message; what else is queued for it will not arrive either.
CHAT_UNREACHABLE = "chat_unreachable"


class ChannelAdapter(abc.ABC):
    """One platform. `send` must never raise for platform errors: it reports them."""

    name: str

    @abc.abstractmethod
    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult: ...

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Begin receiving (polling loop), if the adapter pulls updates."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving; in-flight work is drained by the app."""


# Feature modules add their own adapters (e.g. e-mail for the ticket copy): fn(app), run by
# `App.configure_channels` after the built-in channels.
CHANNEL_HOOKS: list[Callable[[Any], None]] = []


_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def strip_markup(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, then line, then sentence, then word boundaries; never inside a word."""
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(sep)
            if cut >= limit // 3:
                cut += len(sep)
                break
        if cut < limit // 3:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


async def cancel_quietly(task: "asyncio.Task[Any] | None") -> None:
    """Stop an adapter's background task (poller, token refresher) and wait for it; its errors no longer matter."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
