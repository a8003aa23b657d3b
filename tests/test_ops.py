"""Operations: flood control over HTTP, /metrics and /readyz, redacted logs, retention, insert_ignore."""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging

import aiohttp
import pytest
import sqlalchemy as sa

from bot.kernel import inbox, logs, metrics, texts
from bot.kernel.messages import Inbound, Reply
from bot.storage.db import Database
from bot.storage.models import InboundEvent, KeyValue, OutboxMessage, UnansweredQuestion
from tests.conftest import eventually, make_settings, tg_settings
from tests.instances import metric_value

SECRET = "s3cret-Token_123"


async def _post(http, app, payload, secret=SECRET):
    async with http.post(f"http://127.0.0.1:{app.settings.http_port}/telegram/webhook", json=payload,
                         headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as r:
        return r.status


def _count(app, table) -> int:
    return app.db.call(lambda s: s.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


async def test_flood_gets_one_slow_down_and_is_not_stored(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET,
                                     flood_chat_limit=5, flood_chat_period=60, telegram_chat_rate=1000))
    async with aiohttp.ClientSession() as http:
        codes = [await _post(http, app, fake_tg.make_message(6101, "OCOP là gì?")) for _ in range(100)]
        assert set(codes) == {200}  # acknowledged (Telegram must not redeliver a flood) …
        assert await _post(http, app, fake_tg.make_message(6102, "OCOP là gì?")) == 200  # a neighbour is unaffected
    await fake_tg.wait_text(6102, "Mỗi xã một sản phẩm")
    await fake_tg.wait_for(lambda m: m.chat_id == "6101", count=6)
    await app.wait_quiet("telegram:6101")
    await asyncio.sleep(0.3)
    sent = [m.text for m in fake_tg.to(6101)]
    assert sent.count(texts.SLOW_DOWN) == 1  # ONE polite "slow down"
    assert len([t for t in sent if "Mỗi xã một sản phẩm" in t]) == 5  # the first 5 answered
    assert len(sent) == 6
    assert _count(app, InboundEvent) == 6  # … but only what is answered is stored


async def test_staff_group_is_not_flood_limited(tmp_path, fake_tg, make_app):
    """Officers answering many tickets in their one group chat: every answer is stored and delivered."""
    from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, file_report, ticket_settings, wait_card

    app = await make_app(ticket_settings(tmp_path, fake_tg, telegram_mode="webhook", flood_chat_limit=9,
                                         flood_chat_period=60))
    d = Driver(fake_tg, app)
    farmer = Person(d, 6111)
    code = await file_report(farmer)  # 8 messages: within a citizen's 9 a minute …
    await wait_card(fake_tg, code)
    officer = Person(d, STAFF, user_id=OFFICER)
    for i in range(20):  # … and 20 answers in a few seconds from the officers' group are all stored
        await officer.say(f"/reply {code} Trả lời số {i}")
    for i in range(20):
        await farmer.expect(f"Trả lời số {i}")
    assert texts.SLOW_DOWN not in [m.text for m in fake_tg.to(STAFF)]


async def test_channel_cap_answers_503_so_the_platform_retries(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET,
                                     flood_channel_per_second=5))
    async with aiohttp.ClientSession() as http:
        codes = await asyncio.gather(*(_post(http, app, fake_tg.make_message(6200 + i, "chào")) for i in range(20)))
    assert codes.count(200) == 5 and codes.count(503) == 15
    assert _count(app, InboundEvent) == 5


async def test_webhook_answers_503_while_stopping(tmp_path, fake_tg, make_app):
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET))
    app.accepting = False
    async with aiohttp.ClientSession() as http:
        assert await _post(http, app, fake_tg.make_message(6301, "OCOP là gì?")) == 503
        async with http.get(f"http://127.0.0.1:{app.settings.http_port}/readyz") as r:
            assert r.status == 503
    assert _count(app, InboundEvent) == 0


