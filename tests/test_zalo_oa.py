"""A citizen writing to the agency's Zalo Official Account, through the fake OA API and OAuth over real HTTP."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets

import sqlalchemy as sa

from bot.kernel import inbox
from bot.kernel.messages import Reply, utcnow
from bot.storage.models import Chat, InboundEvent, OutboxMessage
from bot.storage.zalo import ZaloOAToken
from tests.conftest import eventually, zalo_oa_settings


def hook_url(app) -> str:
    return f"http://127.0.0.1:{app.settings.http_port}/zalo-oa/webhook"


def uid() -> str:
    """A Zalo user id (per OA): a big number as a string; unique (tests share a PostgreSQL database)."""
    return "58" + "".join(secrets.choice("0123456789") for _ in range(17))


def count(app, model, *where) -> int:
    return app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one())


def token_row(app) -> ZaloOAToken:
    return app.db.call(lambda s: s.get(ZaloOAToken, app.settings.zalo_oa_app_id))


def rows(app, chat_id: str):
    sel = sa.select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
    return app.db.call(lambda s: list(s.execute(sel).scalars()))


def seen(app, chat_id: str, ago: dt.timedelta = dt.timedelta(0)) -> None:
    """The citizen's last interaction was `ago` before now."""
    def go(s):
        chat = inbox.get_or_create_chat(s, "zalo_oa", chat_id)
        chat.last_seen_at = utcnow() - ago
        s.add(chat)

    app.db.call(go)


def queue(app, chat_id: str, reply: Reply) -> None:
    app.db.call(lambda s: inbox.deliver(s, reply, default=inbox.get_or_create_chat(s, "zalo_oa", chat_id)))
    app.outbox.kick()


# ---------------------------------------------------------------- asking
async def test_signed_question_gets_the_answer(tmp_path, fake_zalo_oa, make_app):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    user = uid()
    assert await fake.post_webhook(hook_url(app), fake.text_event(user, "ocop 4 sao la bao nhieu diem")) == 200
    answer = await fake.wait_text(user, "70 đến dưới 90")
    assert "**" not in answer.text and "Nguồn:" in answer.text
    assert answer.access_token == app.settings.zalo_oa_access_token  # header access_token, seeded from settings
    assert answer.body["recipient"] == {"user_id": user}

    assert await fake.post_webhook(hook_url(app), fake.text_event(user, "ocop sao diem")) == 200
    await fake.wait_text(user, "Có phải bạn muốn hỏi")
    assert await fake.post_webhook(hook_url(app), fake.text_event(user, "2")) == 200  # a choice by its number
    await fake.wait_text(user, "50 đến dưới 70")
    chat = app.db.call(lambda s: s.execute(sa.select(Chat).where(Chat.chat_id == user)).scalars().one())
    assert chat.channel == "zalo_oa"


async def test_follow_greets_unfollow_stops_image_is_kept_by_reference(tmp_path, fake_zalo_oa, make_app):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    user = uid()
    follow = fake.follow_event(user)
    assert await fake.post_webhook(hook_url(app), follow) == 200
    assert await fake.post_webhook(hook_url(app), follow) == 200  # redelivered: greeted once
    welcome = await fake.wait_text(user, "Xin chào")
    assert "1. 🏡 Hỏi về nông thôn mới" in welcome.text
    await app.wait_quiet(f"zalo_oa:{user}")
    assert len(fake.to(user)) == 1

    assert await fake.post_webhook(hook_url(app), fake.image_event(user, "https://f.zalo.me/ngap.jpg", "đường ngập")) == 200
    await app.wait_quiet(f"zalo_oa:{user}")
    payload = app.db.call(lambda s: s.execute(sa.select(InboundEvent.payload).where(InboundEvent.event_key.like("msg:%"))).scalar_one())
    assert payload["attachments"][0]["ref"] == "https://f.zalo.me/ngap.jpg" and payload["text"] == "đường ngập"

    assert await fake.post_webhook(hook_url(app), fake.follow_event(user, follow=False)) == 200
    blocked = app.db.call(lambda s: s.execute(sa.select(Chat.blocked_at).where(Chat.chat_id == user)).scalar_one())
    assert blocked is not None
    for ignored in ("user_seen_message", "user_received_message", "oa_send_text"):  # acknowledged, not acted on
        ev = fake.text_event(user, "x")
        ev["event_name"] = ignored
        assert await fake.post_webhook(hook_url(app), ev) == 200
    assert count(app, InboundEvent) == 2  # follow, image (the redelivered follow and the receipts are not stored)


