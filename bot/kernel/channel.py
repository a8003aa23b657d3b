"""The contract between the kernel and a channel adapter, and the registry of channels.

The kernel only needs to know what a channel can show (`Caps`) to shape replies; an adapter turns
platform events into `Inbound` (handing them to its `Host`) and sends outbox payloads, reporting what
happened as a `SendResult`. Each channel module registers a `ChannelSpec` in `CHANNELS`.
"""
from __future__ import annotations

import abc
import asyncio
import contextlib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol

if TYPE_CHECKING:
    import aiohttp

    from bot.config import Settings
    from bot.kernel.messages import Inbound
    from bot.kernel.registry import Services
    from bot.storage.db import Database


@dataclass(frozen=True)
class Caps:
    buttons: bool  # inline buttons; without them choices become numbered text
    max_len: int  # characters per message (after NFC)
    markup: bool = True  # renders **bold**; otherwise it is stripped
    broadcasts: bool = True  # can be subscribed to (the web chat cannot: its messages live in the outbox only)


class Host(Protocol):
    """What an adapter may use of the running process: a narrow contract, so that a channel never holds the
    whole app (`bot.app.App` implements it)."""

    settings: "Settings"
    services: "Services"  # the clock (`services.clock()`), feature services
    db: "Database"  # `await host.db.run(fn, …)`: fn(session, …) in one transaction, off the event loop
    http: "aiohttp.ClientSession"  # the one shared client session (created on start)
    accepting: bool  # False before start and while shutting down: webhooks answer 503

    async def submit(self, inbound: "Inbound") -> bool:
        """Store an event durably and schedule it (raises `Busy` when it must not be acknowledged)."""
        ...

    async def set_blocked(self, channel: str, chat_id: str, blocked: bool) -> None: ...

    def spawn(self, name: str, fn: Callable[[], Any]) -> "asyncio.Task[None]":
        """Start a supervised background loop (`bot.kernel.tasks.Supervisor`)."""
        ...


class Busy(Exception):
    """The app cannot take this update now (shutting down, or the channel is over its cap): answer 503."""


@dataclass(frozen=True)
class ChannelSpec:
    """A channel as the rest of the bot knows it. Each channel module registers its own (`CHANNELS.register`);
    nothing else lists channels."""

    name: str  # the `Inbound.channel` / outbox channel key
    caps: Caps
    title: str  # Vietnamese, as officers read it ("Zalo OA")
    # Are its settings there (a token, an app id)? Then the running bot builds its adapter with `factory`
    # (as Rasa's `from_credentials`). Channels added by a command (`ntm-bot chat`) have no factory.
    configured: Callable[["Settings"], bool] = lambda settings: False
    factory: Callable[[Host], "ChannelAdapter"] | None = None
    audience: bool = False  # citizens subscribe and get broadcasts here
    broadcast_rate: Callable[["Settings"], float] | None = None  # messages a second for broadcasts
    # Does it alone make `ntm-bot run` a server? The web chat, on by default, does not: with no other channel
    # configured, `ntm-bot run` opens the terminal chat and serves the web chat beside it.
    standalone: bool = True


class ChannelRegistry:
    """Every channel the process knows, by name: what deliver, the officers' texts and broadcasts read."""

    DEFAULT = Caps(buttons=False, max_len=2000, markup=False)

    def __init__(self) -> None:
        self._specs: dict[str, ChannelSpec] = {}

    def register(self, spec: ChannelSpec) -> ChannelSpec:
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        self._specs.pop(name, None)

    def get(self, name: str) -> ChannelSpec | None:
        return self._specs.get(name)

    def __iter__(self) -> Iterator[ChannelSpec]:
        return iter(list(self._specs.values()))

    def caps(self, name: str) -> Caps:
        spec = self._specs.get(name)
        return spec.caps if spec else self.DEFAULT

    def title(self, name: str) -> str:
        spec = self._specs.get(name)
        return spec.title if spec else name

    def audiences(self) -> list[str]:
        return sorted(s.name for s in self._specs.values() if s.audience)

    def broadcast_rate(self, settings: "Settings", name: str) -> float:
        spec = self._specs.get(name)
        return spec.broadcast_rate(settings) if spec and spec.broadcast_rate else settings.broadcast_default_rate

    def configured(self, settings: "Settings", name: str | None = None) -> bool:
        """Is this channel (without a name: any standalone channel with an adapter factory) configured?"""
        return any(s.configured(settings) for s in self if (s.name == name if name else s.factory and s.standalone))

    def adapters(self, host: Host) -> list["ChannelAdapter"]:
        """The adapters of every channel configured in the host's settings, in registration order."""
        return [s.factory(host) for s in self if s.factory and s.configured(host.settings)]


CHANNELS = ChannelRegistry()


def caps_of(channel: str) -> Caps:
    return CHANNELS.caps(channel)


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

    def routes(self) -> list[tuple[str, str, Callable[..., Any]]]:
        """The HTTP routes it serves on the bot's one web server: (method, path, aiohttp handler)."""
        return []

    def close_streams(self) -> None:
        """End long-lived responses it serves (live streams) before the web server shuts down, so shutting down does
        not wait for them."""

    async def start(self) -> None:
        """Begin receiving (polling loop), if the adapter pulls updates."""

    async def stop(self) -> None:
        """Stop receiving; in-flight work is drained by the app."""


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
