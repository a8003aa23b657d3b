"""What citizens asked that the bot could not answer, grouped by similarity: what to write next."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlmodel import Session, select

from bot.kernel.messages import utcnow
from bot.storage.models import UnansweredQuestion
from knowledge.normalize import content_tokens
from knowledge.numbers import vn_number

SAME_WORD = 85  # ratio at which two words count as the same word (a typo: "ocp" / "ocop")
COVER_SHORTER = 0.75  # two questions are the same question when their shared words are most of the shorter one …
COVER_LONGER = 0.5  # … and at least half of the longer one


@dataclass
class Group:
    example: str
    key: str
    count: int = 1
    texts: list[str] = field(default_factory=list)
    last: dt.datetime | None = None


def same_question(a: str, b: str) -> bool:
    """Two questions (their content words) ask the same thing: the same numbers ("tiêu chí 20" is not "tiêu chí 7",
    "OCOP 3 sao" not "OCOP 5 sao"), and the words they share are most of both ("giá lúa hôm nay" ~ "giá lúa hôm
    nay bao nhiêu"; "tiêu chí 20 là gì" is not "tiêu chí 7 giai đoạn mới", which only shares "tiêu chí")."""
    wa, wb = a.split(), b.split()
    if not wa or not wb or {w for w in wa if w.isdigit()} != {w for w in wb if w.isdigit()}:
        return False
    shared = sum(1 for w in wa if any(w == v or (not w.isdigit() and fuzz.ratio(w, v) >= SAME_WORD) for v in wb))
    short, long_ = sorted((len(wa), len(wb)))
    return shared >= COVER_SHORTER * short and shared >= COVER_LONGER * long_


def group_questions(rows: list[UnansweredQuestion]) -> list[Group]:
    """Greedy clustering: each question joins the first group it is the same question as; biggest groups first."""
    groups: list[Group] = []
    for row in sorted(rows, key=lambda r: r.created_at, reverse=True):
        key = " ".join(content_tokens(row.text))
        if not key:
            continue
        for g in groups:
            if same_question(key, g.key):
                g.count += 1
                if len(g.texts) < 3 and row.text not in g.texts:
                    g.texts.append(row.text)
                break
        else:
            groups.append(Group(example=row.text, key=key, texts=[row.text], last=row.created_at))
    groups.sort(key=lambda g: (g.count, g.last or dt.datetime.min.replace(tzinfo=dt.timezone.utc)), reverse=True)
    return groups


def recent_groups(session: Session, days: int = 30) -> list[Group]:
    since = utcnow() - dt.timedelta(days=days)
    rows = list(session.exec(select(UnansweredQuestion).where(UnansweredQuestion.created_at >= since)))
    return group_questions(rows)


def format_groups(groups: list[Group], limit: int, days: int) -> str:
    if not groups:
        return f"Không có câu hỏi nào chưa trả lời được trong {vn_number(days)} ngày qua."
    lines = [f"Câu hỏi chưa trả lời được trong {vn_number(days)} ngày qua (nhóm các câu cùng ý, nhiều nhất trước):"]
    for i, g in enumerate(groups[:limit], 1):
        lines.append(f"{i}. ({vn_number(g.count)} lần) {g.example[:160]}")
        for other in g.texts[1:]:
            lines.append(f"     ~ {other[:120]}")
    return "\n".join(lines)


def print_unanswered(days: int, limit: int) -> int:
    from bot.config import get_settings
    from bot.storage.db import Database

    db = Database(get_settings().effective_database_url)
    db.migrate()
    print(format_groups(db.call(recent_groups, days), limit, days))
    return 0
