"""A chat in the terminal, through the same core as every other channel (no tokens needed)."""
from __future__ import annotations

import sys
from typing import Any, Callable

from bot.kernel.channel import CHANNELS, Caps, ChannelAdapter, ChannelSpec, SendResult
from bot.kernel.messages import TERMINAL


class TerminalChannel(ChannelAdapter):
    name = TERMINAL

    def __init__(self, write: Callable[[str], None] | None = None):
        self.write = write or (lambda text: print(text, flush=True))
        self.count = 0

    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        if payload.get("kind") == "callback_answer":
            return SendResult(True)
        text = payload.get("text") or ""
        for a in payload.get("attachments") or []:
            text += f"\n[{a.get('kind')}: {a.get('ref')}]"
        if text:
            self.count += 1
            prefix = "" if chat_id == "local" else f"[{chat_id}] "
            self.write(f"\n🤖 {prefix}" + text.replace("\n", "\n   ") + "\n")
        return SendResult(True, message_id=str(self.count))


def is_interactive() -> bool:
    return sys.stdin.isatty()


# The terminal chat is added by `ntm-bot chat` itself (no settings): no factory.
CHANNELS.register(ChannelSpec(TERMINAL, Caps(buttons=False, max_len=100_000, markup=False),
                              title="máy tính (thử nghiệm)", audience=True))
