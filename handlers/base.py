"""What a handler gets (`Ctx`) and how handlers register themselves.

A handler is a plain function `(ctx) -> None` that reads `ctx.inbound`, changes the database through
`ctx.session` and says things with `ctx.reply(...)`. It runs inside the transaction that also marks the
inbound event processed and queues the replies, so either all of it happens or none of it does.
Handlers never import a platform library.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from bot.messages import Button, Inbound, Reply, button_rows, utcnow

if TYPE_CHECKING:  # the database layer is imported lazily: `ntm-bot ask` starts without it
    from sqlmodel import Session

    from bot.config import Settings
    from bot.storage.models import Chat
    from knowledge.kb import KnowledgeBase

log = logging.getLogger(__name__)
Handler = Callable[["Ctx"], None]


@dataclass
class Services:
    """What the core needs from the running app; the same object serves every handler call."""

    settings: "Settings"
    kb_ref: Callable[[], "KnowledgeBase"]  # current knowledge base (swapped on reload)
    clock: Callable[[], dt.datetime] = utcnow
    extras: dict[str, Any] = field(default_factory=dict)  # feature services (e.g. commune finder)

    @property
    def kb(self) -> "KnowledgeBase":
        return self.kb_ref()

    @property
    def placeholder_values(self) -> dict[str, object]:
        s = self.settings
        return {
            "agency_name": s.agency_name,
            "agency_contact": s.agency_contact,
            "contact_retention_months": s.contact_retention_months,
        }


@dataclass
class Ctx:
    inbound: Inbound
    session: "Session"
    chat: "Chat"
    services: Services
    replies: list[Reply] = field(default_factory=list)
    args: str = ""  # text after the command word, for commands
    outcome: dict[str, Any] = field(default_factory=dict)  # what the handler made of the message (`ntm-bot ask --json`)

    # -- saying things
    def reply(self, text: str, buttons: list[Button] | None = None, per_row: int = 1, **kw: Any) -> None:
        """Answer in the chat the message came from (same forum topic, if any)."""
        kw.setdefault("thread_id", self.inbound.thread_id)
        self.replies.append(Reply(text=text, buttons=button_rows(buttons or [], per_row), **kw))

    def send(self, reply: Reply) -> None:
        """Queue a message to any chat (reply.channel/chat_id set)."""
        self.replies.append(reply)

    # -- conversation state
    @property
    def state(self) -> str | None:
        return self.chat.state

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.chat.state_data or {})

    def set_state(self, state: str, data: dict[str, Any] | None = None) -> None:
        self.chat.state = state
        if data is not None:
            self.chat.state_data = data
        self.chat.state_at = self.now

    def update_data(self, **values: Any) -> None:
        d = self.data
        d.update(values)
        self.chat.state_data = d
        self.chat.state_at = self.now

    def clear_state(self) -> None:
        self.chat.state = None
        self.chat.state_data = None
        self.chat.state_at = None

    # -- helpers
    @property
    def now(self) -> dt.datetime:
        return self.services.clock()

    @property
    def settings(self) -> "Settings":
        return self.services.settings

    @property
    def kb(self) -> "KnowledgeBase":
        return self.services.kb

    @property
    def actor(self) -> str:
        return f"{self.inbound.channel}:{self.inbound.user_id}"

    def audit(self, action: str, target: str = "", detail: str = "") -> None:
        from bot.storage.models import AuditLog

        self.session.add(AuditLog(at=self.now, actor=self.actor, action=action, target=target, detail=detail[:1000]))


# ---------------------------------------------------------------- registry
@dataclass
class Command:
    name: str
    handler: Handler
    aliases: tuple[str, ...] = ()  # folded phrases that also trigger it (channels without "/", plain words)
    description: str = ""  # Vietnamese, shown in the Telegram command menu and /help
    staff: bool = False  # only registered staff may use it
    menu: bool = True  # listed in the Telegram command menu (citizen commands)
    interrupts: bool = False  # runs even in the middle of a conversation step when typed without "/"


COMMANDS: dict[str, Command] = {}
CALLBACKS: dict[str, Handler] = {}  # callback data prefix ("faq") -> handler
STEPS: dict[str, Handler] = {}  # conversation state -> handler of the next message
TEXT_HANDLERS: list[tuple[int, Callable[["Ctx"], bool]]] = []  # (order, fn returning True if it handled the text)
MENU: list[tuple[int, Callable[["Ctx"], Button | None]]] = []  # /start menu buttons, by order


def command(
    name: str,
    *,
    aliases: tuple[str, ...] = (),
    description: str = "",
    staff: bool = False,
    menu: bool = True,
    interrupts: bool = False,
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, fn, aliases, description, staff, menu and not staff, interrupts)
        return fn

    return register


def callback(prefix: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        CALLBACKS[prefix] = fn
        return fn

    return register


def step(state: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        STEPS[state] = fn
        return fn

    return register


def text_handler(order: int) -> Callable[[Callable[["Ctx"], bool]], Callable[["Ctx"], bool]]:
    """Free-text handlers are tried in order until one returns True (the FAQ comes last)."""

    def register(fn: Callable[["Ctx"], bool]) -> Callable[["Ctx"], bool]:
        TEXT_HANDLERS.append((order, fn))
        TEXT_HANDLERS.sort(key=lambda t: t[0])
        return fn

    return register


def menu_item(order: int) -> Callable[[Callable[["Ctx"], Button | None]], Callable[["Ctx"], Button | None]]:
    def register(fn: Callable[["Ctx"], Button | None]) -> Callable[["Ctx"], Button | None]:
        MENU.append((order, fn))
        MENU.sort(key=lambda t: t[0])
        return fn

    return register
