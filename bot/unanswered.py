"""What citizens asked that the bot could not answer, grouped by similarity: what to write next."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlmodel import Session, select

from bot.messages import utcnow
from bot.storage.models import UnansweredQuestion
from knowledge.normalize import content_tokens

SIMILAR = 72  # token_set_ratio at which two questions count as the same question


@dataclass
class Group:
    example: str
    key: str
    count: int = 1
    texts: list[str] = field(default_factory=list)
    last: dt.datetime | None = None


def group_questions(rows: list[UnansweredQuestion]) -> list[Group]:
    """Greedy clustering: each question joins the first group it resembles; biggest groups first."""
    groups: list[Group] = []
    for row in sorted(rows, key=lambda r: r.created_at, reverse=True):
        key = " ".join(content_tokens(row.text))
        if not key:
            continue
        for g in groups:
            if fuzz.token_set_ratio(key, g.key) >= SIMILAR:
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
        return f"Không có câu hỏi nào chưa trả lời được trong {days} ngày qua."
    lines = [f"Câu hỏi chưa trả lời được trong {days} ngày qua (nhóm theo nội dung, nhiều nhất trước):"]
    for i, g in enumerate(groups[:limit], 1):
        lines.append(f"{i}. ({g.count} lần) {g.example[:160]}")
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
