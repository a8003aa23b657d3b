"""Free text: questions about NTM and OCOP, small talk, follow-ups, and local problems written as text.

What the citizen gets (`knowledge.understand` decides, this module renders):
- an answer with its source (and "➕" buttons to related entries), or an answer computed from the knowledge
  base's facts (a score's star band, a certificate's expiry, a former commune's new unit);
- "Có phải bạn muốn hỏi…" with up to three suggestions;
- an honest "not sure" (and the question is logged so staff see what to write next), or, for a question far
  from everything the bot covers, a short reply saying what it covers;
- a short human reply to thanks, greetings, "ok", emoji, laughter, insults;
- for a local problem typed as plain text, an offer to file a report with the message already in it.
The last question understood is kept in the chat's context, so "còn tiêu chí 5 thì sao" is read with it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from bot.kernel import metrics, texts
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.messages import Button, clip
from bot.kernel.registry import Ctx, callback, text_handler

FAQ_CB = CallbackPrefix("faq")  # faq:<entry id>
MENU_CB = CallbackPrefix("menu")  # menu:<topic>
HELP_CB = CallbackPrefix("help")
FB_CB = CallbackPrefix("fb")  # the report wizard's (bot.features.tickets.wizard)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.storage.models import UnansweredQuestion
from knowledge.communes import default_finder
from knowledge.kb import Decision, KnowledgeBase
from knowledge.normalize import fold
from knowledge.schema import PERIOD_LABELS, Entry
from knowledge.understand import Previous, Understanding, understand

# Entries offered first in the topic menus (if they exist); the rest of the topic fills up to MENU_SIZE.
MENU_QUESTIONS: dict[str, list[str]] = {
    "ntm": ["ntm26.bo-tieu-chi", "ntm.so-tieu-chi-xa-2021-2025", "ntm.dong-gop-tu-nguyen", "ntm.la-gi"],
    "ocop": ["ocop.la-gi", "ocop.quy-trinh-dang-ky", "ocop.thang-diem-100", "ocop.phan-hang-sao"],
    "an-giang": ["ag.tien-do-ntm", "ag.ocop-an-giang", "ag.ke-hoach-328"],
}
MENU_SIZE = 5
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FOLLOWUP_MINUTES = 30  # a follow-up is read with the previous question for this long
SMALLTALK = {"greeting": texts.GREETING_REPLY, "thanks": texts.THANKS_REPLY, "bye": texts.BYE_REPLY,
             "ack": texts.ACK_REPLY, "laugh": texts.LAUGH_REPLY, "insult": texts.INSULT_REPLY,
             "confused": texts.CONFUSED_REPLY, "wrong": texts.WRONG_REPLY}


def decide(kb: KnowledgeBase, settings: "Settings", question: str) -> Decision:
    return kb.decide(question)


def best_decision(kb: KnowledgeBase, settings: "Settings", text: str) -> Decision:
    """The decision for a question on its own (no conversation): tests and quality reports."""
    from knowledge.understand import _decide

    return _decide(kb, text)


def entry_buttons(entries: list[Entry], prefix: str = "") -> list[Button]:
    return [Button(clip(f"{prefix}{e.title}"), FAQ_CB.pack(e.id)) for e in entries]


def topic_buttons() -> list[Button]:
    return [Button(texts.BTN_ASK_NTM, MENU_CB.pack("ntm")), Button(texts.BTN_ASK_OCOP, MENU_CB.pack("ocop"))]


def source_line(kb: KnowledgeBase, entry_ids: list[str]) -> str:
    """One "📄 Nguồn:" line for the entries an answer rests on."""
    entries = [kb.entries[i] for i in entry_ids if i in kb.entries]
    if not entries:
        return ""
    by_period: dict[str, list[str]] = {}
    for e in entries:
        cites = by_period.setdefault(e.period, [])
        cites += [c for c in (src.citation() for src in e.sources) if c not in cites]
    parts = [f"{'; '.join(cites)} ({PERIOD_LABELS[period]})" for period, cites in by_period.items()]
    return f"📄 Nguồn: {'; '.join(parts)}."


def render_decision(kb: KnowledgeBase, values: dict[str, object], d: Decision) -> tuple[str, list[Button]]:
    """What the citizen sees for a decision: text and buttons (before channel rendering)."""
    if d.kind == "answer" and d.entry is not None:
        text = kb.render(d.entry, values)
        if d.note:
            text = f"{d.note}\n\n{text}"
        if d.hedged:
            text = texts.UNDERSTOOD_AS.format(title=d.entry.title) + "\n\n" + text
        related = {e.id: e for e in [*d.also, *kb.see_also(d.entry)] if e.id != d.entry.id}
        return text, entry_buttons(list(related.values())[:3], "➕ ")
    if d.kind == "suggest" and d.suggestions:
        if len(d.suggestions) == 1:  # one entry: a yes-or-no question, not a choice «among the following»
            return texts.DID_YOU_MEAN_ONE.format(title=d.suggestions[0].title.rstrip("?")), entry_buttons(d.suggestions)
        return texts.DID_YOU_MEAN, entry_buttons(d.suggestions)
    if d.kind == "offtopic":
        return texts.OFF_TOPIC, topic_buttons()
    return texts.NOT_SURE, topic_buttons()


def render(kb: KnowledgeBase, values: dict[str, object], u: Understanding, agency: str = "") -> tuple[str, list[Button]]:
    if u.kind == "smalltalk":
        if u.smalltalk == "who":
            return texts.WHO_REPLY.format(agency=agency), []
        if u.smalltalk == "human":
            return texts.HUMAN_REPLY.format(agency=agency), []
        if u.smalltalk in ("confused", "wrong"):
            return SMALLTALK[u.smalltalk], topic_buttons()
        return SMALLTALK.get(u.smalltalk or "", texts.ACK_REPLY), []
    if u.kind == "computed" and u.computed is not None:
        c = u.computed
        text = c.text
        line = source_line(kb, c.cite)
        if line:
            text += f"\n\n{line}"
        see = [kb.entries[i] for i in c.see if i in kb.entries]
        return text, entry_buttons(see[:3], "➕ ")
    if u.kind == "report-offer":
        return texts.REPORT_OFFER.format(details=""), []
    if u.kind == "topic":  # the topic's common questions are added by the caller, which knows the menus
        return TOPIC_INTROS.get(u.topic or "", texts.MENU_NTM), []
    assert u.decision is not None
    return render_decision(kb, values, u.decision)


def answer_entry(ctx: Ctx, entry: Entry) -> None:
    """The entry's answer and source, with its follow-ups as buttons."""
    buttons = own_buttons(ctx, entry.id) + entry_buttons(ctx.kb.see_also(entry)[:3], "➕ ")
    ctx.reply(ctx.kb.render(entry, ctx.services.placeholder_values), buttons=buttons)
    remember(ctx, entry.title, entry.id, None)