async def test_a_redelivered_message_does_nothing(tmp_path, fake_zalo_oa, make_app):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    user = uid()
    event = fake.text_event(user, "OCOP là gì?")
    assert await fake.post_webhook(hook_url(app), event) == 200
    await fake.wait_text(user, "Mỗi xã một sản phẩm")
    again = dict(event, timestamp=str(int(event["timestamp"]) + 30_000))  # Zalo's retry: same msg_id
    assert await fake.post_webhook(hook_url(app), again) == 200
    await app.wait_quiet(f"zalo_oa:{user}")
    assert len(fake.to(user)) == 1 and count(app, InboundEvent) == 1


async def test_the_events_a_real_oa_sends_each_get_what_they_should(tmp_path, fake_zalo_oa, make_app, caplog):
    """The shapes of zalo.md §7, signed and posted as Zalo does: a location keeps its coordinates and the place's
    name (not read as typed words); a file its name; a sticker and a voice note a kind answer; anonymous users
    cannot be answered through v3 (counted, not pretended); a submitted form's personal data is not kept."""
    from bot.kernel import metrics, texts

    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    url = hook_url(app)
    loc_user, file_user, sticker_user, audio_user, form_user = (uid() for _ in range(5))

    event = fake.location_event(loc_user, "10.3759416", "105.4185406", "Cơm Coffee New Sky")
    assert len(event["timestamp"]) == 13 and event["timestamp"].isdigit() and isinstance(event["timestamp"], str)
    assert event["user_id_by_app"] and event["message"]["attachments"][0]["payload"]["coordinates"]["latitude"] == "10.3759416"
    assert await fake.post_webhook(url, event) == 200
    reply = await fake.wait_text(loc_user, "đã nhận được vị trí «Cơm Coffee New Sky»")
    assert "gõ «phản ánh»" in reply.text
    stored = app.db.call(lambda s: s.execute(sa.select(InboundEvent.payload).where(
        InboundEvent.chat_key == f"zalo_oa:{loc_user}")).scalar_one())
    assert stored["text"] == "" and stored["attachments"] == [
        {"kind": "location", "ref": "10.3759416,105.4185406", "name": "Cơm Coffee New Sky", "mime": ""}]

    assert await fake.post_webhook(url, fake.file_event(file_user, "https://f.zdn.vn/doc/don.pdf", "don-kien-nghi.pdf")) == 200
    await fake.wait_text(file_user, "tệp/ảnh")
    stored = app.db.call(lambda s: s.execute(sa.select(InboundEvent.payload).where(
        InboundEvent.chat_key == f"zalo_oa:{file_user}")).scalar_one())
    assert stored["attachments"][0] == {"kind": "document", "ref": "https://f.zdn.vn/doc/don.pdf",
                                        "name": "don-kien-nghi.pdf", "mime": ""}
    assert await fake.post_webhook(url, fake.sticker_event(sticker_user)) == 200
    await fake.wait_text(sticker_user, texts.STICKER_REPLY)
    assert await fake.post_webhook(url, fake.audio_event(audio_user)) == 200
    await fake.wait_text(audio_user, "chưa nghe được tin nhắn thoại")

    anonymous = metrics.ZALO_EVENTS.labels("zalo_oa", "anonymous_unanswered")._value.get()
    dropped = metrics.ZALO_EVENTS.labels("zalo_oa", "submit_info_dropped")._value.get()
    stored_before = count(app, InboundEvent)
    with caplog.at_level(logging.DEBUG):
        assert await fake.post_webhook(url, fake.anonymous_event(text="Cho hỏi hỗ trợ làm kho lạnh")) == 200
        assert await fake.post_webhook(url, fake.submit_info_event(form_user, "Trần Văn Ba", "0912345678", "ấp 3")) == 200
        for ev in (fake.receipt_event(loc_user), fake.receipt_event(loc_user, seen=True)):
            assert await fake.post_webhook(url, ev) == 200
        await asyncio.sleep(0.3)
    assert metrics.ZALO_EVENTS.labels("zalo_oa", "anonymous_unanswered")._value.get() == anonymous + 1
    assert metrics.ZALO_EVENTS.labels("zalo_oa", "submit_info_dropped")._value.get() == dropped + 1
    assert count(app, InboundEvent) == stored_before  # none of them stored
    assert fake.to(form_user) == [] and len(fake.sent) == 4  # nobody answered who cannot be (or was not asked)
    assert "0912345678" not in caplog.text and "Trần Văn Ba" not in caplog.text and "kho lạnh" not in caplog.text
    scrape = await _metrics(app)
    assert 'ntm_zalo_events_total{channel="zalo_oa",kind="anonymous_unanswered"}' in scrape


