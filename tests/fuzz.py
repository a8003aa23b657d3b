"""A reusable harness for fuzzing a channel's webhook with hypothesis (Telegram here; Zalo adapters reuse it).

`WebhookTarget` runs a real App (webhook mode, real HTTP) and the channel's fake platform API on a private
event loop, so plain (synchronous) hypothesis tests can drive it:

    target.post(body_or_bytes) -> HTTP status
    target.rows()              -> row counts of the core tables (to prove rejected input wrote nothing)
    target.run(coro)           -> run a coroutine on the target's loop (waiting for replies, …)

Strategies: `json_values()` (any JSON), `mutated(base)` (a valid payload with keys dropped or replaced by
junk), `citizen_texts()` (any Unicode: NFD, emoji, control characters, HTML/Markdown, very long).
"""
from __future__ import annotations

import asyncio
import json
import unicodedata
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp
import sqlalchemy as sa
from hypothesis import strategies as st

T = TypeVar("T")

JSON_SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    return st.recursive(JSON_SCALARS, lambda children: st.lists(children, max_size=4) |
                        st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=max_leaves)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    return out


@st.composite
def mutated(draw: Callable, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with 1–3 keys (at any depth) dropped or replaced by arbitrary JSON."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values(6))
    return doc


SPECIAL = ["<b>", "</b>", "<script>alert(1)</script>", "&", "&amp;", "&#0;", "**", "__", "`", "```", "[a](http://x)",
           "<", ">", "\"", "'", "\\", "\u200b", "\u202e", "\ufeff", "\x00", "\x07", "\x1b[31m", "\r\n", "\t",
           "🇻🇳", "👨‍👩‍👧‍👦", "🌾", "Ð", "ǅ", "𝕏", "\ud7ff", "ô", "ư", "ở", "đ"]


@st.composite
def citizen_texts(draw: Callable) -> str:
    parts = draw(st.lists(st.sampled_from(SPECIAL) | st.text(max_size=30) |
                          st.sampled_from(["OCOP là gì?", "ocop 4 sao", "nông thôn mới", "/start", "/huy", "/tra_cuu x"]),
                          min_size=1, max_size=8))
    text = "".join(parts)
    if draw(st.booleans()):
        text = unicodedata.normalize("NFD", text)
    if draw(st.integers(0, 9)) == 0:
        text = (text or "x") * (5200 // max(1, len(text or "x")) + 1)  # over 5,000 characters
    return text


class WebhookTarget:
    def __init__(self, loop: asyncio.AbstractEventLoop, app: Any, path: str, headers: dict[str, str]):
        self.loop, self.app, self.path, self.headers = loop, app, path, headers
        self.http: aiohttp.ClientSession | None = None

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app.settings.http_port}{self.path}"

    def post(self, body: Any, headers: dict[str, str] | None = None) -> int:
        async def go() -> int:
            if self.http is None:
                self.http = aiohttp.ClientSession()
            h = dict(self.headers if headers is None else headers)
            kw: dict[str, Any]
            if isinstance(body, (bytes, bytearray)):
                kw = {"data": bytes(body), "headers": {**h, "Content-Type": "application/json"}}
            else:
                kw = {"data": json.dumps(body), "headers": {**h, "Content-Type": "application/json"}}
            async with self.http.post(self.url, **kw) as r:
                await r.read()
                return r.status

        return self.run(go())

    def idle(self, timeout: float = 10.0) -> None:
        """Until every stored event is processed (its effects are in the database)."""
        from bot.storage.models import InboundEvent

        async def go() -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            q = sa.select(sa.func.count()).select_from(InboundEvent).where(InboundEvent.status == "pending")
            while await self.app.db.run(lambda s: s.execute(q).scalar_one()) and loop.time() < deadline:
                await asyncio.sleep(0.01)

        self.run(go())

    def rows(self) -> dict[str, int]:
        from bot.storage.models import Chat, InboundEvent, OutboxMessage

        def count(s: Any) -> dict[str, int]:
            return {t.__tablename__: s.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in (InboundEvent, OutboxMessage, Chat)}

        return self.app.db.call(count)

    def close(self) -> None:
        if self.http is not None:
            self.run(self.http.close())