async def test_metrics_and_readyz(tmp_path, fake_tg, make_app):
    from prometheus_client.core import GaugeMetricFamily

    @metrics.db_gauge
    def feature_gauge(session, now):  # what the tickets / broadcast modules do
        yield GaugeMetricFamily("ntm_test_feature", "a feature's gauge", value=42)

    try:
        app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET))
        base = f"http://127.0.0.1:{app.settings.http_port}"
        async with aiohttp.ClientSession() as http:
            before = await (await http.get(base + "/metrics")).text()
            assert await _post(http, app, fake_tg.make_message(6401, "OCOP là gì?")) == 200
            assert await _post(http, app, fake_tg.make_message(6402, "xyzzy quux blorp")) == 200
            assert await _post(http, app, fake_tg.make_message(6402, "x"), secret="nope") == 403
            await fake_tg.wait_text(6402, "nằm ngoài những gì tôi biết")  # nonsense: the short off-topic reply
            await fake_tg.wait_text(6401, "Mỗi xã một sản phẩm")
            fake_tg.fault_fn = lambda method, p: ("500", 0) if method == "sendMessage" else None
            app.db.call(lambda s: inbox.deliver(s, Reply("hello"), default=inbox.get_or_create_chat(s, "telegram", "6403")))
            app.outbox.kick()
            await eventually(lambda: fake_tg.faults_injected["500"] >= 1)
            await asyncio.sleep(0.2)
            async with http.get(base + "/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
                page = await r.text()
            async with http.get(base + "/readyz") as r:
                ready = await r.json()
                assert r.status == 200
            async with http.get(base + "/healthz") as r:
                assert r.status == 200

        def delta(name, **labels):
            return metric_value(page, name, **labels) - metric_value(before, name, **labels)

        assert delta("ntm_updates_received_total", channel="telegram", result="stored") == 2
        assert delta("ntm_answers_total", outcome="matched") == 1
        assert delta("ntm_answers_total", outcome="offtopic") == 1
        assert delta("ntm_webhook_rejected_total", channel="telegram", reason="secret") == 1
        assert delta("ntm_messages_sent_total", channel="telegram") >= 2
        assert delta("ntm_send_errors_total", channel="telegram", code="transient") >= 1
        assert metric_value(page, "ntm_outbox_queue", channel="telegram", status="pending") == 1  # the failing one
        assert metric_value(page, "ntm_outbox_oldest_age_seconds") >= 0
        assert "ntm_inbox_pending 0.0" in page
        assert "ntm_test_feature 42.0" in page
        assert ready["status"] == "ready" and ready["channels"] == ["telegram", "web"]
        assert ready["outbox_pending"] == 1 and ready["inbox_pending"] == 0
    finally:
        metrics.DB_GAUGES.remove(feature_gauge)


def test_log_redaction_everywhere(caplog):
    token = "987654321:AAH-abcdefghijklmnopqrstuvwxyz0123456"
    logs.install_record_factory()
    logs.add_secret("my-zalo-secret-xyz")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("telegram.ext").warning("POST https://api.telegram.org/bot%s/sendMessage failed", token)
    logging.getLogger("aiohttp.server").error("Error handling request to /hook?token=%s", "my-zalo-secret-xyz")
    logging.getLogger("bot").info("citizen gave 0912 345 678 and +84 912345678 and 0912.345.678")
    try:
        raise RuntimeError(f"Cannot connect to https://api.telegram.org/bot{token}/getMe (call 0987654321)")
    except RuntimeError:
        logging.getLogger("bot.app").exception("request failed")
    text = caplog.text
    for bad in (token, "AAH-abcdef", "my-zalo-secret-xyz", "912 345 678", "912345678", "0912.345.678", "0987654321"):
        assert bad not in text, bad
    assert "/bot<token>/sendMessage" in text and "<phone>" in text and "<secret>" in text
    assert "RuntimeError" in text  # the traceback is kept, only cleaned

    # the JSON formatter, the way `ntm-bot run` writes its lines
    out = io.StringIO()
    h = logging.StreamHandler(out)
    h.setFormatter(logs.JsonFormatter())
    lg = logging.getLogger("ntm.jsontest")
    lg.addHandler(h)
    try:
        try:
            raise ValueError(f"token {token}")
        except ValueError:
            lg.exception("phone %s", "0912345678")
    finally:
        lg.removeHandler(h)
    line = json.loads(out.getvalue().strip().splitlines()[0])
    assert line["msg"] == "phone <phone>" and token not in line["exc"] and "ValueError" in line["exc"]


async def test_access_log_and_ptb_errors_are_redacted(tmp_path, fake_tg, make_app, caplog):
    """aiohttp access lines and PTB errors with the token in the URL (the fake API answers 401 to getMe)."""
    caplog.set_level(logging.INFO)
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET,
                                     http_access_log=True))
    logging.getLogger("aiohttp.access").setLevel(logging.INFO)
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{app.settings.http_port}/telegram/webhook?t={fake_tg.token}&phone=0912345678"
        async with http.post(url, json=fake_tg.make_message(6501, "hi"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
            assert r.status == 200
        # PTB's own request with the token in the path, failing
        bad = f"{fake_tg.base_url}{fake_tg.token}x/getMe"
        async with http.get(bad) as r:
            logging.getLogger("telegram.request").error("request to %s failed with %s", bad, r.status)
    await asyncio.sleep(0.1)
    assert "/telegram/webhook" in caplog.text  # the access line was logged …
    assert fake_tg.token not in caplog.text and "0912345678" not in caplog.text  # … cleaned
    assert SECRET not in caplog.text


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_insert_ignore_tells_inserted_from_ignored(engine, tmp_path, request):
    drop = None
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'i.sqlite3'}"
    else:
        from tests.conftest import PG_ADMIN_URL
        from tests.instances import fresh_pg_database

        request.getfixturevalue("pg_url")  # skip (or fail in CI) without PostgreSQL
        url, drop = fresh_pg_database(PG_ADMIN_URL)
    db = Database(url)
    db.migrate()
    inbound = Inbound("telegram", "1", "1", text="a", event_key="k-1")
    assert db.call(inbox.ingest, inbound) is True
    assert db.call(inbox.ingest, inbound) is False
    db.dispose()
    if drop:
        drop()


def test_retention_job_prunes_old_personal_data(tmp_path):
    from bot.kernel.jobs import JobRun, Scheduler
    from bot.kernel.registry import REGISTRY, Services
    from bot.kernel.retention import retention

    db = Database(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    db.migrate()
    now = dt.datetime(2026, 11, 26, 20, 5, tzinfo=dt.timezone.utc)  # 03:05 in An Giang
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=3)

    def seed(s):
        for i, (at, status) in enumerate([(old, "done"), (old, "failed"), (old, "pending"), (recent, "done")]):
            s.add(InboundEvent(channel="telegram", event_key=f"e{i}", chat_key="telegram:1", status=status,
                               payload={"text": "số 0912345678"}, received_at=at))
        for i, (at, status) in enumerate([(old, "sent"), (old, "dead"), (old, "pending"), (old, "sent"), (recent, "sent")]):
            s.add(OutboxMessage(channel="telegram", chat_id="1", chat_key="telegram:1", status=status,
                                payload={"text": f"reply {i}"}, created_at=at, next_attempt_at=at))
        s.add(UnansweredQuestion(channel="telegram", text="q", folded="q", created_at=now - dt.timedelta(days=200)))
        s.add(UnansweredQuestion(channel="telegram", text="q2", folded="q2", created_at=recent))

    db.call(seed)
    settings = make_settings(tmp_path)
    sched = Scheduler(db, Services(settings=settings, kb_ref=lambda: None, clock=lambda: now),
                      jobs={"retention": REGISTRY.jobs["retention"]})
    assert REGISTRY.jobs["retention"].fn is retention
    db.call(lambda s: s.add(JobRun(name="retention", next_run_at=now)))  # due now (it runs daily at 03:00)
    asyncio.run(sched.run_due())
    assert sched.runs == {"retention": 1}

    def state(s):
        inbound = s.execute(sa.select(InboundEvent.event_key).order_by(InboundEvent.id)).scalars().all()
        outbox = s.execute(sa.select(OutboxMessage.status, OutboxMessage.payload).order_by(OutboxMessage.id)).all()
        unanswered = s.execute(sa.select(UnansweredQuestion.text)).scalars().all()
        cursor = s.get(KeyValue, "retention_outbox_cursor")
        return inbound, outbox, unanswered, cursor.value

    inbound, outbox, unanswered, cursor = db.call(state)
    assert inbound == ["e2", "e3"]  # old processed events gone; pending and recent kept
    assert [p.get("pruned", False) for _, p in outbox] == [True, True, False, False, False]  # stops at the unsent row
    assert outbox[2].payload == {"text": "reply 2"} and outbox[4].payload == {"text": "reply 4"}
    assert unanswered == ["q2"]
    assert cursor == {"id": 2}
    db.dispose()


async def test_stop_drains_accepted_work(tmp_path, fake_tg, make_app):
    """App.stop(): what was accepted before the stop is processed and sent before the process ends."""
    app = await make_app(tg_settings(tmp_path, fake_tg, telegram_mode="webhook", telegram_webhook_secret=SECRET))
    fake_tg.delay = 0.05  # sends take a while
    for i in range(10):
        await app.submit(Inbound("telegram", str(6600 + i), str(6600 + i), text="OCOP là gì?", event_key=f"d{i}"))
    await app.stop()
    assert len([m for m in fake_tg.sent if "Mỗi xã một sản phẩm" in m.text]) == 10


async def test_metrics_count_tickets_and_broadcasts(tmp_path, fake_tg, make_app):
    from bot.storage.broadcast import Broadcast, BroadcastRecipient, Subscription
    from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, file_report, ticket_settings, wait_card

    app = await make_app(ticket_settings(tmp_path, fake_tg, telegram_mode="webhook"))
    d = Driver(fake_tg, app)
    first = await file_report(Person(d, 6501))
    await file_report(Person(d, 6502))
    await wait_card(fake_tg, first)
    officer = Person(d, STAFF, user_id=OFFICER)
    await officer.say(f"/close {first} Đã sửa")
    await officer.expect("Đã đóng")

    def seed(s):
        now = dt.datetime.now(dt.timezone.utc)
        for chat in ("6501", "6502"):
            s.add(Subscription(channel="telegram", chat_id=chat, topics=",ntm,", created_at=now, updated_at=now))
        b = Broadcast(text="Tin", status="sending")
        s.add(b)
        s.flush()
        s.add(BroadcastRecipient(broadcast_id=b.id, channel="telegram", chat_id="6501", state="sent"))
        s.add(BroadcastRecipient(broadcast_id=b.id, channel="telegram", chat_id="6502", state="queued"))
        s.add(Broadcast(text="Xong", status="done"))
        s.commit()
        return b.id

    bid = app.db.call(seed)
    async with aiohttp.ClientSession() as http:
        page = await (await http.get(f"http://127.0.0.1:{app.settings.http_port}/metrics")).text()
    assert metric_value(page, "ntm_tickets", status="new") == 1
    assert metric_value(page, "ntm_tickets", status="closed") == 1
    assert metric_value(page, "ntm_tickets", status="in_progress") == 0
    assert "ntm_tickets_overdue 0.0" in page
    assert metric_value(page, "ntm_subscribers", channel="telegram") == 2
    assert metric_value(page, "ntm_broadcast_recipients", broadcast=str(bid), state="sent") == 1
    assert metric_value(page, "ntm_broadcast_recipients", broadcast=str(bid), state="queued") == 1
    assert page.count("ntm_broadcast_recipients{") == 2  # finished broadcasts are not listed
