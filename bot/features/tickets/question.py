"""A question for an officer, from the FAQ: when the bot could not answer, "🙋 Gửi câu hỏi cho cán bộ" files the
logged question as a ticket of its own kind, after the person confirms it (or types it in full first). Its own
little conversation (`Question`), not a report: no category, place or contact to ask."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from sqlmodel import select

from bot.features.tickets import calendar
from bot.features.tickets import service as ticketing
from bot.features.tickets import texts as T
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.messages import Button
from bot.kernel.registry import Ctx, StatesGroup, steps
from bot.storage.models import UnansweredQuestion
from knowledge.normalize import fold

FB_CB = CallbackPrefix("fb")  # the report wizard's (bot.features.tickets.wizard), whose buttons' handler calls these


class Question(StatesGroup, prefix="question"):
    """A question for an officer (when the bot could not answer): its text, then its confirmation."""

    text = "text"
    confirm = "confirm"


S_QUESTION_TEXT, S_QUESTION_CONFIRM = Question.states()


# ------------------------------------------------------------------ from the FAQ: "Gửi câu hỏi cho cán bộ"
ASK_LOOKBACK = 20  # the person's recent unanswered questions a button can still refer to


def question_digest(text: str) -> str:
    """A short fingerprint of a question for the button (callback data is small and can be forged: the
    question itself is looked up among the presser's own questions)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def offer_question_button(ctx: Ctx, row: UnansweredQuestion) -> Button | None:
    """FAQ hook: the question the bot could not answer can go to an officer with one tap."""
    if ctx.inbound.chat_type != "private" or ticketing.in_staff_chat(ctx.settings, ctx.inbound):
        return None
    return Button(T.BTN_ASK_OFFICER, FB_CB.pack("ask", question_digest(row.text)))


# The question's own little conversation (not a report: no category, place or contact to ask):
#   question.text     the logged words are too short to be a question ("3"): the person types it in full
#   question.confirm  "Gửi câu hỏi này cho cán bộ? «…»": send, edit (type it again), or not send
QUESTION_IDLE = dt.timedelta(minutes=30)  # after this, a message in the question's steps is just a new message
MIN_QUESTION_LETTERS = 6
_QSEND_WORDS = {"gui", "gui di", "gui cau hoi", "dong y", "ok", "xac nhan", "dung roi", "dung", "co"}
_QEDIT_WORDS = {"sua", "sua cau hoi", "viet lai", "go lai"}
_QCANCEL_WORDS = {"khong", "ko", "khong gui", "thoi", "huy"}


def question_category(ctx: Ctx) -> ticketing.Category:
    cat = ticketing.category_by_slug(ctx.settings, "khac")
    assert cat is not None
    return dataclasses.replace(cat, label=T.QUESTION_CATEGORY) if cat.label == "Khác" else cat


def _is_question_text(text: str) -> bool:
    return sum(ch.isalpha() for ch in text) >= MIN_QUESTION_LETTERS and len(text.split()) >= 2


def question_to_officer(ctx: Ctx, arg: str) -> None:
    """The "🙋 Gửi câu hỏi cho cán bộ" button: nothing is filed yet. The person sees the question and confirms
    (or types it in full first when what was logged is not a question, e.g. a stray "3")."""
    inbound = ctx.inbound
    recent = ctx.session.exec(
        select(UnansweredQuestion)
        .where(UnansweredQuestion.chat_key == f"{inbound.channel}:{inbound.chat_id}")
        .order_by(UnansweredQuestion.id.desc())
        .limit(ASK_LOOKBACK)
    ).all()
    row = next((q for q in recent if question_digest(q.text) == arg), None)  # only the presser's own questions
    if row is None:
        ctx.reply(T.QUESTION_GONE)
        return
    existing = ticketing.find_by_draft(ctx.session, _question_key(ctx, row.id))
    if existing is not None:
        ctx.reply(T.QUESTION_ALREADY_SENT.format(code=existing.code))
        return
    ctx.clear_options()
    data = {"question_id": row.id}
    if not _is_question_text(row.text.strip()):
        ctx.set_state(S_QUESTION_TEXT, data)
        ctx.reply(T.QUESTION_ASK_TEXT)
        return
    ctx.set_state(S_QUESTION_CONFIRM, dict(data, question=row.text.strip()[:1000]))
    confirm_question(ctx)


def _question_key(ctx: Ctx, question_id: object) -> str:
    """One ticket per logged question, however often its buttons are pressed."""
    return f"{ctx.inbound.channel}:{ctx.inbound.chat_id}:faq:{question_id}"


def confirm_question(ctx: Ctx) -> None:
    d = ctx.data
    days = question_category(ctx).days
    ctx.reply(T.QUESTION_CONFIRM.format(question=d.get("question", ""), agency=ctx.settings.agency_name, days=days),
              buttons=[Button(T.BTN_QUESTION_SEND, FB_CB.pack("qsend", d.get('question_id', ''))),
                       Button(T.BTN_QUESTION_EDIT, FB_CB.pack("qedit")), Button(T.BTN_QUESTION_CANCEL, FB_CB.pack("qcancel"))])


def question_button(ctx: Ctx, action: str, arg: str) -> None:
    if action == "qsend":
        send_question(ctx, arg)
        return
    if ctx.state not in (S_QUESTION_TEXT, S_QUESTION_CONFIRM):
        ctx.reply(T.QUESTION_GONE)
        return
    if action == "qedit":
        ctx.set_state(S_QUESTION_TEXT)
        ctx.reply(T.QUESTION_ASK_TEXT)
        return
    ctx.clear_state()
    ctx.clear_options()
    ctx.reply(T.QUESTION_NOT_SENT)


def _idle(ctx: Ctx) -> bool:
    """The question was left waiting: the message is a new one, handled as free text."""
    at = ctx.chat.state_at
    if at is None or ctx.now - (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)) <= QUESTION_IDLE:
        return False
    ctx.clear_state()
    for _, fn in ctx.registry.text_handlers:
        if fn(ctx):
            break
    return True