async def _metrics(app) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{app.settings.http_port}/metrics") as r:
            return await r.text()


# ---------------------------------------------------------------- signatures
async def test_forged_and_malformed_webhooks_are_rejected_and_change_nothing(tmp_path, fake_zalo_oa, make_app, caplog):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    url, user = hook_url(app), uid()
    event = fake.text_event(user, "OCOP là gì?")
    raw = json.dumps(event).encode()
    assert await fake.post_webhook(url, event, signed=False) == 403
    assert await fake.post_webhook(url, event, signature="mac=" + "0" * 64) == 403
    assert await fake.post_webhook(url, event, signature="garbage ü") == 403
    # Signed, then the body changed (re-serialised JSON does not match the raw bytes).
    sig = fake.sign(raw, event["timestamp"])
    assert await fake.post_webhook(url, raw=json.dumps(event, indent=1).encode(), signature=sig) == 403
    # A valid MAC with another timestamp in the body.
    tampered = dict(event, timestamp=str(int(event["timestamp"]) + 1))
    assert await fake.post_webhook(url, tampered, signature=fake.sign(json.dumps(tampered).encode(), event["timestamp"])) == 403
    # Signed with a secret that is not ours.
    fake2_secret = fake.oa_secret_key
    fake.oa_secret_key = "not-our-secret"
    assert await fake.post_webhook(url, event) == 403
    fake.oa_secret_key = fake2_secret
    bad = b'{"event_name": "user_send_text", '
    assert await fake.post_webhook(url, raw=bad, signature=fake.sign(bad, "")) == 403  # no timestamp: nothing signed
    ts = event["timestamp"]  # signed, then malformed or nested too deep: parsed only after the MAC, a 400
    for raw_bad in (b'{"timestamp": "%s", ' % ts.encode(), b'{"timestamp": "%s", "x": %s}' % (ts.encode(), b"[" * 50000)):
        assert await fake.post_webhook(url, raw=raw_bad, signature=fake.sign(raw_bad, ts)) == 400
    assert await fake.post_webhook(url, raw=b"x" * (2 * 1024 * 1024), signature="mac=00") == 413
    nomsg = {"event_name": "user_send_text", "app_id": fake.app_id, "timestamp": "1"}
    assert await fake.post_webhook(url, nomsg) == 400  # signed but not a usable event
    await asyncio.sleep(0.2)
    assert count(app, InboundEvent) == 0 and count(app, Chat) == 0 and count(app, OutboxMessage) == 0
    assert fake.sent == []
    assert "bad signature" in caplog.text


