"""The slogan library (only sourced slogans) and the commune finder."""
from __future__ import annotations

import datetime as dt

import pytest

from knowledge.slogans import SloganError, library, parse

REQUIRED = [
    "Cơ cấu lại ngành nông nghiệp là động lực, nông thôn mới là nền tảng, nông dân là chủ thể",
    "Dân biết, dân bàn, dân làm, dân kiểm tra, dân giám sát, dân thụ hưởng",
    "Miền quê đáng sống",
    "Cả nước chung sức xây dựng nông thôn mới",
    "An Giang chung sức xây dựng nông thôn mới",
]


def test_shipped_library_has_the_plan_s_principles_and_slogans_each_sourced():
    lib = library()
    texts = [s.text for s in lib.slogans]
    for required in REQUIRED:
        assert required in texts
    for s in lib.slogans:
        assert s.sources and all(src.quote for src in s.sources)
        assert any(src.doc == "Kế hoạch 328/KH-UBND" and src.date == dt.date(2023, 5, 5) for src in s.sources)
        assert "Nguồn: Kế hoạch 328/KH-UBND ngày 05/5/2023 của UBND tỉnh An Giang." in s.render()


def test_rotation_is_weekly_and_covers_the_library():
    lib = library()
    monday = dt.date(2026, 11, 30)
    assert lib.of_week(monday) == lib.of_week(monday + dt.timedelta(days=6))
    assert lib.of_week(monday) != lib.of_week(monday + dt.timedelta(days=7))
    seen = {lib.of_week(monday + dt.timedelta(weeks=w)).id for w in range(len(lib.slogans))}
    assert len(seen) == len(lib.slogans)
    assert lib.after(lib.slogans[-1].id) == lib.slogans[0]


def _one(**over):
    item = {"id": "mot", "text": "Miền quê đáng sống", "kind": "mục tiêu", "note": "",
            "sources": [{"doc": "Kế hoạch 328/KH-UBND", "date": "2023-05-05", "issuer": "UBND tỉnh An Giang",
                         "quote": "trở thành những “Miền quê đáng sống”"}]}
    item.update(over)
    return {"slogans": [item]}


def test_unsourced_or_misquoted_slogans_are_refused():
    assert parse(_one()).slogans[0].id == "mot"
    with pytest.raises(SloganError, match="không có nguồn"):
        parse(_one(sources=[]))
    with pytest.raises(SloganError, match="không chứa nguyên văn"):
        parse(_one(text="Một câu không có trong văn bản"))
    with pytest.raises(SloganError, match="cần doc, issuer và date"):
        parse(_one(sources=[{"doc": "KH", "issuer": "UBND", "date": "hôm qua", "quote": "Miền quê đáng sống"}]))
    with pytest.raises(SloganError, match="kind"):
        parse(_one(kind="quảng cáo"))
    with pytest.raises(SloganError):
        parse({"slogans": []})
    doubled = _one()
    doubled["slogans"] *= 2
    with pytest.raises(SloganError, match="trùng id"):
        parse(doubled)


def test_commune_lookup_for_targeting():
    """Broadcasts use the tickets' commune finder through parsing.find_commune / parsing.commune_name."""
    from bot.features.broadcasts import parsing

    assert parsing.find_commune("my hoa hung") == (True, [parsing.Place("30313", "Xã Mỹ Hòa Hưng", "Xã Mỹ Hòa Hưng")])
    sure, places = parsing.find_commune("Mỹ Khánh")  # a former commune
    assert places[0].name == "Phường Bình Đức" and "Mỹ Khánh" in places[0].label
    assert parsing.find_commune("") == (False, []) and parsing.find_commune("🌾🌾") == (False, []) and parsing.find_commune("x" * 500) == (False, [])
    assert parsing.commune_name("30313") == "Xã Mỹ Hòa Hưng" and parsing.commune_name("0") is None and parsing.commune_name(None) is None


async def test_khauhieu_on_telegram(tmp_path, fake_tg, make_app):
    from tests.conftest import tg_settings

    await make_app(tg_settings(tmp_path, fake_tg))
    fake_tg.push(fake_tg.make_message(9301, "/khauhieu"))
    first = await fake_tg.wait_text(9301, "Nguồn: Kế hoạch 328/KH-UBND")
    assert first.text.startswith("📣 <b>") and first.buttons[0]["text"] == "📣 Khẩu hiệu khác"
    fake_tg.push(fake_tg.make_callback(9301, first.buttons[0]["callback_data"]))
    await fake_tg.wait_for(lambda s: s.chat_id == "9301" and "Nguồn:" in s.text, count=2)
    second = [s for s in fake_tg.to(9301) if "Nguồn:" in s.text][1]
    assert second.text != first.text
