"""Texts that tell people to press something read right where there are no buttons (Zalo, the terminal)."""
from __future__ import annotations

import re

import pytest

from bot.channels import zalo_texts as texts_zalo
from bot.features.tickets import texts as texts_tickets
from bot.kernel import inbox, texts
from bot.kernel.channel import CHANNELS, by_caps, caps_of, for_caps
from bot.kernel.messages import Inbound, Reply

BUTTON_WORDS = re.compile(r"\b(?:bấm|nhấn|nút)\b", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def all_texts() -> list[tuple[str, str]]:
    out = []
    for module in (texts, texts_tickets, texts_zalo):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str):
                out.append((f"{module.__name__}.{name}", value))
            elif name.isupper() and isinstance(value, dict):
                out += [(f"{module.__name__}.{name}[{k}]", v) for k, v in value.items() if isinstance(v, str)]
    return out


def test_no_text_speaks_of_buttons_on_channels_without_them():
    checked = 0
    for channel, caps in {spec.name: spec.caps for spec in CHANNELS}.items():
        for name, text in all_texts():
            shown = for_caps(text, caps)
            assert not CONTROL.search(shown), (channel, name)  # every marker resolved
            if not caps.buttons:
                assert not BUTTON_WORDS.search(shown), (channel, name, shown)
                checked += 1
    assert checked > 300  # the scan saw the texts (guards against an empty loop)
    # … and where there are buttons, the words for them are still there.
    assert "bấm «Bỏ qua»" in for_caps(texts_tickets.ASK_HAMLET, caps_of("telegram"))
    assert "gõ «bỏ qua»" in for_caps(texts_tickets.ASK_HAMLET, caps_of("zalo"))


def test_markers_resolve_per_channel_and_only_in_our_texts():
    text = "Không rõ thì " + by_caps("bấm «Bỏ qua»", "gõ «bỏ qua»") + ", hoặc " + by_caps("nút này", "lựa chọn này") + "."
    assert for_caps(text, caps_of("telegram")) == "Không rõ thì bấm «Bỏ qua», hoặc nút này."
    assert for_caps(text, caps_of("zalo_oa")) == "Không rõ thì gõ «bỏ qua», hoặc lựa chọn này."
    assert for_caps("Đường [[bấm|gõ]] {x} | hư", caps_of("zalo")) == "Đường [[bấm|gõ]] {x} | hư"  # people's text untouched
    # The marker characters cannot come from people: inbound text is cleaned of control characters.
    forged = Inbound("zalo", "c1", "c1", text="a" + by_caps("X", "Y") + "b")
    assert inbox.clean_inbound(forged).text == "aXYb"


@pytest.mark.parametrize(("channel", "expected"), [("telegram", "bấm **Gửi phản ánh**"), ("zalo", "gõ «gửi»")])
def test_deliver_picks_the_words_for_the_target_channel(tmp_path, channel, expected):
    from bot.storage.db import Database
    from tests.conftest import make_settings

    db = Database(make_settings(tmp_path).effective_database_url)
    db.migrate()

    def go(s):
        chat = inbox.get_or_create_chat(s, channel, "42")
        rows = inbox.deliver(s, Reply(texts_tickets.CONFIRM_HINT), default=chat)
        return [r.payload["text"] for r in rows]

    (sent,) = db.call(go)
    db.dispose()
    assert expected in sent and not CONTROL.search(sent)