async def test_signature_variants_are_configurable_and_logged(tmp_path, fake_zalo_oa, make_app, caplog):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))  # default: every combination accepted
    with caplog.at_level(logging.INFO, logger="bot.channels.zalo_oa"):
        for i, variant in enumerate(["app_id+oa_secret_key", "oa_id+oa_secret_key", "app_id+app_secret", "oa_id+app_secret"]):
            assert await fake.post_webhook(hook_url(app), fake.text_event(uid(), "OCOP là gì?"), variant=variant) == 200
            assert f"variant {variant}" in caplog.text
    strict = await make_app(zalo_oa_settings(tmp_path / "strict", fake, zalo_oa_mac_ids="app_id",
                                             zalo_oa_mac_secrets="oa_secret_key"))
    assert await fake.post_webhook(hook_url(strict), fake.text_event(uid(), "x"), variant="oa_id+app_secret") == 403
    assert await fake.post_webhook(hook_url(strict), fake.text_event(uid(), "x"), variant="app_id+oa_secret_key") == 200


# ---------------------------------------------------------------- tokens
async def test_invalid_token_is_refreshed_once_rotated_and_persisted(tmp_path, fake_zalo_oa, make_app, caplog):
    fake = fake_zalo_oa
    with caplog.at_level(logging.DEBUG):
        app = await make_app(zalo_oa_settings(tmp_path, fake))
        first_access, first_refresh = app.settings.zalo_oa_access_token, app.settings.zalo_oa_refresh_token
        fake.valid_access.clear()  # the seeded access token is no longer accepted (-216)
        user = uid()
        assert await fake.post_webhook(hook_url(app), fake.text_event(user, "OCOP là gì?")) == 200
        answer = await fake.wait_text(user, "Mỗi xã một sản phẩm")
    assert fake.refresh_calls == 1 and fake.used_refresh_tokens == [first_refresh]
    assert answer.access_token != first_access and answer.access_token in fake.valid_access
    row = token_row(app)
    assert row.refresh_token == fake.refresh_token != first_refresh  # the rotated one, persisted
    assert row.access_token == answer.access_token and row.version == 1 and row.refresh_count == 1
    assert utcnow() + dt.timedelta(hours=24) < row.expires_at < utcnow() + dt.timedelta(hours=26)  # "90000" s
    secret_values = [first_access, first_refresh, row.access_token, row.refresh_token, fake.app_secret]
    stored = " ".join(r.last_error or "" for r in rows(app, user))
    assert not any(v in caplog.text or v in stored for v in secret_values)

    # -220 (expired) is handled the same way.
    fake.expire(row.access_token)
    assert await fake.post_webhook(hook_url(app), fake.text_event(user, "ocop 3 sao la bao nhieu diem")) == 200
    await fake.wait_text(user, "50 đến dưới 70")
    assert fake.refresh_calls == 2 and token_row(app).version == 2


async def test_two_senders_in_one_app_refresh_once(tmp_path, fake_zalo_oa, make_app):
    fake = fake_zalo_oa
    fake.refresh_delay = 0.3
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    users = [uid() for _ in range(4)]
    for u in users:
        seen(app, u)
    fake.valid_access.clear()
    adapter = app.adapters["zalo_oa"]
    results = await asyncio.gather(*(adapter.send(u, {"kind": "reply", "text": f"Trả lời {u}"}) for u in users))
    assert all(r.ok for r in results), results
    assert fake.refresh_calls == 1
    assert token_row(app).refresh_token == fake.refresh_token


async def test_two_instances_on_postgres_refresh_once(pg_url, tmp_path, fake_zalo_oa, make_app):
    fake = fake_zalo_oa
    fake.refresh_delay = 0.5  # both instances see -216 while the refresh is in flight
    tokens = fake.issue_tokens()
    s1 = zalo_oa_settings(tmp_path / "a", fake, tokens, database_url=pg_url)
    s2 = zalo_oa_settings(tmp_path / "b", fake, tokens, database_url=pg_url)
    app1, app2 = await make_app(s1), await make_app(s2)
    assert app1.db.is_postgres
    u1, u2 = uid(), uid()
    seen(app1, u1)
    seen(app1, u2)
    fake.valid_access.clear()
    r1, r2 = await asyncio.gather(app1.adapters["zalo_oa"].send(u1, {"kind": "reply", "text": "Một"}),
                                  app2.adapters["zalo_oa"].send(u2, {"kind": "reply", "text": "Hai"}))
    assert r1.ok and r2.ok, (r1, r2)
    assert fake.refresh_calls == 1 and fake.refresh_ok == 1
    assert app1.adapters["zalo_oa"].tokens.refresh_calls + app2.adapters["zalo_oa"].tokens.refresh_calls == 1
    row = token_row(app2)
    assert row.refresh_token == fake.refresh_token and row.version == 1
    assert {s.access_token for s in fake.sent} == {row.access_token}


