"""Decide which handler gets a message.

Order: an explicit "/command" > "hủy" and other interrupting words > a button press (or its number on
channels without buttons) > the step of an ongoing conversation > a command typed as plain words
("phan anh", "tra cuu PA-000123") > free text (small talk, then the FAQ).
"""
from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata

from sqlmodel import select

from bot.kernel import texts
from bot.kernel.callbacks import CallbackData
from bot.kernel.messages import TERMINAL_STAFF, clip
from bot.kernel.registry import Command, Ctx, Registry
from bot.storage.models import Staff
from knowledge.normalize import fold

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # longer messages are cut (and the person told) before any handler sees them
_COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)


def parse_command(text: str) -> tuple[str, str] | None:
    m = _COMMAND_RE.match(text.strip())
    if not m:
        return None
    return m.group(1).lower(), (m.group(2) or "").strip()


def find_alias(registry: Registry, text: str) -> tuple[Command, str] | None:
    """A command written as plain words: "tra cuu PA-000123" -> (tracuu, "PA-000123")."""
    folded = fold(text)
    if not folded or len(folded) > 200:
        return None
    for alias, cmd in registry.aliases_by_first_word().get(folded.split(" ", 1)[0], ()):  # longest first
        if folded == alias or folded.startswith(alias + " "):
            return cmd, _args_after(text, alias)
    return None


def _args_after(text: str, alias: str) -> str:
    """The original text (with its diacritics) after the words of the alias."""
    words = text.strip().split()
    n = len(alias.split())
    return " ".join(words[n:]).strip()


def is_staff(ctx: Ctx) -> bool:
    if ctx.inbound.channel == TERMINAL_STAFF:  # the local officers' terminal: only reachable on this machine
        return True
    if ctx.inbound.channel != "telegram":
        return False
    uid = ctx.inbound.user_id
    if uid in ctx.settings.seed_admin_ids:
        return True
    row = ctx.session.exec(select(Staff).where(Staff.user_id == uid, Staff.active == True)).first()
    return row is not None


def in_staff_place(ctx: Ctx) -> bool:
    """Where staff work: the staff chat (STAFF_CHAT_ID), a staff member's private chat with the bot, the local
    officers' terminal. Never another group: an answer there (a phone number, a listing) is read by everyone in it."""
    inbound = ctx.inbound
    if inbound.channel == TERMINAL_STAFF or inbound.chat_type == "private":
        return True
    return inbound.channel == "telegram" and bool(ctx.settings.staff_chat_id) and inbound.chat_id == ctx.settings.staff_chat_id


def staff_may_act(ctx: Ctx, what: str) -> bool:
    """Registered staff, in a staff place; anything else is refused politely and audited (commands, buttons)."""
    if not is_staff(ctx):
        ctx.audit("refused", target=what[:64], detail=ctx.inbound.text[:200])
        log.warning("refused staff command %s from %s", what, ctx.actor)
        ctx.reply(texts.NOT_STAFF)
        return False
    if not in_staff_place(ctx):
        ctx.audit("refused", target=what[:64], detail=f"outside the staff chat ({ctx.inbound.chat_id}): {ctx.inbound.text[:160]}")
        log.warning("refused staff command %s from %s outside the staff chat (%s:%s)", what, ctx.actor, ctx.inbound.channel,
                    ctx.inbound.chat_id)
        ctx.reply(texts.STAFF_WRONG_PLACE)
        return False
    return True


def run_command(ctx: Ctx, cmd: Command, args: str) -> None:
    if cmd.staff and not staff_may_act(ctx, f"/{cmd.name}"):
        return
    ctx.args = args
    cmd.handler(ctx)


# "2", "số 2", "chọn số 2", "câu hai", "2️⃣" … (folded) pick option 2 on channels without buttons.
_CHOICE_RE = re.compile(r"^(?:(?:chon|so|cau|muc|y|phuong an|lua chon)\s+)*(\d{1,2}|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin)$")
_NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9}


