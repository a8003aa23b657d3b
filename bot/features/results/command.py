"""`/congkhai MÃ`: an officer decides that a report's content (the citizen's words, the hamlet) may be shown on
the public results page; `/congkhai MÃ tắt` takes that back. Staff only, audited, in the ticket's history.

Without that decision the page shows only category, commune, dates, status and the agency's answers. The name
and phone number are never shown, whatever an officer decides: the citizen gave them to be contacted, not
published (Luật 91/2025/QH15).
"""
from __future__ import annotations

from bot.features.tickets import service as ticketing
from bot.features.tickets.staff import ticket_and_rest
from bot.kernel.registry import Ctx, command
from knowledge.normalize import fold

USAGE = "/congkhai MÃ [tắt]"
DESCRIPTION = "Công khai nội dung phản ánh trên trang kết quả (/congkhai MÃ tắt: thôi công khai)"
UNDO_WORDS = {"tat", "an", "bo", "go", "off", "huy", "khong", "thoi"}

PUBLISHED = (
    "🌐 Đã công khai nội dung phản ánh {code} (nội dung, ấp/khóm) trên trang kết quả /congkhai. Họ tên và số điện "
    "thoại không bao giờ được công khai. Thôi công khai: /congkhai {code} tắt"
)
PUBLISHED_WAIT = " Phản ánh hiện ra trong danh sách khi đã có trả lời."
ALREADY = "Phản ánh {code} đã được công khai. Thôi công khai: /congkhai {code} tắt"
WITHDRAWN = "🔒 Đã thôi công khai nội dung phản ánh {code}: trang kết quả chỉ còn loại việc, xã/phường, ngày, trạng thái và câu trả lời."
NOT_PUBLIC = "Phản ánh {code} chưa được công khai nội dung."
BAD_WORD = "Chưa hiểu «{word}». Dùng: " + USAGE


@command("congkhai", description=DESCRIPTION, staff=True, usage=USAGE)
def congkhai_cmd(ctx: Ctx) -> None:
    t, rest = ticket_and_rest(ctx, "/congkhai PA-000123")
    if t is None:
        return
    word = fold(rest)
    if word and word not in UNDO_WORDS:
        ctx.reply(BAD_WORD.format(word=rest[:40]))
        return
    if word:  # undo
        if t.public_at is None:
            ctx.reply(NOT_PUBLIC.format(code=t.code))
            return
        t.public_at = None
        ticketing.add_event(ctx.session, t, "unpublished", ctx.actor, ctx.now)
        ctx.session.add(t)
        ctx.audit("ticket_unpublic", target=t.code)
        ctx.reply(WITHDRAWN.format(code=t.code))
        return
    if t.public_at is not None:
        ctx.reply(ALREADY.format(code=t.code))
        return
    t.public_at = ctx.now
    ticketing.add_event(ctx.session, t, "published", ctx.actor, ctx.now)
    ctx.session.add(t)
    ctx.audit("ticket_public", target=t.code)
    answered = t.first_answer_at is not None or t.status in ("resolved", "closed")
    ctx.reply(PUBLISHED.format(code=t.code) + ("" if answered else PUBLISHED_WAIT))