def on_question_text(ctx: Ctx) -> None:
    if _idle(ctx):
        return
    text = " ".join(ctx.inbound.text.split())
    if not _is_question_text(text):
        ctx.reply(T.QUESTION_TOO_SHORT)
        return
    ctx.set_state(S_QUESTION_CONFIRM, dict(ctx.data, question=text[:1000]))
    confirm_question(ctx)


def on_question_confirm(ctx: Ctx) -> None:
    """Typed instead of pressed: "gửi", "sửa", "không"; a new sentence replaces the question (confirmed again)."""
    if _idle(ctx):
        return
    said = fold(ctx.inbound.text)
    if said in _QSEND_WORDS:
        send_question(ctx, str(ctx.data.get("question_id", "")))
    elif said in _QEDIT_WORDS:
        question_button(ctx, "qedit", "")
    elif said in _QCANCEL_WORDS:
        question_button(ctx, "qcancel", "")
    elif _is_question_text(ctx.inbound.text):
        on_question_text(ctx)
    else:
        ctx.reply(T.QUESTION_CONFIRM_HINT)
        confirm_question(ctx)


def send_question(ctx: Ctx, question_id: str) -> None:
    """File the confirmed question: a ticket of its own kind, with the question's words, answered like any."""
    inbound = ctx.inbound
    d = ctx.data
    if ctx.state != S_QUESTION_CONFIRM or str(d.get("question_id")) != question_id or not d.get("question"):
        existing = ticketing.find_by_draft(ctx.session, _question_key(ctx, question_id)) if question_id else None
        ctx.reply(T.QUESTION_ALREADY_SENT.format(code=existing.code) if existing else T.QUESTION_GONE)
        return
    ticket, created = ticketing.create_ticket(
        ctx.session, ctx.settings, ctx.now, channel=inbound.channel, chat_id=inbound.chat_id, user_id=inbound.user_id,
        draft_key=_question_key(ctx, question_id), category=question_category(ctx), description=d["question"], source="faq",
    )
    ctx.clear_state()
    ctx.clear_options()
    if not created:
        ctx.reply(T.QUESTION_ALREADY_SENT.format(code=ticket.code))
        return
    ctx.reply(T.QUESTION_RECEIPT.format(code=ticket.code, question=ticketing.short(ticket.description, 300),
                                        due=calendar.fmt_date(ticket.due_date, weekday=True),
                                        days=question_category(ctx).days, agency=ctx.settings.agency_name))


steps({Question.text: on_question_text, Question.confirm: on_question_confirm})
