"""Pure parts of broadcasting: the scheduling syntax, the quiet window, what citizens receive."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.features.broadcasts import parsing
from bot.features.broadcasts import service as bc
from bot.storage.broadcast import Broadcast
from tests.bc_util import local
from tests.conftest import make_settings

NOW = local(2026, 11, 26, 10, 0)


def test_schedule_syntax():
    assert parsing.parse_schedule("Họp dân lúc 2026-12-01 07:30", NOW) == ("Họp dân", local(2026, 12, 1, 7, 30), None)
    assert parsing.parse_schedule("Họp dân luc 01/12/2026 7h30", NOW) == ("Họp dân", local(2026, 12, 1, 7, 30), None)
    assert parsing.parse_schedule("Mời bà con họp tối nay lúc 19:30", NOW) == ("Mời bà con họp tối nay lúc 19:30", None, None)
    for bad in ("Họp lúc 2026-13-45 07:30", "Họp lúc 31/02/2026 07:30", "Họp lúc 2026-12-01"):
        assert "không hiểu thời điểm hẹn" in parsing.parse_schedule(bad, NOW)[2]
    assert "đã qua" in parsing.parse_schedule("Họp lúc 2026-11-26 09:59", NOW)[2]
    assert parsing.parse_schedule("Họp lúc 2028-01-01 07:00", NOW)[2] == "Chỉ hẹn giờ được trong vòng 1 năm tới."


def test_quiet_window_spans_midnight_and_a_typo_keeps_the_default(tmp_path, caplog):
    s = make_settings(tmp_path)
    assert parsing.in_quiet(s, local(2026, 12, 1, 21, 0)) and parsing.in_quiet(s, local(2026, 12, 2, 6, 59))
    assert not parsing.in_quiet(s, local(2026, 12, 2, 7, 0)) and not parsing.in_quiet(s, local(2026, 12, 1, 20, 59))
    assert parsing.quiet_ends(s, local(2026, 12, 1, 23, 0)) == local(2026, 12, 2, 7, 0)
    assert parsing.quiet_ends(s, local(2026, 12, 2, 3, 0)) == local(2026, 12, 2, 7, 0)
    day = s.model_copy(update={"broadcast_quiet_hours": "12:00-13:30"})
    assert parsing.in_quiet(day, local(2026, 12, 1, 12, 45)) and not parsing.in_quiet(day, local(2026, 12, 1, 22, 0))
    assert not parsing.in_quiet(s.model_copy(update={"broadcast_quiet_hours": ""}), local(2026, 12, 1, 23, 0))
    with pytest.raises(ValidationError, match="BROADCAST_QUIET_HOURS|broadcast_quiet_hours"):  # a typo stops start-up
        make_settings(tmp_path, broadcast_quiet_hours="9pm-7am")


def test_what_citizens_receive_per_channel(tmp_path):
    s = make_settings(tmp_path)
    b = Broadcast(text="**Họp** <dân> & bà con", photo="AgACfileid")
    tg = bc.payload_for(s, b, "telegram")
    assert tg["text"].startswith("📢 **Tin từ Văn phòng Điều phối") and tg["text"].endswith("Gõ /huydangky để ngừng nhận tin.")
    assert tg["attachments"] == [{"kind": "photo", "ref": "AgACfileid", "name": "", "mime": ""}]
    assert tg["buttons"] == [[{"label": "🔕 Ngừng nhận tin", "data": "sub:off"}]]
    zalo = bc.payload_for(s, b, "zalo")
    assert "**" not in zalo["text"] and "Họp <dân> & bà con" in zalo["text"]  # markup stripped, text kept
    assert "attachments" not in zalo and "buttons" not in zalo  # a Telegram file id means nothing on Zalo
    assert bc.payload_for(s, Broadcast(text="x", photo="https://example.org/a.jpg"), "zalo")["attachments"]
    assert bc.check_text("", False) and bc.check_text("x" * 1501, False) and bc.check_text("x" * 801, True)
    assert bc.check_text("x" * 1500, False) is None


def test_topics_setting(tmp_path):
    s = make_settings(tmp_path, broadcast_topics="ntm=Tin NTM; ocop=OCOP;;")
    assert parsing.topics(s) == {"ntm": "Tin NTM", "ocop": "OCOP"}
    with pytest.raises(ValidationError, match="bad key=X"):  # a typo stops start-up, it is not skipped with a warning
        make_settings(tmp_path, broadcast_topics="ntm=Tin NTM; bad key=X")
    assert bc.may_approve("supervisor", "supervisor") and bc.may_approve("admin", "supervisor")
    assert not bc.may_approve("officer", "supervisor") and not bc.may_approve(None, "supervisor")
    assert parsing.duration(345) == "5 phút 45 giây" and parsing.duration(4000) == "1 giờ 6 phút" and parsing.number(10000) == "10.000"
