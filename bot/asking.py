"""`ntm-bot ask`: one question through the real router, as a citizen's first message would go.

Each question is a private chat of its own in a throw-away in-memory SQLite database: the same handlers, the
same conversation rules (small talk, computed answers, report offers), and nothing kept afterwards. What is
printed is what a citizen on a channel without buttons would read.
"""
from __future__ import annotations

import itertools
from typing import Any

from bot.config import Settings

TEXT_CHANNEL = "ask"


class OneShot:
    def __init__(self, settings: Settings):
        import sqlalchemy as sa
        from sqlalchemy.pool import StaticPool
        from sqlmodel import SQLModel

        from bot import composition
        from bot.kernel.registry import Services
        from bot.storage import all_models  # noqa: F401  (every table in the metadata)
        from knowledge.kb import KnowledgeBase

        composition.load(channels=False)  # a one-shot answer on no platform
        self.settings = settings
        self.kb = KnowledgeBase.for_settings(settings)
        self.services = Services(settings=settings, kb_ref=lambda: self.kb)
        self.engine = sa.create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
        SQLModel.metadata.create_all(self.engine)
        self._ids = itertools.count(1)

    def ask(self, question: str) -> dict[str, Any]:
        from sqlmodel import Session

        from bot.kernel.channel import caps_of, for_caps, strip_markup
        from bot.kernel.inbox import get_or_create_chat
        from bot.kernel.messages import Inbound
        from bot.kernel.registry import Ctx
        from bot.kernel.router import route

        n = next(self._ids)
        inbound = Inbound(TEXT_CHANNEL, f"ask-{n}", f"ask-{n}", text=question, event_key=f"ask-{n}")
        with Session(self.engine) as session:
            chat = get_or_create_chat(session, TEXT_CHANNEL, inbound.chat_id)
            ctx = Ctx(inbound=inbound, session=session, chat=chat, services=self.services)
            route(ctx)
            session.rollback()  # one-shot: nothing is kept
        texts, buttons = [], []
        for reply in ctx.replies:
            if reply.kind == "callback_answer":
                continue
            texts.append(strip_markup(for_caps(reply.text, caps_of(TEXT_CHANNEL))))
            buttons += [b for row in reply.buttons for b in row]
        answer = "\n\n".join(t for t in texts if t)
        if buttons:
            answer += "\n" + "\n".join(f"  {i}. {b.label}" for i, b in enumerate(buttons, 1))
        out = ctx.outcome or {}
        kind = out.get("kind", "flow")  # a command, a step of a conversation: what the router ran
        suggestions = [{"id": i, "title": self.kb.entries[i].title} for i in out.get("suggestions", []) if i in self.kb.entries]
        return {
            "question": question,
            "matched": kind in ("answer", "computed"),
            "kind": kind,
            "entry_id": out.get("entry_id"),
            "computed": out.get("computed"),
            "score": out.get("score", 0.0),
            "answer": answer,
            "suggestions": suggestions,
            "report_offer": bool(out.get("report_offer")),
        }