async def test_refresh_ahead_of_expiry_and_database_copy_wins(tmp_path, fake_zalo_oa, make_app):
    from bot.channels.zalo_oa import seed_tokens
    from bot.storage.db import Database

    fake = fake_zalo_oa
    settings = zalo_oa_settings(tmp_path, fake)
    db = Database(settings.effective_database_url)
    db.migrate()
    db.call(seed_tokens, fake.app_id, settings.zalo_oa_access_token, settings.zalo_oa_refresh_token, utcnow())
    db.call(lambda s: s.execute(sa.update(ZaloOAToken).values(expires_at=utcnow() + dt.timedelta(minutes=20))))
    assert not db.call(seed_tokens, fake.app_id, "other", "other", utcnow())  # a second seed changes nothing
    db.dispose()
    app = await make_app(settings)  # the background check refreshes 20 min before expiry, nothing sent yet
    await eventually(lambda: fake.refresh_calls == 1)
    await eventually(lambda: token_row(app).version == 1)
    assert fake.cs_calls == []
    await app.stop()

    # Restarted with the stale first tokens still in the settings: the database copy wins.
    again = await make_app(settings)
    user = uid()
    assert await fake.post_webhook(hook_url(again), fake.text_event(user, "OCOP là gì?")) == 200
    answer = await fake.wait_text(user, "Mỗi xã một sản phẩm")
    assert answer.access_token == token_row(again).access_token != settings.zalo_oa_access_token
    assert fake.refresh_calls == 1


async def test_dead_refresh_token_alerts_and_keeps_messages(tmp_path, fake_zalo_oa, make_app, caplog):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    user = uid()
    seen(app, user)
    fake.valid_access.clear()
    fake.refresh_token = "RT-somebody-else-used-it"  # the grant is gone: an OA admin must consent again
    with caplog.at_level(logging.ERROR):
        queue(app, user, Reply("Trả lời của cơ quan"))
        await eventually(lambda: rows(app, user)[0].attempts >= 1)
    row = rows(app, user)[0]
    assert row.status in ("pending", "sending") and "refresh" in row.last_error  # kept for a retry after the fix
    assert "ntm-bot zalo oa-tokens" in caplog.text
    assert "-14014" in (token_row(app).last_error or "")
    queue(app, user, Reply("Tin thứ hai"))  # more messages while the grant is dead: no OAuth call for each
    await eventually(lambda: rows(app, user)[0].attempts >= 2 or fake.refresh_calls > 1, timeout=5)
    assert fake.refresh_calls == 1

    # The operator stores a new pair (as `ntm-bot zalo oa-tokens` does): the queued messages go out.
    from bot.channels.zalo_oa import replace_tokens

    access, refresh = fake.issue_tokens()
    app.db.call(replace_tokens, fake.app_id, access, refresh, utcnow())
    await fake.wait_text(user, "Trả lời của cơ quan", timeout=15)
    await fake.wait_text(user, "Tin thứ hai", timeout=15)


async def test_no_token_at_all_alerts_the_operator(tmp_path, fake_zalo_oa, make_app, caplog):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake, ("", "")))
    user = uid()
    seen(app, user)
    with caplog.at_level(logging.ERROR):
        queue(app, user, Reply("Một"))
        await eventually(lambda: rows(app, user)[0].attempts >= 1)
    assert rows(app, user)[0].status in ("pending", "sending") and "no access token" in caplog.text
    assert fake.cs_calls == []