def option_choice(ctx: Ctx) -> str | None:
    """On channels without buttons, "2" (or the label) picks the second offered option."""
    options = ctx.options
    if not options:
        return None
    text = fold(ctx.inbound.text)
    m = _CHOICE_RE.match(text)
    if m:
        word = m.group(1)
        i = int(word) if word.isdigit() else _NUMBER_WORDS[word]
        return options[i - 1][1] if 1 <= i <= len(options) else None
    for label, data in options:
        if text and text == fold(label):
            return data
    return None


def route(ctx: Ctx) -> None:
    inbound = ctx.inbound
    registry = ctx.registry
    if inbound.unsupported:
        ctx.reply(texts.UNSUPPORTED_CONTENT.format(contact=ctx.settings.agency_contact))
        return
    text = inbound.text or ""
    if len(text) > MAX_TEXT:
        ctx.inbound = inbound = dataclasses.replace(inbound, text=text[:MAX_TEXT])
        text = inbound.text
        ctx.reply(texts.TOO_LONG)

    # 1. a button press
    if inbound.callback:
        _dispatch_callback(ctx, inbound.callback)
        return

    # 2. an explicit /command
    parsed = parse_command(text)
    if parsed:
        name, args = parsed
        cmd = registry.commands.get(name)
        if cmd is None:
            alias = find_alias(registry, text.strip()[1:])  # "/menu", "/phan anh": the words of a command, with a "/"
            if alias:
                run_command(ctx, *alias)
                return
            ctx.reply(texts.UNKNOWN_COMMAND)
            return
        run_command(ctx, cmd, args)
        return
    if text.strip() == "/" and "start" in registry.commands:  # a bare "/" (no command menu on Zalo): show the menu
        run_command(ctx, registry.commands["start"], "")
        return

    # 3. words that interrupt anything ("hủy")
    alias = find_alias(registry, text)
    if alias and alias[0].interrupts:
        run_command(ctx, *alias)
        return

    # 4. a numbered choice on channels without buttons
    choice = option_choice(ctx)
    if choice:
        _dispatch_callback(ctx, choice)
        return

    # 5. the next step of a conversation
    if ctx.state:
        handler = registry.steps.get(ctx.state)
        if handler is not None:
            handler(ctx)
            return
        log.warning("unknown conversation state %r; clearing", ctx.state)
        ctx.clear_state()

    # 6. a command in plain words
    if alias:
        run_command(ctx, *alias)
        return

    # 7. free text (only spaces or invisible format characters, e.g. zero-width spaces pasted from the web: none)
    if not any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text):
        if inbound.chat_type == "group":
            # Photos, joins… in a group are not addressed to the bot; early handlers (e.g. a staff answer
            # with a photo, replying to a ticket) may still take them. The FAQ (order 100) never does.
            for order, fn in registry.text_handlers:
                if order < 100 and fn(ctx):
                    return
            return
        if inbound.attachments and all(a.kind == "sticker" for a in inbound.attachments):
            ctx.reply(texts.STICKER_REPLY)
            return
        kinds = {a.kind for a in inbound.attachments}
        if kinds and kinds <= {"voice", "audio"}:  # spoken, not typed: many farmers do
            ctx.reply(texts.VOICE_OUTSIDE_REPORT)
        elif kinds == {"location"}:
            name = next((a.name for a in inbound.attachments if a.name), "")
            ctx.reply(texts.LOCATION_OUTSIDE_REPORT.format(name=f" «{clip(name)}»" if name else ""))
        else:
            ctx.reply(texts.EMPTY_MESSAGE if not inbound.attachments else texts.MEDIA_OUTSIDE_REPORT)
        return
    for _, fn in registry.text_handlers:
        if fn(ctx):
            return
    ctx.reply(texts.EMPTY_MESSAGE)


def _dispatch_callback(ctx: Ctx, data: str) -> None:
    if ctx.inbound.callback != data:
        ctx.inbound = dataclasses.replace(ctx.inbound, callback=data)
    prefix = CallbackData.parse(data).prefix
    handler = ctx.registry.callbacks.get(prefix)
    if handler is None:
        ctx.reply(texts.STALE_BUTTON)
        return
    if prefix in ctx.registry.staff_callbacks and not staff_may_act(ctx, data):
        return
    handler(ctx)
