"""/xoadulieu: a citizen deletes their personal data (Luật 91/2025/QH15, Nghị định 356/2025/NĐ-CP).

The bot first says what will go and what stays (tickets anonymised for statistics; open ones closed), then
erases on an explicit confirm. The confirm button carries the minute it was offered and works for 30 minutes,
so an old message pressed by mistake days later does nothing. What is erased: `bot.kernel.privacy.erase`.
"""
from __future__ import annotations

import sqlalchemy as sa

from bot.kernel import privacy, texts
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.messages import Button
from bot.kernel.registry import Ctx, callback, command
from bot.storage.broadcast import Subscription
from bot.storage.tickets import CLOSED, Ticket

PRIV_CB = CallbackPrefix("priv")  # priv:no | priv:yes:<minute offered>

CONFIRM_MINUTES = 30


def _private(ctx: Ctx) -> bool:
    if ctx.inbound.chat_type != "private":
        ctx.reply(texts.ERASE_PRIVATE_ONLY)
        return False
    return True


def _now_minute(ctx: Ctx) -> int:
    return int(ctx.now.timestamp() // 60)


# Plain words that ask for it (a message that starts with one; the reply asks to confirm before anything goes).
# "xóa dữ liệu", "xoá hết thông tin của em", "em muốn xóa dữ liệu cá nhân", "cho tui xóa tài khoản": every way of
# asking, as the words people use (the command still asks for confirmation before anything is erased)
_WHO = ("toi", "em", "minh", "tui", "con", "chau")
_ERASE = ("xoa", "xoa het", "xoa toan bo", "xoa giup", "xoa dum", "xoa bo")
_WHAT = ("du lieu", "thong tin", "tai khoan")
_WHOSE = ("", " ca nhan", *(f" cua {w}" for w in _WHO))
_ASKING = ("", *(f"{w} muon " for w in _WHO), *(f"cho {w} " for w in _WHO))
ERASE_ALIASES = tuple(f"{a}{e} {w}{o}" for a in _ASKING for e in _ERASE for w in _WHAT for o in _WHOSE)


@command("xoadulieu", aliases=ERASE_ALIASES, description=texts.CMD_ERASE, interrupts=True)
def erase_command(ctx: Ctx) -> None:
    if not _private(ctx):
        return
    ch, uid = ctx.inbound.channel, ctx.inbound.user_id
    t = Ticket.__table__
    rows = ctx.session.execute(sa.select(t.c.status).where(t.c.channel == ch, t.c.user_id == uid)).all()
    n_open = sum(1 for r in rows if r.status != CLOSED)
    s = Subscription.__table__
    subscribed = ctx.session.execute(sa.select(s.c.id).where(s.c.channel == ch, s.c.chat_id == ctx.inbound.chat_id,
                                                             s.c.active.is_(True))).first() is not None
    text = texts.ERASE_ASK.format(
        subscription=texts.ERASE_ASK_SUBSCRIPTION if subscribed else "",
        tickets=texts.ERASE_ASK_TICKETS.format(n=len(rows)) if rows else "",
        open_warning=texts.ERASE_ASK_OPEN.format(n=n_open) if n_open else "",
    )
    ctx.reply(text, buttons=[Button(texts.BTN_ERASE_YES, PRIV_CB.pack("yes", _now_minute(ctx))),
                             Button(texts.BTN_ERASE_NO, PRIV_CB.pack("no"))])


@callback(PRIV_CB)
def erase_button(ctx: Ctx) -> None:
    ctx.clear_options()
    cb = ctx.callback_data  # priv:no | priv:yes:<minute offered>
    if cb.args == ("no",):
        ctx.reply(texts.ERASE_KEPT)
        return
    if not _private(ctx):
        return
    offered = cb.int_arg(1)
    if len(cb.args) != 2 or cb.arg(0) != "yes" or offered is None:
        ctx.reply(texts.STALE_BUTTON)
        return
    if not 0 <= _now_minute(ctx) - offered <= CONFIRM_MINUTES:
        ctx.reply(texts.ERASE_EXPIRED)
        return
    subject = privacy.Subject(ctx.inbound.channel, ctx.inbound.chat_id, ctx.inbound.user_id)
    done = privacy.erase(ctx.session, subject, ctx.now, ctx.services, chat=ctx.chat)
    n = done.get("tickets", 0)
    ctx.reply(texts.ERASE_DONE.format(tickets=texts.ERASE_DONE_TICKETS.format(n=n) if n else "",
                                      copies=texts.ERASE_DONE_COPIES if n else ""))
