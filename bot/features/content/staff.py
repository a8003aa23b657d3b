"""Staff view of what citizens asked that the bot could not answer: what to write next."""
from __future__ import annotations

from bot.features.content.unanswered import format_groups, recent_groups
from bot.kernel.registry import Ctx, command

SHOWN = 15
MAX_DAYS = 365


@command("chuatraloi", description="Câu hỏi bot chưa trả lời được, gom nhóm", staff=True, usage="/chuatraloi [số ngày, mặc định 30]")
def unanswered(ctx: Ctx) -> None:
    """/chuatraloi [số ngày]: the unanswered questions of the last days (30 by default), grouped by likeness,
    the most frequent first, so editors know which knowledge-base entries to write."""
    arg = ctx.args.strip()
    days = int(arg) if arg.isdigit() and 0 < int(arg) <= MAX_DAYS else 30
    ctx.audit("unanswered_viewed", detail=f"{days} ngày")
    text = format_groups(recent_groups(ctx.session, days), SHOWN, days)
    ctx.reply(text + "\n\nThêm nội dung: xem knowledge/README.md (mục «Người dân hỏi gì mà bot chưa trả lời được»).")