# ---------------------------------------------------------------- sending
async def test_long_answer_split_at_2000(tmp_path, fake_zalo_oa, make_app):
    fake = fake_zalo_oa
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    user = uid()
    seen(app, user)
    queue(app, user, Reply("**Bộ tiêu chí** " + "Tiêu chí về hạ tầng kinh tế – xã hội. " * 120))
    await fake.wait_for(lambda m: m.user_id == user, count=3)
    await app.wait_quiet(f"zalo_oa:{user}")
    assert all(len(m.text) <= 2000 for m in fake.to(user)) and len(fake.to(user)) == 3
    assert fake.to(user)[0].text.startswith("Bộ tiêu chí Tiêu chí")
    assert {r.status for r in rows(app, user)} == {"sent"}


async def test_operator_errors_alert_and_keep_messages(tmp_path, fake_zalo_oa, make_app, caplog):
    fake = fake_zalo_oa
    fake.fault_fn = lambda body: ("-223", 0)  # OA has not authorised this API
    app = await make_app(zalo_oa_settings(tmp_path, fake))
    user = uid()
    seen(app, user)
    with caplog.at_level(logging.ERROR):
        queue(app, user, Reply("Một"))
        await eventually(lambda: fake.faults_injected["-223"] >= 2, timeout=10)
    assert rows(app, user)[0].status in ("pending", "sending")  # kept, not failed
    assert len([r for r in caplog.records if "OA has not authorised" in r.getMessage()]) == 1
    fake.fault_fn = None
    await fake.wait_text(user, "Một", timeout=15)


# ---------------------------------------------------------------- the 7-day window: staff are told
async def test_staff_answer_outside_the_window_is_reported_in_the_ticket_topic(tmp_path, fake_zalo_oa, fake_tg, make_app):
    from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, wait_card
    from tests.zalo_helpers import OACitizen, file_ticket, zalo_ticket_settings

    fake = fake_zalo_oa
    app = await make_app(zalo_ticket_settings(tmp_path, fake_tg, oa=fake, staff_forum_topics=True,
                                              staff_topics_per_minute=60))
    officer = Person(Driver(fake_tg, app), STAFF, user_id=OFFICER)
    late, recent, plain = uid(), uid(), uid()
    seen(app, late, dt.timedelta(days=8))
    seen(app, recent, dt.timedelta(hours=3))
    seen(app, plain, dt.timedelta(days=9))
    code_late = file_ticket(app, "zalo_oa", late, phone="0912345678")
    code_recent = file_ticket(app, "zalo_oa", recent, description="Cống ấp 2 bị nghẹt, nước ngập đường")
    card_late, card_recent = await wait_card(fake_tg, code_late), await wait_card(fake_tg, code_recent)
    fake.window_closed.add(recent)  # our record says 3 h, Zalo says no: -230

    long_answer = "Kính gửi ông/bà, **xã đã sửa** đoạn đường. " + "Chi tiết thi công. " * 150  # two parts
    await officer.say(long_answer, thread_id=card_late.thread_id)
    n1 = await officer.expect(f"phản ánh {code_late}")
    assert "Không gửi được tin tới người dân" in n1.text and n1.thread_id == card_late.thread_id
    assert "quá 7 ngày kể từ tin nhắn cuối của người dân" in n1.text and "kênh Zalo OA" in n1.text
    assert "xã đã sửa" in n1.text and "2 tin nhắn" in n1.text
    assert f"/ticket {code_late} hien-sdt" in n1.text  # the phone the citizen left is one command away
    await officer.say("Xã đã tiếp nhận, sẽ kiểm tra.", thread_id=card_recent.thread_id)
    n2 = await officer.expect(f"phản ánh {code_recent}")
    assert "-230" in n2.text and "quá 7 ngày" in n2.text and n2.thread_id == card_recent.thread_id
    queue(app, plain, Reply("Một câu trả lời tự động"))  # not for a ticket: fails quietly, no staff notice
    await eventually(lambda: {r.status for r in rows(app, plain)} == {"failed"})
    await asyncio.sleep(0.3)
    notices = [m for m in fake_tg.to(STAFF) if "Không gửi được" in m.text]
    assert len(notices) == 2  # once per undelivered answer (the two parts of the long one in one notice)
    assert [r.status for r in rows(app, late)] == ["failed", "failed"]
    assert all("quá 7 ngày" in r.last_error for r in rows(app, late))
    assert not any(b["recipient"]["user_id"] in (late, plain) for _, b in fake.cs_calls)
    assert fake.sent == []

    # The citizen writes again: the window is open again and the officer's next answer arrives.
    citizen = OACitizen(fake, app, late)
    await citizen.say("Cho hỏi phản ánh của tôi sao rồi?")
    await officer.say(f"/reply {code_late} Xã đã sửa xong đoạn đường.")
    answer = await citizen.expect(f"Trả lời phản ánh {code_late}")
    assert "Xã đã sửa xong đoạn đường." in answer.text


