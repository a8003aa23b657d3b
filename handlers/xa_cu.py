""""Xã Mỹ Khánh cũ nay thuộc đâu?": answered from NQ 1654 before the FAQ (knowledge.former_units)."""
from __future__ import annotations

from bot import metrics
from handlers.base import Ctx, text_handler
from knowledge.former_units import answer

ENTRY_ID = "ag.xa-cu-nay-la-xa-nao"  # the knowledge-base entry this lookup answers in detail


@text_handler(90)
def former_unit(ctx: Ctx) -> bool:
    reply = answer(ctx.inbound.text or "")
    if reply is None:
        return False
    ctx.reply(reply)
    metrics.answer_outcome("answer")
    return True