def own_buttons(ctx: Ctx, entry_id: str) -> list[Button]:
    """Buttons other features put under an answer for this person ("how do I look up my report": their reports)."""
    return [b for hook in ANSWER_BUTTONS if (b := hook(ctx, entry_id)) is not None]


# Extra buttons under a "not sure" or "did you mean" reply: fn(ctx, logged question) -> Button | None
# (e.g. "Gửi câu hỏi cho cán bộ", which turns the logged question into a ticket).
UNSURE_BUTTONS: list[Callable[[Ctx, "UnansweredQuestion"], Button | None]] = []
# Extra buttons under an answer, for the person asking: fn(ctx, entry id) -> Button | None (e.g. "your reports"
# under the answer on how to look a report up, for someone who has sent some).
ANSWER_BUTTONS: list[Callable[[Ctx, str], Button | None]] = []
# How a report offer is made: fn(ctx, text, complaint) -> (text details, accept button data), set by the
# tickets feature (it knows the categories and the wizard).
REPORT_OFFER: list[Callable[[Ctx, str, Any], tuple[str, str]]] = []


def _recent(ctx: Ctx, stored: dict, minutes: int) -> bool:
    """Was `stored["at"]` (an ISO time kept in the chat's context) less than `minutes` ago? False if unreadable."""
    try:
        at = dt.datetime.fromisoformat(stored["at"])
    except (KeyError, ValueError, TypeError):
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return ctx.now - at <= dt.timedelta(minutes=minutes)


def previous_question(ctx: Ctx) -> Previous | None:
    c = ctx.chat.context or {}
    last = c.get("last")
    if not last or ctx.inbound.chat_type != "private" or not _recent(ctx, last, FOLLOWUP_MINUTES):
        return None
    return Previous(str(last.get("q", ""))[:1000], last.get("entry"), last.get("period"))


def remember(ctx: Ctx, question: str, entry_id: str | None, period: str | None) -> None:
    if ctx.inbound.chat_type != "private":
        return
    c = dict(ctx.chat.context or {})
    c["last"] = {"q": question[:1000], "entry": entry_id, "period": period, "at": ctx.now.isoformat()}
    ctx.chat.context = c


