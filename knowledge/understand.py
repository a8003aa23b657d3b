"""What a citizen's free text asks, in one place: the channel-neutral reading behind every FAQ reply.

    small talk ──► a follow-up of the previous question? ──► a computed answer ──► the calibrated decision
    (answer / suggest / decline / off-topic) ──► a local problem reported as plain text (offer a report)

`understand` is pure (no database, no clock of its own): the FAQ handler gives it the previous question of
the conversation and today's date, and renders what comes back.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable

from knowledge.complaint import Complaint, detect as detect_complaint
from knowledge.computed import Computed, compute
from knowledge.normalize import fold
from knowledge.smalltalk import kind_of as smalltalk_kind, topic_asked

if TYPE_CHECKING:
    from knowledge.communes import CommuneFinder
    from knowledge.kb import Decision, KnowledgeBase

_SENTENCE_SPLIT = re.compile(r"(?<=[.?!\n])\s+")
# Commas, and "cho (em) hỏi", "xin hỏi", "muốn hỏi", where the question itself usually begins
# (and "vậy", "rồi", "mà" between the story and the question: "… vận động đóng tiền vậy người già có phải đóng không")
_CLAUSE_SPLIT = re.compile(r"\s*[,;]\s*|\s+(?=(?:cho|xin|muốn|muon)\s+(?:\w+\s+)?(?:hỏi|hoi)\b)"
                           r"|\s+(?:vậy|vay|vậy thì|vay thi|rồi|roi|mà|ma)\s+(?=\w+\s+\w+\s+\w+)", re.IGNORECASE)
FOLLOWUP_WORDS = 9  # a follow-up is short
HEAD_WORDS = (8, 12)  # the first words of a long unpunctuated message, read as its question…
_ASKS = re.compile(r"\b(?:gi|nao|bao nhieu|may|the nao|ra sao|o dau|ai|khi nao|bao gio|co phai|la sao)\b")
_ASKS_YES_NO = re.compile(r"\b(?:khong|ko|k|hong|hok|chua|phai khong|duoc khong)(?: (?:bot|ad|admin|a|vay|ha|nhi))*$")
ASKED_FIRST_WORDS = 3  # content words a first clause needs to be a question of its own
HEAD_TOPICS = frozenset({"ntm", "ocop"})  # … when it names one of these (place and product names say too little)
HEAD_NEAR = 3  # … and answered alone, it confirms one of the whole message's first three entries
CONTEXT_WORDS = 14  # a message this long often tells its context before the question
# "còn tiêu chí 5 thì sao", "vậy 4 sao thì sao", "thế giai đoạn mới?", "còn OCOP 5 sao"
_FOLLOWUP_START = re.compile(r"^(?:con|vay con|the con|vay|the|the thi|vay thi|roi|con neu|neu|vay neu|con cai|con ve)\b")
_FOLLOWUP_END = re.compile(r"\b(?:thi sao|the nao|ra sao|sao|thi|nua|thi the nao)$")
_NUMBER = re.compile(r"\b\d{1,4}\b")


@dataclass(frozen=True)
class Previous:
    """The last question of the conversation that was understood (stored in the chat's context)."""

    text: str
    entry_id: str | None = None
    period: str | None = None


@dataclass
class Understanding:
    kind: str  # smalltalk | topic | computed | answer | suggest | decline | offtopic | report-offer
    question: str  # the question as understood (a follow-up merged with the previous one)
    decision: "Decision | None" = None
    computed: Computed | None = None
    smalltalk: str | None = None
    complaint: Complaint | None = None
    followup: bool = False
    sources: list[str] = field(default_factory=list)
    topic: str | None = None  # kind "topic": ntm | ocop | an-giang

    @property
    def answered(self) -> bool:
        return self.kind in ("answer", "computed")

    @property
    def hedged(self) -> bool:
        """Answered saying how it was understood («Tôi hiểu bạn hỏi…»): a guess, not a sure answer."""
        return self.decision is not None and self.decision.hedged


def looks_like_followup(text: str) -> bool:
    words = fold(text).split()
    if not words or len(words) > FOLLOWUP_WORDS:
        return False
    folded = " ".join(words)
    return bool(_FOLLOWUP_START.search(folded) or _FOLLOWUP_END.search(folded))


def merge_followup(previous: Previous, text: str) -> str:
    """The previous question with the follow-up's change: its numbers replace the previous ones, its period
    words are added, and its other words are added too ("còn OCOP 5 sao thì sao")."""
    new = fold(text)
    new = _FOLLOWUP_START.sub("", new).strip()
    new = _FOLLOWUP_END.sub("", new).strip()
    old = fold(previous.text)
    if _NUMBER.search(new):
        old = _NUMBER.sub(" ", old)
    return " ".join(f"{old} {new}".split())


def _decide(kb: "KnowledgeBase", text: str) -> "Decision":
    """Long messages: the question is usually one of the sentences, often the last."""
    whole = kb.decide(text)
    asked = _asked_first(kb, text, whole)
    if asked is not whole or (whole.kind == "answer" and not whole.hedged):
        return asked
    clauses = _CLAUSE_SPLIT.split(text.strip())
    long = len(fold(text).split()) >= CONTEXT_WORDS
    sentences = [p for p in _SENTENCE_SPLIT.split(text.strip()) if len(fold(p)) >= 6]
    parts = sentences[-6:] if len(sentences) > 1 else []
    # Unpunctuated context first, the question last ("nhà mình ở An Phú làm khô cá linh, năm nay muốn làm OCOP,
    # hồ sơ cần gì"): the message from each comma to its end.
    tails = [" ".join(clauses[k:]) for k in range(1, min(len(clauses), 4)) if len(fold(" ".join(clauses[k:]))) >= 12]
    # … or the question first, then why one asks ("19 tiêu chí gồm những gì kể hết ra giúp em, em cần làm báo cáo
    # cho đoàn thanh niên…"): the message up to a comma, and its first words; only when the message names the
    # programmes (the first words of "nấu đường thốt nốt bao lâu thì kẹo lại, …" are no question about OCOP).
    words = text.split()
    heads: list[str] = []
    if whole.reading is not None and whole.reading.topics & HEAD_TOPICS:
        heads = [" ".join(clauses[:k]) for k in range(1, min(len(clauses), 3))]
        heads += [" ".join(words[:n]) for n in HEAD_WORDS if len(words) > n + 4]
        # … and asks something: "xã em ở Thoại Sơn đạt nâng cao rồi, …" is context, not the question
        heads = [h for h in heads if len(fold(h)) >= 12 and _ASKS.search(fold(h))]
    if not long:
        tails, heads = [], []
    if not parts and not tails and not heads:
        return whole
    rank = {"answer": 3, "suggest": 2, "decline": 1, "offtopic": 0}

    def level(d: "Decision") -> tuple[float, float]:  # a sure answer before a hedged one
        return rank[d.kind] + (0.5 if d.kind == "answer" and not d.hedged else 0.0), d.score

    best = whole
    # A tail only confirms the entry the whole message already ranks first: alone, "…, phí bao nhiêu" would be
    # any fee. A head is a question of its own ("ocop là gì vậy bot, tui bán tạp hóa … khách du lịch hỏi hoài"):
    # the context after it may put another entry first, so it confirms one of the whole's first three.
    near = {"tail": {r.entry_id for r in whole.ranked[:1]}, "head": {r.entry_id for r in whole.ranked[:HEAD_NEAR]}}
    for part, how in [*((p, "free") for p in parts), *((t, "tail") for t in tails), *((h, "head") for h in heads)]:
        d = kb.decide(part)
        # A tail that names the programme and is surely answered alone says what a message the bot only has
        # suggestions for asks ("tui làm bánh phồng tôm…, năm tới muốn làm ocop, hồ sơ cần gì": not the household entry)
        # … and one the bot has suggestions for is better than nothing for a message it declines ("chị bán bánh pía
        # ở chợ Mỹ Luông, muốn đưa lên OCOP, hồ sơ cần gì")
        free_tail = (how == "tail" and d.reading is not None and bool(d.reading.topics & HEAD_TOPICS)
                     and ((whole.kind == "suggest" and d.kind == "answer" and not d.hedged)
                          or (whole.kind in ("decline", "offtopic") and d.kind == "suggest")))
        if how != "free" and not free_tail and (d.kind != "answer" or d.entry is None or d.entry.id not in near[how]):
            continue
        # A hedged whole: a part may only say surely which of the whole's first entries is meant
        if whole.hedged and not free_tail and (d.kind != "answer" or d.hedged or d.entry is None
                                               or d.entry.id not in near["head"]):
            continue
        if level(d) > level(best):
            best = d
    if best is whole or best.kind != "answer" or not long or len(clauses) < 2 or len(fold(clauses[-1])) < 12:
        return best
    return _against_last(best, kb.decide(clauses[-1]))


def _asked_first(kb: "KnowledgeBase", text: str, whole: "Decision") -> "Decision":
    """"Mai trời Tịnh Biên có mưa không bot, em tính đi phơi đường thốt nốt": the question is the first clause, the
    rest only says why one asks and asks nothing. When that question alone is about nothing the bot covers, the
    words of the context (a product, a place) do not make the message a question about them."""
    clauses = [c for c in re.split(r"\s*[,;.!?]\s*", text.strip()) if c]
    if len(clauses) < 2 or whole.kind not in ("answer", "suggest"):
        return whole
    first, rest = fold(clauses[0]), fold(" ".join(clauses[1:]))
    if not (_ASKS.search(first) or _ASKS_YES_NO.search(first)) or _ASKS.search(rest) or _ASKS_YES_NO.search(rest):
        return whole
    # … and the rest names neither programme ("văn bản nào quy định trình tự, hồ sơ xét công nhận … nông thôn mới"
    # goes on asking after the comma)
    if kb.retriever.read(" ".join(clauses[1:])).topics & HEAD_TOPICS:
        return whole
    alone = kb.decide(clauses[0])
    # … a question of its own (not "có được không bot, nhà em làm mắm…"), that no entry is near
    if alone.reading is None or len(alone.reading.words) < ASKED_FIRST_WORDS:
        return whole
    if alone.kind in ("offtopic", "decline"):
        return alone
    # … or that one entry surely answers, while the whole message is only a guess: the context's words ("hồ sơ
    # OCOP gồm những gì, nhà chú làm mắm cá linh…": mắm) pulled it to another entry
    if (whole.kind == "suggest" or whole.hedged) and alone.kind == "answer" and not alone.hedged:
        return alone
    return whole


def _against_last(d: "Decision", last: "Decision") -> "Decision":
    """"…, nghe loa xã nói hoài, nông thôn mới là gì vậy": context words ("loa") can carry a tail of the message to
    another entry than the question at its end asks. When that last clause alone is answered more surely by another
    entry, both are offered rather than one answered. (Not for a message answered whole: there the context is
    usually what the question needs, "nhà em hộ nghèo…, ấp thu tiền làm đường có phải đóng không".)"""
    if d.kind != "answer" or d.entry is None or last.kind != "answer" or last.entry is None:
        return d
    if last.entry.id == d.entry.id or last.score <= d.score:
        return d
    return replace(d, kind="suggest", entry=None, suggestions=[last.entry, d.entry], note="", also=[], hedged=False)


def _understand_question(kb: "KnowledgeBase", text: str, today: dt.date,
                         finder: "CommuneFinder | None") -> Understanding:
    reading = kb.retriever.read(text)
    c = compute(kb, text, reading, today, finder)
    if c is None:  # a long message: the question may be one of its sentences, often the last
        sentences = [p for p in _SENTENCE_SPLIT.split(text.strip()) if len(fold(p)) >= 6]
        for sentence in reversed(sentences[-6:] if len(sentences) > 1 else []):
            c = compute(kb, sentence, kb.retriever.read(sentence), today, finder)
            if c is not None:
                break
    if c is not None:
        return Understanding("computed", text, computed=c)
    d = _decide(kb, text)
    return Understanding(d.kind, text, decision=d)


def understand(kb: "KnowledgeBase", text: str, today: dt.date, previous: Previous | None = None,
               finder: "CommuneFinder | None" = None, categories: Iterable[str] | None = None) -> Understanding:
    kind = smalltalk_kind(text)
    if kind is not None:
        return Understanding("smalltalk", text, smalltalk=kind)
    topic = topic_asked(text)
    if topic is not None:  # "mình muốn hỏi về OCOP": the topic's common questions, not one entry's answer
        return Understanding("topic", text, topic=topic)
    u = _understand_question(kb, text, today, finder)
    if previous is not None and (not u.answered or u.hedged) and looks_like_followup(text):
        merged = merge_followup(previous, text)
        m = _understand_question(kb, merged, today, finder)
        sure = m.answered and not m.hedged
        # "vậy 4 sao thì sao" after "ocop 3 sao là bao nhiêu điểm": a guess on its own, sure with the previous
        # question (and then remembered merged, so "còn 5 sao" reads as well)
        if sure or (not u.answered and (m.answered or (m.kind == "suggest" and u.kind != "suggest"))):
            m.followup = True
            u = m
    if u.kind in ("answer", "computed"):
        complaint = detect_complaint(text, finder, categories=categories)
        if complaint is not None:
            u.complaint = complaint  # answered, with a button to report it
            if complaint.strength == "strong" and u.kind == "answer" and u.hedged:
                # "đèn đường ấp 2 hư mấy tháng rồi tối thui": a report, and the base was only guessing at a question
                u.kind = "report-offer"
        return u
    complaint = detect_complaint(text, finder, categories=categories)
    if complaint is not None:
        u.complaint = complaint
        if complaint.strength == "strong":
            u.kind = "report-offer"
    return u