async def test_messages_zalo_refuses_for_good_fail_once_with_the_reason_in_the_staff_view(tmp_path, fake_zalo_oa, fake_tg,
                                                                                           make_app):
    """-248 (violates platform standards) and -210 (parameter over its limit) are permanent: no retry, the
    officers are told why in the ticket's place, and the citizen stays reachable for the next answer."""
    from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, wait_card
    from tests.zalo_helpers import file_ticket, zalo_ticket_settings

    fake = fake_zalo_oa
    fake.refuse = {"bit.ly/khuyen-mai": -248, "Phụ lục chi tiết": -210}
    app = await make_app(zalo_ticket_settings(tmp_path, fake_tg, oa=fake))
    officer = Person(Driver(fake_tg, app), STAFF, user_id=OFFICER)
    a, b = uid(), uid()
    seen(app, a)
    seen(app, b)
    code_a = file_ticket(app, "zalo_oa", a)
    code_b = file_ticket(app, "zalo_oa", b, description="Cống ấp 2 bị nghẹt, nước ngập đường")
    card_a, card_b = await wait_card(fake_tg, code_a), await wait_card(fake_tg, code_b)

    await officer.say("Mời bà con xem thêm tại bit.ly/khuyen-mai", reply_to=card_a.message_id)
    n1 = await officer.expect(f"phản ánh {code_a}")
    assert "Không gửi được tin tới người dân" in n1.text
    assert "vi phạm tiêu chuẩn của nền tảng (mã -248)" in n1.text and "Message violates platform standards" in n1.text
    await officer.say("Phụ lục chi tiết thi công kèm theo.", reply_to=card_b.message_id)
    n2 = await officer.expect(f"phản ánh {code_b}")
    assert "vượt giới hạn cho phép (mã -210)" in n2.text and "bit.ly" not in n2.text
    for user in (a, b):
        assert [(r.status, r.attempts) for r in rows(app, user)][-1] == ("failed", 1)  # refused once, not retried
    assert sum(b_["recipient"]["user_id"] == a for _, b_ in fake.cs_calls) == 1

    # Only that message: the next answer, reworded, arrives.
    await officer.say(f"/reply {code_a} Xã đã sửa xong đoạn đường.")
    await fake.wait_text(a, "Xã đã sửa xong đoạn đường.")
    await asyncio.sleep(0.3)
    assert sum("Không gửi được" in m.text for m in fake_tg.to(STAFF)) == 2


# ---------------------------------------------------------------- operator commands
async def test_cli_oa_tokens_replaces_the_stored_pair(tmp_path, fake_zalo_oa):
    import os
    import sys

    from bot.channels.zalo_oa import load_token, seed_tokens
    from bot.storage.db import Database

    fake = fake_zalo_oa
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    db = Database(url)
    db.migrate()
    db.call(seed_tokens, fake.app_id, "AT-old", "RT-old", utcnow())
    access, refresh = fake.issue_tokens()  # an OA admin granted access again
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZALO_", "TELEGRAM_"))}
    env.update(ZALO_OA_APP_ID=fake.app_id, ZALO_OA_ACCESS_TOKEN=access, ZALO_OA_REFRESH_TOKEN=refresh, DATABASE_URL=url)

    async def run(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "zalo", *args, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode() + err.decode()

    code, out = await run("oa-tokens")
    assert code == 0, out
    row = db.call(load_token, fake.app_id)
    assert (row.access_token, row.refresh_token, row.version) == (access, refresh, 1)
    code, out = await run("info")
    assert code == 0 and "phiên bản 1" in out and access not in out and refresh not in out
    db.dispose()
