"""/start, /help, /huy and small talk: how a citizen finds their way."""
from __future__ import annotations

from bot.kernel import texts
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.messages import Button
from bot.kernel.registry import Ctx, command, menu_item
from bot.kernel.router import in_staff_place, is_staff

MENU_CB = CallbackPrefix("menu")  # handled by bot.features.faq.answers
HELP_CB = CallbackPrefix("help")


@command("start", aliases=("bat dau", "menu", "menu chinh", "start"), description=texts.CMD_START)
def start(ctx: Ctx) -> None:
    """Welcome, what the bot can do, and a menu of what works."""
    name = ctx.inbound.display_name.strip()
    ctx.reply(
        texts.WELCOME.format(name=f" {name}" if name else "", agency=ctx.settings.agency_name),
        buttons=[b for _, make in ctx.registry.menu if (b := make(ctx)) is not None],
    )


@command("help", aliases=("huong dan", "tro giup", "giup do", "help"), description=texts.CMD_HELP)
def help_(ctx: Ctx) -> None:
    """What the bot does and every citizen command, from the command registry (nothing can be left out)."""
    text = texts.HELP.format(commands="\n".join(ctx.registry.command_lines(staff=False)), agency=ctx.settings.agency_name)
    if "help_staff" in ctx.registry.commands and in_staff_place(ctx) and is_staff(ctx):
        text += "\n\n" + texts.HELP_STAFF_HINT  # an officer typing /help wants the inbox commands too
    ctx.reply(text)


@command(
    "huy",
    aliases=("huy", "huy bo", "thoi huy", "dung lai", "cancel"),
    description=texts.CMD_CANCEL,
    interrupts=True,
)
def cancel(ctx: Ctx) -> None:
    """Cancel whatever is going on (a report being written, a choice being offered)."""
    busy = bool(ctx.state)
    cancelled = [said for fn in ctx.registry.cancellers if (said := fn(ctx))]
    ctx.clear_state()
    ctx.clear_options()
    if cancelled:
        ctx.reply("\n".join(cancelled))
        return
    ctx.reply(texts.CANCELLED if busy else texts.NOTHING_TO_CANCEL)


@menu_item(10)
def _menu_ntm(ctx: Ctx) -> Button:
    return Button(texts.BTN_ASK_NTM, MENU_CB.pack("ntm"))


@menu_item(20)
def _menu_ocop(ctx: Ctx) -> Button:
    return Button(texts.BTN_ASK_OCOP, MENU_CB.pack("ocop"))


@menu_item(30)
def _menu_ag(ctx: Ctx) -> Button | None:
    return Button(texts.BTN_ASK_AG, MENU_CB.pack("an-giang")) if ctx.kb.by_topic("an-giang") else None


@menu_item(90)
def _menu_help(ctx: Ctx) -> Button:
    return Button(texts.BTN_HELP, HELP_CB.pack(""))


def register() -> None:
    """Nothing beyond this module's decorators, which ran when it was imported."""
