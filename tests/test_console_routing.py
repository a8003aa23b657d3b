"""Routing to communes and escalation, in a real `ntm-bot run` with the fake Telegram API: a new report reaches
its commune's officers (privately on Telegram, and their console inbox) and not another commune's; tickets with no
commune, not taken in time or overdue escalate to the supervisors once per reason (staff chat, Telegram,
console badge); the morning overdue list of each commune officer holds only their communes' tickets."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.features.console import routing
from bot.features.tickets import service as ticketing
from bot.storage.db import Database
from tests.conftest import make_settings
from tests.console_helpers import BINH_DUC, LONG_XUYEN, TG_AN, TG_BINH, TG_LANH, Client, console_bot, make_accounts
from tests.tickets_helpers import STAFF, Driver, Person, file_report, plain


def plant(session, settings, now, commune: str | None, key: str, days_ago: int) -> str:
    from knowledge.communes import default_finder

    name = default_finder().by_code[commune].name if commune else ""
    t, _ = ticketing.create_ticket(
        session, settings, now - dt.timedelta(days=days_ago), channel="telegram", chat_id="777", user_id="777",
        draft_key=key, category=ticketing.categories(settings)[0], description=f"Phản ánh cũ {key}",
        commune_code=commune, commune_name=name, commune_input="" if commune else "ấp Đâu Đó")
    return t.code


@pytest.fixture
async def routed(tmp_path, fake_tg):
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    make_accounts(url, tmp_path / "cli")
    settings = make_settings(tmp_path, database_url=url, staff_chat_id=str(STAFF), telegram_bot_token=fake_tg.token)
    db = Database(url)
    now = dt.datetime.now(dt.timezone.utc)
    codes = {
        "lx_overdue": db.call(plant, settings, now, LONG_XUYEN, "a", 30),
        "bd_overdue": db.call(plant, settings, now, BINH_DUC, "b", 30),
        "nowhere": db.call(plant, settings, now, None, "c", 0),
        "bd_fresh": db.call(plant, settings, now, BINH_DUC, "d", 0),
    }
    bot = console_bot(tmp_path, fake_tg, url, CONSOLE_COMMUNE_CHATS=f"{BINH_DUC}=-100888,{LONG_XUYEN}=-100999/15")
    bot.start()
    try:
        await bot.wait_ready()
        yield bot, db, settings, codes
    finally:
        bot.stop_now()
        db.dispose()


def test_commune_chats_setting(tmp_path):
    s = make_settings(tmp_path, console_commune_chats="30292=-1001234567, 30307=-1007654321/15")
    assert s.commune_chats() == {"30292": ("-1001234567", None), "30307": ("-1007654321", "15")}
    with pytest.raises(ValueError):
        make_settings(tmp_path, console_commune_chats="Bình Đức=-100123")


def texts(fake, chat_id: int) -> list[str]:
    return [plain(m.text) for m in fake.to(chat_id)]


async def test_routing_escalation_and_morning_lists(routed, fake_tg):
    bot, db, settings, codes = routed
    # the escalation job runs as the bot starts: supervisors are told, once per reason
    await fake_tg.wait_for(lambda s: s.chat_id == str(TG_LANH) and codes["nowhere"] in s.text, timeout=20)
    await fake_tg.wait_for(lambda s: s.chat_id == str(TG_LANH) and codes["lx_overdue"] in s.text
                           and "quá hạn" in s.text, timeout=20)
    lanh = texts(fake_tg, TG_LANH)
    assert any(codes["nowhere"] in t and "chưa rõ xã, phường" in t for t in lanh)
    assert not any(codes["bd_fresh"] in t for t in lanh)  # new, has a commune, not late: nothing to escalate
    assert any("chuyển lãnh đạo" in plain(m.text) and codes["lx_overdue"] in m.text for m in fake_tg.to(STAFF))
    assert not any("chuyển lãnh đạo" in t for t in texts(fake_tg, TG_AN) + texts(fake_tg, TG_BINH))
    # running the job again escalates nothing new
    assert db.call(routing.escalate, settings, dt.datetime.now(dt.timezone.utc)) == 0

    # the console: the supervisor's inbox shows the badge; the filter lists only escalated tickets
    sup = Client(bot.url)
    try:
        await sup.login("lanhdao")
        _, body = await sup.get("/canbo/hop-thu?chuyen-len=1")
        assert codes["nowhere"] in body and codes["lx_overdue"] in body and codes["bd_fresh"] not in body
        assert "Chuyển lãnh đạo: chưa rõ xã, phường" in body
    finally:
        await sup.close()

    # a new report from Telegram: its commune's officer is told privately, the other commune's is not
    d = Driver(fake_tg, port=bot.port)
    code = await file_report(Person(d, 4301), place="xa my khanh")
    await fake_tg.wait_for(lambda s: s.chat_id == str(TG_AN) and f"Phản ánh mới {code}" in plain(s.text), timeout=15)
    assert "Phường Bình Đức" in [t for t in texts(fake_tg, TG_AN) if code in t][0]
    assert not any(code in t for t in texts(fake_tg, TG_BINH))
    # …and the commune's own Telegram group (CONSOLE_COMMUNE_CHATS), not the other commune's
    await fake_tg.wait_for(lambda s: s.chat_id == "-100888" and f"Phản ánh mới {code}" in plain(s.text), timeout=15)
    assert not fake_tg.to(-100999)
    an, binh = Client(bot.url), Client(bot.url)
    try:
        await an.login("an.binhduc")
        await binh.login("binh.longxuyen")
        assert code in (await an.get("/canbo/hop-thu"))[1]
        assert code not in (await binh.get("/canbo/hop-thu"))[1]
        assert codes["lx_overdue"] in (await binh.get("/canbo/hop-thu?qua-han=1"))[1]
        assert codes["lx_overdue"] not in (await an.get("/canbo/hop-thu?qua-han=1"))[1]
    finally:
        await an.close()
        await binh.close()

    # the morning list, per commune officer: their own communes' tickets only
    assert db.call(routing.overdue_per_commune, settings, dt.datetime.now(dt.timezone.utc)) == 2
    await fake_tg.wait_for(lambda s: s.chat_id == str(TG_BINH) and "Phản ánh quá hạn" in plain(s.text), timeout=15)
    await fake_tg.wait_for(lambda s: s.chat_id == str(TG_AN) and "Phản ánh quá hạn" in plain(s.text), timeout=15)
    binh_list = [t for t in texts(fake_tg, TG_BINH) if "Phản ánh quá hạn" in t][0]
    an_list = [t for t in texts(fake_tg, TG_AN) if "Phản ánh quá hạn" in t][0]
    assert codes["lx_overdue"] in binh_list and codes["bd_overdue"] not in binh_list
    assert codes["bd_overdue"] in an_list and codes["lx_overdue"] not in an_list and codes["nowhere"] not in an_list
