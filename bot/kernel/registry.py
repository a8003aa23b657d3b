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
from zoneinfo import ZoneInfo

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
    registry: "Registry" = field(default_factory=lambda: REGISTRY)  # what the router, jobs, erasers, hooks read

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
    def registry(self) -> "Registry":
        return self.services.registry

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


# The kernel modules that run these define their precise types (`bot.kernel.jobs.JobFn`, `privacy.Eraser`,
# `outbox.OutcomeHook`); they import this module, so it names them loosely.
JobFn = Callable[..., None]  # (session, services)
Eraser = Callable[..., Any]  # (session, subject, now, services) -> Counter of what it removed
OutcomeHook = Callable[..., None]  # (session, outbox row, SendResult)
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Job:
    """A periodic job (`@job` in bot.kernel.jobs, which claims and runs it once across instances)."""

    name: str
    fn: JobFn
    every: dt.timedelta | None = None
    daily_at: dt.time | None = None  # local time (Asia/Ho_Chi_Minh)

    def next_after(self, now: dt.datetime) -> dt.datetime:
        if self.every is not None:
            return now + self.every
        assert self.daily_at is not None
        local = now.astimezone(LOCAL_TZ)
        candidate = local.replace(hour=self.daily_at.hour, minute=self.daily_at.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += dt.timedelta(days=1)
        return candidate.astimezone(dt.timezone.utc)


TextHandler = Callable[["Ctx"], bool]  # returns True if it handled the text
MenuItem = Callable[["Ctx"], Button | None]
# What /huy also cancels beyond the conversation state (e.g. an officer's unconfirmed broadcast draft):
# fn(ctx) -> what it cancelled, in words for the person, or None
Canceller = Callable[["Ctx"], "str | None"]


@dataclass
class Registry:
    """Everything features register with the kernel, in one object the router, the scheduler, the eraser and the
    outbox read (`services.registry`). The decorators below (`@command`, `@step`, `@callback`, …, `@job`,
    `@eraser`, `@on_outcome`) register into the process's default registry, `REGISTRY`; `copy()` gives a test its
    own registry to add to without touching the process's."""

    commands: dict[str, Command] = field(default_factory=dict)
    callbacks: dict[str, Handler] = field(default_factory=dict)  # callback data prefix ("faq") -> handler
    staff_callbacks: set[str] = field(default_factory=set)  # prefixes of the buttons only staff may press
    steps: dict[str, Handler] = field(default_factory=dict)  # conversation state -> handler of the next message
    text_handlers: list[tuple[int, TextHandler]] = field(default_factory=list)  # by order
    menu: list[tuple[int, MenuItem]] = field(default_factory=list)  # /start menu buttons, by order
    cancellers: list[Canceller] = field(default_factory=list)
    jobs: dict[str, Job] = field(default_factory=dict)  # periodic jobs (bot.kernel.jobs)
    erasers: list[Eraser] = field(default_factory=list)  # /xoadulieu, per feature (bot.kernel.privacy)
    # (hook, when): outcome hooks (bot.kernel.outbox), `when` selecting the messages the hook sees
    outcome_hooks: list[tuple[OutcomeHook, Callable[[dict[str, Any]], bool] | None]] = field(default_factory=list)

    _aliases: tuple[tuple[tuple[str, int], ...], dict[str, list[tuple[str, Command]]]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def aliases_by_first_word(self) -> dict[str, list[tuple[str, Command]]]:
        """first word -> (alias, command), longest alias first: a message is checked only against the aliases
        its first word can start (a command may have many: /xoadulieu's are every way of asking)."""
        key = tuple((name, id(cmd)) for name, cmd in self.commands.items())  # a command re-registered: rebuilt
        if self._aliases is None or self._aliases[0] != key:
            index: dict[str, list[tuple[str, Command]]] = {}
            for cmd in self.commands.values():
                for alias in cmd.aliases:
                    index.setdefault(alias.split(" ", 1)[0], []).append((alias, cmd))
            for entries in index.values():
                entries.sort(key=lambda ac: -len(ac[0]))
            self._aliases = (key, index)
        return self._aliases[1]

    def copy(self) -> "Registry":
        """A registry of its own holding what this one holds now (later registrations go to one of them only)."""
        return Registry(dict(self.commands), dict(self.callbacks), set(self.staff_callbacks), dict(self.steps),
                        list(self.text_handlers), list(self.menu), list(self.cancellers), dict(self.jobs),
                        list(self.erasers), list(self.outcome_hooks))

    # -- registering
    def add_command(self, cmd: Command) -> None:
        self.commands[cmd.name] = cmd

    def add_callback(self, prefix: str, fn: Handler, *, staff: bool = False) -> None:
        self.callbacks[prefix] = fn
        if staff:
            self.staff_callbacks.add(prefix)
        else:
            self.staff_callbacks.discard(prefix)

    def add_steps(self, table: dict[str, Handler]) -> None:
        self.steps.update(table)

    def add_text_handler(self, order: int, fn: TextHandler) -> None:
        self.text_handlers.append((order, fn))
        self.text_handlers.sort(key=lambda t: t[0])

    def add_menu_item(self, order: int, fn: MenuItem) -> None:
        self.menu.append((order, fn))
        self.menu.sort(key=lambda t: t[0])

    def add_canceller(self, fn: Canceller) -> None:
        if fn not in self.cancellers:
            self.cancellers.append(fn)

    def add_job(self, j: Job) -> None:
        self.jobs[j.name] = j

    def add_eraser(self, fn: Eraser) -> None:
        """Idempotent: a feature module loaded twice erases once."""
        if fn not in self.erasers:
            self.erasers.append(fn)

    def add_outcome_hook(self, fn: OutcomeHook, when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.outcome_hooks.append((fn, when))

    # -- reading
    def command_lines(self, staff: bool) -> list[str]:
        """One line per registered command, as /help (citizens) and /help_staff (officers) list them: the help
        texts are made from the registry, so a new command is in them the moment it exists."""
        return [f"• {c.shown}: {c.description}" for c in self.commands.values()
                if c.staff == staff and (staff or c.menu) and c.description]

    def hooked(self, payload: dict[str, Any]) -> bool:
        """Does any outcome hook want to see how this message went?"""
        return any(when is None or when(payload) for _, when in self.outcome_hooks)


REGISTRY = Registry()  # the process's default registry: the decorators register here


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
        REGISTRY.add_command(Command(name, fn, aliases, description, staff, menu and not staff, interrupts, usage))
        return fn

    return register


def callback(prefix: "str | CallbackPrefix", *, staff: bool = False) -> Callable[[Handler], Handler]:
    """`@callback(TK)`: the handler of every button whose payload `TK` packed. `staff=True`: only registered staff,
    in a staff place, may press them (the router refuses anyone else politely and audits it, as for commands)."""
    key = prefix if isinstance(prefix, str) else prefix.prefix

    def register(fn: Handler) -> Handler:
        REGISTRY.add_callback(key, fn, staff=staff)
        return fn

    return register


def canceller(fn: Canceller) -> Canceller:
    """`@canceller`: what /huy also cancels (idempotent)."""
    REGISTRY.add_canceller(fn)
    return fn


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
    REGISTRY.add_steps(table)


def step(state: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        REGISTRY.add_steps({state: fn})
        return fn

    return register


def text_handler(order: int) -> Callable[[TextHandler], TextHandler]:
    """Free-text handlers are tried in order until one returns True (the FAQ comes last)."""

    def register(fn: TextHandler) -> TextHandler:
        REGISTRY.add_text_handler(order, fn)
        return fn

    return register


def menu_item(order: int) -> Callable[[MenuItem], MenuItem]:
    def register(fn: MenuItem) -> MenuItem:
        REGISTRY.add_menu_item(order, fn)
        return fn

    return register
