"""Measures of the knowledge base as a whole.

Leave-one-out: every paraphrase of every entry is removed from its entry, the matcher is rebuilt, and the
paraphrase is asked as a question. It should still find its own entry; when it finds another one, the
two entries collide (their wording is too close) and a citizen asking that way gets the wrong answer.
The decision's own cross-validation (harder: a quarter of all paraphrases hidden at once, citizen-style noise,
the off-topic corpus) is printed from the trained model (`knowledge.train.cv_summary`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from knowledge.kb import Decision, KnowledgeBase
from knowledge.numbers import vn_number, vn_percent


@dataclass
class LooReport:
    total: int = 0
    top1: int = 0  # the entry ranks first
    answered: int = 0  # … and the bot would answer it with confidence
    misses: list[tuple[str, str, str | None]] = field(default_factory=list)  # (entry, paraphrase, found instead)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.total if self.total else 0.0

    @property
    def answer_rate(self) -> float:
        return self.answered / self.total if self.total else 0.0

    def collisions(self) -> list[tuple[tuple[str, str], int]]:
        pairs = Counter(tuple(sorted((a, b))) for a, _, b in self.misses if b)
        return pairs.most_common()

    def summary(self) -> str:
        """What an editor reads (Vietnamese, numbers as 1.710 and 96,3%)."""
        lines = [
            f"Thử từng cách hỏi (ẩn khỏi mục của nó rồi hỏi lại): {vn_number(self.top1)}/{vn_number(self.total)} = "
            f"{vn_percent(self.top1, self.total)} vẫn tìm đúng mục "
            f"({vn_percent(self.answered, self.total)} được trả lời chắc chắn)"
        ]
        for (a, b), n in self.collisions()[:15]:
            lines.append(f"  hai mục dễ lẫn ({vn_number(n)} cách hỏi): {a} ↔ {b}")
        return "\n".join(lines)

    def details(self) -> str:
        return "\n".join(f"  [{a}] «{q}» → {b or '(không mục nào)'}" for a, q, b in self.misses)


def leave_one_out(kb: KnowledgeBase) -> LooReport:
    report = LooReport()
    for entry in kb.entries.values():
        for question in entry.questions:
            d = kb.decide(question, exclude=(entry.id, question))
            best = d.best
            report.total += 1
            # A question that names no period is answered from the entry in force, the old one a button away:
            # by design (`superseded_by`), so it counts as found.
            routed = entry.superseded_by is not None and best is not None and best.entry_id == entry.superseded_by \
                and entry.id in {e.id for e in d.also}
            if best is not None and (best.entry_id == entry.id or routed):
                report.top1 += 1
                report.answered += d.kind == "answer"
            else:
                report.misses.append((entry.id, question, best.entry_id if best else None))
    return report


@dataclass
class RegressionReport:
    answered_right: int = 0
    in_scope: int = 0
    rejected: int = 0
    out_of_scope: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.answered_right / self.in_scope if self.in_scope else 0.0

    @property
    def rejection(self) -> float:
        return self.rejected / self.out_of_scope if self.out_of_scope else 0.0

    def summary(self) -> str:
        return (f"Bộ câu hỏi kiểm tra: {vn_number(self.answered_right)}/{vn_number(self.in_scope)} = "
                f"{vn_percent(self.answered_right, self.in_scope)} được trả lời đúng mục; "
                f"{vn_number(self.rejected)}/{vn_number(self.out_of_scope)} = {vn_percent(self.rejected, self.out_of_scope)} "
                f"câu ngoài phạm vi được từ chối")


def regression(kb: KnowledgeBase, cases: list[dict], decide: Callable[[str], Decision]) -> RegressionReport:
    """cases: {"q", "expect": [entry ids]} or {"q", "oos": true}; decide(text) -> Decision."""
    r = RegressionReport()
    for case in cases:
        d = decide(case["q"])
        got = d.entry.id if d.kind == "answer" and d.entry else None
        if case.get("oos"):
            r.out_of_scope += 1
            r.rejected += got is None
            if got:
                r.misses.append(f"Ngoài phạm vi mà vẫn trả lời: «{case['q']}» → {got} ({vn_number(d.score, 1)})")
        else:
            r.in_scope += 1
            ok = got in case["expect"]
            r.answered_right += ok
            if not ok:
                top = [(c.entry_id, round(c.prob, 2)) for c in d.ranked[:3]]
                r.misses.append(f"Sai: «{case['q']}»: cần {case['expect']}, được {d.kind} {got} {top}")
    return r
