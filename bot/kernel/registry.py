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

from bot.kernel.messages import Button, Inbound, Reply, button_rows, utcnow

if TYPE_CHECKING:  # the database layer is imported lazily: `ntm-bot ask` starts without it
    from sqlmodel import Session

    from bot.config import Settings
    from bot.kernel.callbacks import CallbackData, CallbackPrefix
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
    _conv: Any = field(default=None, repr=False)

    # -- whose conversation
    @property
    def conv(self) -> Any:
        """Where this person's conversation state lives (`state`, `state_data`, `state_at`, `options`): the chat
        row in a private chat; in a group, one row per (chat, person, forum topic), so officer A composing a
        broadcast and officer B answering a ticket in the same group never share a step (as PTB's `per_user`)."""
        if self._conv is None:
            self._conv = self.chat if self.inbound.chat_type == "private" else _group_conversation(self)
        return self._conv

    def _dirty(self) -> None:
        """A group conversation row is only written once it holds something."""
        if self._conv is not None and self._conv is not self.chat:
            self.session.add(self._conv)
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
        return self.conv.state

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.conv.state_data or {})

    def set_state(self, state: str, data: dict[str, Any] | None = None) -> None:
        self.conv.state = state
        if data is not None:
            self.conv.state_data = data
        self.conv.state_at = self.now
        self._dirty()

    def update_data(self, **values: Any) -> None:
        d = self.data
        d.update(values)
        self.conv.state_data = d
        self.conv.state_at = self.now
        self._dirty()

    def clear_state(self) -> None:
        if self.conv.state is None and self.conv.state_data is None:
            return
        self.conv.state = None
        self.conv.state_data = None
        self.conv.state_at = None
        self._dirty()

    @property
    def options(self) -> list | None:
        """Choices offered as numbered text (channels without buttons) to this person."""
        return self.conv.options

    def clear_options(self) -> None:
        if self.conv.options is not None:
            self.conv.options = None
            self._dirty()

    # -- helpers
    @property
    def callback_data(self) -> "CallbackData":
        """The pressed button's payload, parsed (never raises; missing arguments read as "")."""
        from bot.kernel.callbacks import CallbackData

        return CallbackData.parse(self.inbound.callback)

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


def _group_conversation(ctx: "Ctx") -> Any:
    """The conversation row of the sender in a group (loaded, or a new one not yet added to the session)."""
    from sqlmodel import select

    from bot.storage.models import Conversation

    i = ctx.inbound
    key = (i.channel, i.chat_id, (i.user_id or "")[:64], (i.thread_id or "")[:32])
    row = ctx.session.exec(select(Conversation).where(
        Conversation.channel == key[0], Conversation.chat_id == key[1], Conversation.user_id == key[2],
        Conversation.thread_id == key[3])).first()
    return row or Conversation(channel=key[0], chat_id=key[1], user_id=key[2], thread_id=key[3])


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
    usage: str = ""  # how it is typed, for /help and /help_staff ("/tracuu PA-000123"); "/name" by default

    @property
    def shown(self) -> str:
        return self.usage or f"/{self.name}"


COMMANDS: dict[str, Command] = {}
CALLBACKS: dict[str, Handler] = {}  # callback data prefix ("faq") -> handler
STAFF_CALLBACKS: set[str] = set()  # prefixes of the buttons only staff may press
STEPS: dict[str, Handler] = {}  # conversation state -> handler of the next message
TEXT_HANDLERS: list[tuple[int, Callable[["Ctx"], bool]]] = []  # (order, fn returning True if it handled the text)
MENU: list[tuple[int, Callable[["Ctx"], Button | None]]] = []  # /start menu buttons, by order
# What /huy also cancels beyond the conversation state (e.g. an officer's unconfirmed broadcast draft):
# fn(ctx) -> what it cancelled, in words for the person, or None
CANCELLERS: list[Callable[["Ctx"], str | None]] = []


def command(
    name: str,
    *,
    aliases: tuple[str, ...] = (),
    description: str = "",
    staff: bool = False,
    menu: bool = True,
    interrupts: bool = False,
    usage: str = "",
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, fn, aliases, description, staff, menu and not staff, interrupts, usage)
        return fn

    return register


def command_lines(staff: bool) -> list[str]:
    """One line per registered command, as /help (citizens) and /help_staff (officers) list them: the help
    texts are made from the registry, so a new command is in them the moment it exists."""
    return [f"• {c.shown}: {c.description}" for c in COMMANDS.values()
            if c.staff == staff and (staff or c.menu) and c.description]


def callback(prefix: "str | CallbackPrefix", *, staff: bool = False) -> Callable[[Handler], Handler]:
    """`@callback(TK)`: the handler of every button whose payload `TK` packed. `staff=True`: only registered staff,
    in a staff place, may press them (the router refuses anyone else politely and audits it, as for commands)."""
    key = prefix if isinstance(prefix, str) else prefix.prefix

    def register(fn: Handler) -> Handler:
        CALLBACKS[key] = fn
        if staff:
            STAFF_CALLBACKS.add(key)
        else:
            STAFF_CALLBACKS.discard(key)
        return fn

    return register


class StatesGroup:
    """A conversation's states declared in one place (as aiogram's `StatesGroup`): class attributes become
    "<prefix>.<value>" and `states()` lists them in declaration order.

        class Report(StatesGroup, prefix="feedback"):
            category = "ask_category"   # Report.category == "feedback.ask_category"
    """

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = [n for n, v in vars(cls).items() if not n.startswith("_") and isinstance(v, str)]
        for n in names:
            setattr(cls, n, f"{prefix}.{getattr(cls, n)}" if prefix else getattr(cls, n))
        cls._names = tuple(names)

    @classmethod
    def states(cls) -> tuple[str, ...]:
        return tuple(getattr(cls, n) for n in cls._names)


def steps(table: dict[str, Handler]) -> None:
    """Register a conversation's steps as one table, state -> handler of the next message (PTB's `states={…}`)."""
    STEPS.update(table)


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