@text_handler(100)
def answer_question(ctx: Ctx) -> bool:
    text = ctx.inbound.text
    u = understand(ctx.kb, text, ctx.now.astimezone(VN_TZ).date(), previous_question(ctx), default_finder())
    reply_text, buttons = render(ctx.kb, ctx.services.placeholder_values, u, ctx.settings.agency_name)
    d = u.decision
    outcome: dict[str, Any] = {"kind": u.kind, "followup": u.followup}
    if u.kind == "topic" and u.topic in TOPIC_INTROS:
        reply_text, buttons = TOPIC_INTROS[u.topic], entry_buttons(menu_entries(ctx, u.topic))
        outcome["topic"] = u.topic
    elif u.kind == "smalltalk":
        outcome["smalltalk"] = u.smalltalk
    elif u.kind == "computed" and u.computed is not None:
        outcome["computed"] = u.computed.kind
        remember(ctx, u.question, None, None)
    elif d is not None:
        outcome["score"] = round(d.score, 2)
        if d.kind == "answer" and d.entry is not None:
            outcome["entry_id"] = d.entry.id
            remember(ctx, u.question, d.entry.id, d.entry.period)
            buttons = own_buttons(ctx, d.entry.id) + buttons
        outcome["suggestions"] = [e.id for e in d.suggestions]
        if d.hedged:
            outcome["hedged"] = True
        if u.kind in ("suggest", "decline", "offtopic") or d.hedged:
            row = log_unanswered(ctx, text, d)
            buttons = buttons + [b for hook in UNSURE_BUTTONS if (b := hook(ctx, row)) is not None]
            if not d.hedged:
                remember(ctx, u.question, None, d.reading.period if d.reading else None)
    if u.complaint is not None and REPORT_OFFER and ctx.inbound.chat_type == "private":
        details, data = REPORT_OFFER[0](ctx, text, u.complaint)
        if u.kind == "report-offer":
            reply_text = texts.REPORT_OFFER.format(details=details)
            buttons = [Button(texts.BTN_REPORT_THIS, data), Button(texts.BTN_NO_THANKS, FB_CB.pack("offer", "no"))] + topic_buttons()
        else:
            buttons = buttons + [Button(texts.BTN_REPORT_ISSUE, data)]
        outcome["report_offer"] = True
    elif u.kind == "report-offer":  # no tickets feature in this process (tests): say what it would be
        reply_text, buttons = texts.NOT_SURE, topic_buttons()
    if ctx.inbound.chat_type == "private":  # «Có phải bạn muốn hỏi: «…»?» asks yes or no: remember about what
        c = dict(ctx.chat.context or {})
        one = d is not None and d.kind == "suggest" and len(d.suggestions) == 1 and u.kind == "suggest"
        if one or "did_you_mean" in c:
            if one:
                c["did_you_mean"] = {"entry": d.suggestions[0].id, "at": ctx.now.isoformat()}
            else:
                c.pop("did_you_mean", None)
            ctx.chat.context = c or None
    ctx.outcome = outcome
    ctx.reply(reply_text, buttons=buttons)
    metrics.answer_outcome(u.kind)
    return True


DID_YOU_MEAN_MINUTES = 10
_YES = frozenset("""dung|dung roi|dung vay|dung a|phai|phai roi|da phai|da dung|u|uh|um|uk|co|co a|vang|da|da vang|ok|oke|
    okie|oki|chinh xac|yes|y|1|cau do|cau 1|xem|xem di|dung cau do|phai cau do""".replace("\n", "").split("|"))
_NO = frozenset("""khong|ko|k|hong|hok|khong phai|ko phai|hong phai|khong dung|ko dung|sai|sai roi|khong a|ko a""".split("|"))
_TAIL_WORDS = frozenset({"ad", "admin", "bot", "a", "ah", "nhe", "nha", "oi", "roi", "ban"})


@text_handler(15)
def did_you_mean_reply(ctx: Ctx) -> bool:
    """«đúng rồi», «ừ», «phải» to «Có phải bạn muốn hỏi: «X»?» open X (the button or «1» did; typing yes
    got «Bạn cần hỏi gì thêm»); «không phải» gets the apology and how to ask again."""
    c = ctx.chat.context or {}
    pending = c.get("did_you_mean")
    if not pending or ctx.inbound.chat_type != "private":
        return False
    words = fold(ctx.inbound.text or "").split()
    while len(words) > 1 and words[-1] in _TAIL_WORDS:
        words.pop()
    said = " ".join(words)
    if said not in _YES and said not in _NO:
        return False
    rest = dict(c)
    rest.pop("did_you_mean", None)
    ctx.chat.context = rest or None
    entry = ctx.kb.entries.get(str(pending.get("entry")))
    if not _recent(ctx, pending, DID_YOU_MEAN_MINUTES) or entry is None:
        return False
    if said in _NO:
        ctx.reply(texts.WRONG_REPLY, buttons=topic_buttons())
        return True
    answer_entry(ctx, entry)
    return True


def log_unanswered(ctx: Ctx, text: str, d: Decision) -> "UnansweredQuestion":
    from bot.storage.models import UnansweredQuestion

    best = d.best
    row = UnansweredQuestion(
        channel=ctx.inbound.channel,
        chat_key=f"{ctx.inbound.channel}:{ctx.inbound.chat_id}",
        text=text[:1000],
        folded=fold(text)[:1000],
        best_entry_id=best.entry_id if best else None,
        best_score=d.score,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    return row


def digest(text: str) -> str:
    """A short fingerprint of a text for a button (callback data is small and can be forged)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@callback(FAQ_CB)
def show_entry(ctx: Ctx) -> None:
    entry = ctx.kb.entries.get(ctx.callback_data.rest(0))
    if entry is None:
        ctx.reply(texts.STALE_BUTTON)
        return
    answer_entry(ctx, entry)


TOPIC_INTROS = {"ntm": texts.MENU_NTM, "ocop": texts.MENU_OCOP, "an-giang": texts.MENU_AG}


@callback(MENU_CB)
def show_menu(ctx: Ctx) -> None:
    topic = ctx.callback_data.rest(0)
    intro = TOPIC_INTROS.get(topic)
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


@callback(HELP_CB)
def help_button(ctx: Ctx) -> None:
    from bot.features.start import help_

    help_(ctx)
