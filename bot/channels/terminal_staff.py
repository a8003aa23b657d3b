"""The officers' room in a terminal (`ntm-bot chat --staff`): the staff inbox where there is no Telegram.

Cards of new tickets and every staff notice arrive here; the person at this terminal is staff and uses the
same commands as in the Telegram group. Files the bot makes (a CSV export) are saved under DATA_DIR/exports.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Callable

from bot.channels.terminal import TerminalChannel
from bot.kernel.channel import CHANNELS, Caps, ChannelSpec, SendResult
from bot.kernel.messages import TERMINAL_STAFF


class StaffTerminalChannel(TerminalChannel):
    name = TERMINAL_STAFF

    def __init__(self, export_dir: Path, write: Callable[[str], None] | None = None):
        super().__init__(write)
        self.export_dir = export_dir

    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        files = []
        rest = []
        for a in payload.get("attachments") or []:
            if a.get("kind") == "document" and str(a.get("ref", "")).startswith("data:"):
                self.export_dir.mkdir(parents=True, exist_ok=True)
                path = self.export_dir / Path(a.get("name") or "tep").name
                path.write_bytes(base64.b64decode(a["ref"].split(",", 1)[1]))
                files.append(f"[tệp đã lưu: {path}]")
            else:
                rest.append(a)
        if files:
            payload = dict(payload, attachments=rest, text=(payload.get("text") or "") + "\n" + "\n".join(files))
        return await super().send(chat_id, payload)


CHANNELS.register(ChannelSpec(TERMINAL_STAFF, Caps(buttons=False, max_len=100_000, markup=False),
                              title="máy tính (phòng cán bộ)"))
