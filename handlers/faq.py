"""Questions about NTM and OCOP, answered from the knowledge base.

Three outcomes by confidence: the answer with its source; "Có phải bạn muốn hỏi…" with up to three
suggestions; or an honest "not sure" that says what the bot can answer (and the question is logged so
staff see what to write next).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from bot import metrics
from bot.messages import Button, clip
from handlers import texts
from handlers.base import Ctx, callback, text_handler
if TYPE_CHECKING:
    from bot.config import Settings
    from bot.storage.models import UnansweredQuestion
from knowledge.kb import Decision, KnowledgeBase
from knowledge.normalize import fold
from knowledge.schema import Entry

# Entries offered first in the topic menus (if they exist); the rest of the topic fills up to MENU_SIZE.
MENU_QUESTIONS: dict[str, list[str]] = {
    "ntm": ["ntm26.bo-tieu-chi", "ntm.so-tieu-chi-xa-2021-2025", "ntm.dong-gop-tu-nguyen", "ntm.la-gi"],
    "ocop": ["ocop.la-gi", "ocop.quy-trinh-dang-ky", "ocop.thang-diem-100", "ocop.phan-hang-sao"],
    "an-giang": ["ag.tien-do-ntm", "ag.ocop-an-giang", "ag.ke-hoach-328"],
}
MENU_SIZE = 5
_SENTENCE_SPLIT = re.compile(r"(?<=[.?!\n])\s+")


def decide(kb: KnowledgeBase, settings: "Settings", question: str) -> Decision:
    return kb.decide(question, settings.faq_answer_threshold, settings.faq_suggest_threshold)


def best_decision(kb: KnowledgeBase, settings: "Settings", text: str) -> Decision:
    """Long messages: the question is usually one of the sentences, often the last."""
    whole = decide(kb, settings, text)
    if whole.kind == "answer":
        return whole
    sentences = [p for p in _SENTENCE_SPLIT.split(text.strip()) if len(fold(p)) >= 6]
    if len(sentences) < 2:
        return whole
    rank = {"answer": 2, "suggest": 1, "unknown": 0}
    best = whole
    for sentence in sentences[-6:]:
        d = decide(kb, settings, sentence)
        if (rank[d.kind], d.score) > (rank[best.kind], best.score):
            best = d
    return best


def entry_buttons(entries: list[Entry], prefix: str = "") -> list[Button]:
    return [Button(clip(f"{prefix}{e.title}"), f"faq:{e.id}") for e in entries]


def render_decision(kb: KnowledgeBase, values: dict[str, object], d: Decision) -> tuple[str, list[Button]]:
    """What the citizen sees for a decision: text and buttons (before channel rendering)."""
    if d.kind == "answer" and d.entry is not None:
        return kb.render(d.entry, values), entry_buttons(kb.see_also(d.entry)[:3], "➕ ")
    if d.kind == "suggest" and d.suggestions:
        return texts.DID_YOU_MEAN, entry_buttons(d.suggestions)
    return texts.NOT_SURE, [Button(texts.BTN_ASK_NTM, "menu:ntm"), Button(texts.BTN_ASK_OCOP, "menu:ocop")]


def answer_entry(ctx: Ctx, entry: Entry) -> None:
    """The entry's answer and source, with its follow-ups as buttons."""
    ctx.reply(ctx.kb.render(entry, ctx.services.placeholder_values), buttons=entry_buttons(ctx.kb.see_also(entry)[:3], "➕ "))


# Extra buttons under a "not sure" or "did you mean" reply: fn(ctx, logged question) -> Button | None
# (e.g. "Gửi câu hỏi cho cán bộ", which turns the logged question into a ticket).
UNSURE_BUTTONS: list[Callable[[Ctx, "UnansweredQuestion"], Button | None]] = []


@text_handler(100)
def answer_question(ctx: Ctx) -> bool:
    text = ctx.inbound.text
    d = best_decision(ctx.kb, ctx.settings, text)
    reply_text, buttons = render_decision(ctx.kb, ctx.services.placeholder_values, d)
    if d.kind != "answer":
        row = log_unanswered(ctx, text, d)
        buttons = buttons + [b for hook in UNSURE_BUTTONS if (b := hook(ctx, row)) is not None]
    ctx.reply(reply_text, buttons=buttons)
    metrics.answer_outcome(d.kind)
    return True


def log_unanswered(ctx: Ctx, text: str, d: Decision) -> "UnansweredQuestion":
    from bot.storage.models import UnansweredQuestion

    best = d.result.best
    row = UnansweredQuestion(
        channel=ctx.inbound.channel,
        chat_key=f"{ctx.inbound.channel}:{ctx.inbound.chat_id}",
        text=text[:1000],
        folded=fold(text)[:1000],
        best_entry_id=best.entry_id if best else None,
        best_score=best.score if best else 0.0,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    return row


@callback("faq")
def show_entry(ctx: Ctx) -> None:
    entry = ctx.kb.entries.get(ctx.callback_data.rest(0))
    if entry is None:
        ctx.reply(texts.STALE_BUTTON)
        return
    answer_entry(ctx, entry)


@callback("menu")
def show_menu(ctx: Ctx) -> None:
    topic = ctx.callback_data.rest(0)
    intro = {"ntm": texts.MENU_NTM, "ocop": texts.MENU_OCOP, "an-giang": texts.MENU_AG}.get(topic)
    if intro is None:
        ctx.reply(texts.STALE_BUTTON)
        return
    ctx.reply(intro, buttons=entry_buttons(menu_entries(ctx, topic)))


def menu_entries(ctx: Ctx, topic: str) -> list[Entry]:
    chosen = [ctx.kb.entries[i] for i in MENU_QUESTIONS.get(topic, []) if i in ctx.kb.entries]
    for e in ctx.kb.by_topic(topic):
        if len(chosen) >= MENU_SIZE:
            break
        if e not in chosen:
            chosen.append(e)
    return chosen[:MENU_SIZE]


@callback("help")
def help_button(ctx: Ctx) -> None:
    from handlers.start import help_

    help_(ctx)
