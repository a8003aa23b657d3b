"""The running bot: one event loop, one aiohttp session, one web server, the inbox and outbox workers.

    platform ──► adapter ──► App.submit ──► inbound_event (committed) ──► InboxWorker ──► inbox.process_chat
                                                                                     └──► outbox ──► OutboxWorker ──► adapter.send
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import sys
import time
from typing import Any, Callable

import aiohttp
import sqlalchemy as sa
from aiohttp import web

from bot.config import Settings
from bot.features.console.curation import KB_RELOAD_KEY  # what `kb reload` and the console's curation write
from bot.kernel import (
    inbox,  # the kernel's transactions
    logs,
    metrics,
    texts,
)
from bot.kernel.channel import CHANNELS, Busy, ChannelAdapter
from bot.kernel.flood import FloodGuard, RecentKeys
from bot.kernel.inbox_worker import InboxWorker
from bot.kernel.jobs import Scheduler
from bot.kernel.messages import TELEGRAM, TERMINAL_STAFF, Inbound, utcnow
from bot.kernel.outbox import Limit, OutboxWorker
from bot.kernel.pipeline import Pipeline
from bot.kernel.registry import REGISTRY, Registry, Services
from bot.kernel.tasks import Supervisor
from bot.server import CappedRunner
from bot.storage.db import Database
from bot.storage.models import Chat, InboundEvent, KeyValue, OutboxMessage, Staff
from knowledge.decision import DecisionModel
from knowledge.kb import DATA_DIR, KnowledgeBase, KnowledgeBaseError

log = logging.getLogger(__name__)


class App:
    def __init__(self, settings: Settings, db: Database | None = None, kb: KnowledgeBase | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, registry: Registry | None = None):
        from bot import composition
        from bot.kernel import liveness

        composition.load()  # the features and channels this process runs
        self.settings = settings
        self.instance_id = liveness.new_owner()  # host:pid:token, on every claim this instance makes
        logs.install_record_factory()
        logs.add_settings_secrets(settings)
        self.db = db or Database(settings.effective_database_url, take_turns=True)
        self.kb = kb or load_kb(settings, self.db)
        self._own_kb = kb is None  # built from the settings (and the curated rows), so reloads rebuild it
        # What features registered (the process's default registry unless a test brings its own)
        self.services = Services(settings=settings, kb_ref=lambda: self.kb, clock=clock, registry=registry or REGISTRY)
        self.adapters: dict[str, ChannelAdapter] = {}
        self.http: aiohttp.ClientSession = None  # type: ignore[assignment]  # created in start()
        self.inbox = InboxWorker(self.db, self.services, processed=lambda: self.outbox.kick())
        self.outbox = OutboxWorker(
            self.db, self.adapters, self._limits, concurrency=settings.send_concurrency,
            max_age=dt.timedelta(hours=settings.outbox_max_age_hours), clock=clock, services=self.services,
            lease=dt.timedelta(seconds=settings.outbox_lease_seconds), owner=self.instance_id,
        )
        self.pipeline = Pipeline(self) if settings.group_commit else None
        if self.pipeline is not None:
            self.outbox.recorder = self.pipeline.record
        self.scheduler = Scheduler(self.db, self.services, owner=self.instance_id)
        from bot.features.broadcasts.worker import BroadcastWorker

        self.broadcasts = BroadcastWorker(self)  # subscribers' broadcasts, through outbox.limiter
        self.web = web.Application(client_max_size=1024 * 1024)
        from bot.channels.zalo_common import APP_KEY

        self.web[APP_KEY] = self
        self._runner: web.AppRunner | None = None
        self.http_served = False
        self.loops = Supervisor()
        self._kb_loaded_at = time.time()
        self.started = False
        self.send_broadcasts = True  # False: this process never sends broadcasts (the local officers' room)
        self.accepting = False  # True between start() and stop(): webhooks answer 503 otherwise
        self.flood = FloodGuard(settings.flood_chat_limit, settings.flood_chat_period, settings.flood_channel_per_second)
        self.recent = RecentKeys()  # platform keys of events taken in lately: redeliveries are not flood

    # ---------------------------------------------------------- setup
    def spawn(self, name: str, fn: Callable[[], Any]) -> "asyncio.Task[None]":
        """Start a supervised background loop (`Loops`): the app's workers and the adapters' pollers alike."""
        return self.loops.spawn(name, fn)

    def add_adapter(self, adapter: ChannelAdapter) -> None:
        self.adapters[adapter.name] = adapter

    def _limits(self, msg: dict[str, Any]) -> list[Limit]:
        fn = getattr(self.adapters.get(msg["channel"]), "limits", None)
        return fn(msg) if fn else []

    def configure_channels(self) -> None:
        """Adapters (and their webhook routes) for every registered channel configured in the settings."""
        for adapter in CHANNELS.adapters(self):
            self.add_adapter(adapter)
            for method, path, handler in adapter.routes():
                self.web.router.add_route(method, path, handler)

    async def start(self, serve_http: bool = True, http_optional: bool = False) -> None:
        """Migrate, open the HTTP client, start workers, adapters and the web server. `http_optional` (the terminal
        chat serving the web chat beside it): a port taken by another process leaves the bot without its web
        server (`self.http_served` False) instead of failing."""
        await asyncio.get_running_loop().run_in_executor(None, self.db.migrate)
        await self.db.run(seed_staff, self.settings.seed_admin_ids)
        if self._own_kb and await self.db.run(curated_rows):  # a fresh database had no curated table at __init__
            await asyncio.get_running_loop().run_in_executor(None, self.reload_kb)
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, limit_per_host=64, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=60, sock_connect=10),
        )
        from bot.server import add_routes

        add_routes(self)
        self.spawn("inbox", self.inbox.run)
        self.spawn("outbox", self.outbox.run)
        if self.pipeline is not None:
            self.spawn("pipeline", self.pipeline.run)
        self.spawn("kb-watch", self._watch_kb)
        if self.settings.kb_retrain:
            self.spawn("kb-model", self._keep_model_current)
        self.spawn("jobs", self.scheduler.run)
        if self.send_broadcasts:
            self.spawn("broadcasts", self.broadcasts.run)
        if serve_http:
            access = logging.getLogger("aiohttp.access") if self.settings.http_access_log else None
            self._runner = CappedRunner(self.web, max_connections=self.settings.http_max_connections,
                                        access_log=access, handle_signals=False,
                                        shutdown_timeout=max(1.0, self.settings.shutdown_drain_seconds),
                                        keepalive_timeout=self.settings.http_keepalive_seconds,
                                        lingering_time=min(2.0, self.settings.http_body_seconds))
            await self._runner.setup()
            try:
                await web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port).start()
                self.http_served = True
                log.info("HTTP on %s:%s", self.settings.http_host, self.settings.http_port)
            except OSError as e:
                if not http_optional:
                    raise
                log.warning("HTTP port %s not served: %s", self.settings.http_port, e)
                await self._runner.cleanup()
                self._runner = None
        self.accepting = True
        for adapter in self.adapters.values():
            await adapter.start()
        self.started = True
        metrics.INFO.set(1)

    async def stop(self) -> None:
        """Stop accepting, drain what was accepted, then close (SIGTERM never loses an acknowledged update).

        1. new webhook requests get 503 (the platform redelivers them), the listener closes, requests being
           handled finish (each one is committed before its 200); polling stops confirming updates;
        2. every pending inbound event is processed and the replies that are due are sent, for at most
           SHUTDOWN_DRAIN_SECONDS each; whatever is left stays in the database for the next start.
        """
        self.accepting = False
        for adapter in list(self.adapters.values()):
            adapter.close_streams()  # open live streams end now, not at the shutdown timeout
        if self._runner is not None:
            await self._runner.cleanup()
        drain = self.settings.shutdown_drain_seconds
        if self.pipeline is not None:
            await self.pipeline.drain(drain)  # every acknowledged update is committed
        await self.inbox.drain(drain)
        await self.outbox.drain_due(drain)
        await self.broadcasts.stop()  # in-flight broadcast sends finish (or go back to the queue) while adapters still work
        for adapter in list(self.adapters.values()):
            await adapter.stop()
        await self.inbox.stop()
        await self.outbox.stop()
        if self.pipeline is not None:
            await self.pipeline.drain(drain)  # outcomes of the last sends
        metrics.INFO.set(0)
        await self.loops.cancel()
        if self.http is not None:
            await self.http.close()
        self.db.dispose()
        from bot.kernel import liveness

        liveness.retire(self.instance_id)
        liveness.retire(self.broadcasts.owner)
        self.started = False

    # ---------------------------------------------------------- inbound
    async def submit(self, inbound: Inbound) -> bool:
        """Store an event durably and schedule it. False if it was a redelivery or dropped by flood control.

        Raises Busy when the update must not be acknowledged (shutting down, channel over its cap).
        """
        if not self.accepting:
            metrics.UPDATES.labels(inbound.channel, "busy").inc()
            raise Busy("shutting down")
        if not self.flood.channel_ok(inbound.channel):
            metrics.UPDATES.labels(inbound.channel, "busy").inc()
            raise Busy("channel over its cap")
        key = inbox.chat_key(inbound.channel, inbound.chat_id)
        # De-duplicate first: a redelivery must not count against the person's flood window (50 copies of one
        # update used to earn a "slow down" notice, and the next real message was dropped).
        event = (inbound.channel, inbox.event_key(inbound))
        if event in self.recent:
            metrics.UPDATES.labels(inbound.channel, "duplicate").inc()
            return False
        counted = not self._staff_room(inbound)
        verdict = self.flood.check(key) if counted else "ok"
        if verdict != "ok":
            if await self.db.run(inbox.is_stored, *event):  # stored before this process knew it (restart, other instance)
                self.recent.add(event)
                metrics.UPDATES.labels(inbound.channel, "duplicate").inc()
                return False
            metrics.UPDATES.labels(inbound.channel, "flood_dropped").inc()
            if verdict == "warn":
                log.info("flood control: %s over %d messages in %.0fs", key, self.flood.limit, self.flood.period)
                await self.db.run(inbox.queue_notice, inbound, texts.SLOW_DOWN)
                self.outbox.kick()
            return False
        if self.pipeline is not None:
            inserted = await self.pipeline.ingest(inbound)  # stored and, in the same commit, processed
        else:
            inserted = await self.db.run(inbox.ingest, inbound)
            if inserted:
                self.inbox.schedule(key)
        self.recent.add(event)
        if not inserted and counted:
            self.flood.refund(key)  # a redelivery the database recognised: it does not count either
        metrics.UPDATES.labels(inbound.channel, "stored" if inserted else "duplicate").inc()
        return inserted

    def _staff_room(self, inbound: Inbound) -> bool:
        """The officers' group (and the local staff terminal) is not flood-limited: a busy team answering many
        tickets in one chat must never have an answer dropped. The per-channel cap still applies."""
        if inbound.channel == TERMINAL_STAFF:
            return True
        return inbound.channel == TELEGRAM and bool(self.settings.staff_chat_id) and inbound.chat_id == self.settings.staff_chat_id

    async def set_blocked(self, channel: str, chat_id: str, blocked: bool) -> None:
        def apply(session: Any) -> None:
            chat = inbox.get_or_create_chat(session, channel, chat_id)
            chat.blocked_at = utcnow() if blocked else None
            session.add(chat)

        await self.db.run(apply)

    async def wait_quiet(self, key: str, timeout: float = 10.0) -> None:
        """Until nothing is pending for a chat, inbound or outbound (terminal chat, tests)."""
        def busy(session: Any) -> bool:
            pending_in = session.execute(
                sa.select(sa.func.count()).select_from(InboundEvent).where(InboundEvent.chat_key == key, InboundEvent.status == "pending")
            ).scalar_one()
            pending_out = session.execute(
                sa.select(sa.func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.chat_key == key, OutboxMessage.status.in_(("pending", "sending")),
                    OutboxMessage.next_attempt_at <= utcnow() + dt.timedelta(seconds=5),
                )
            ).scalar_one()
            return bool(pending_in or pending_out)

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not await self.db.run(busy):
                return
            await asyncio.sleep(0.02)

    # ---------------------------------------------------------- knowledge base
    def reload_kb(self) -> bool:
        """Swap in freshly loaded content; on any error keep serving the old content."""
        try:
            new = load_kb(self.settings, self.db if self._own_kb else None)
        except KnowledgeBaseError as err:
            log.error("knowledge base reload refused, keeping %d entries: %s", len(self.kb.entries), err)
            return False
        except Exception:  # a broken file must never take the bot down
            log.exception("knowledge base reload failed, keeping the old content")
            return False
        self.kb = new
        self._kb_loaded_at = time.time()
        log.info("knowledge base reloaded: %d entries", len(new.entries))
        return True

    async def _watch_kb(self) -> None:
        """Reload when `ntm-bot kb reload` asks (through the database, so every instance hears it)."""
        while True:
            await asyncio.sleep(self.settings.kb_watch_seconds)
            try:
                row = await self.db.run(lambda s: s.get(KeyValue, KB_RELOAD_KEY))
                if row and (row.value or {}).get("at", 0) > self._kb_loaded_at:
                    await asyncio.get_running_loop().run_in_executor(None, self.reload_kb)
                    self._kb_loaded_at = max(self._kb_loaded_at, (row.value or {}).get("at", 0))
            except Exception:
                log.exception("kb watch failed")

    async def _keep_model_current(self) -> None:
        """When the content changed (an officer's edit, `kb reload`, KB_DIR), retrain the decision model for it in a
        child process (scikit-learn and its memory stay out of the bot) and swap it in; until then the previous
        model decides (its inputs do not depend on which entries exist). One training per content version."""
        tried: set[str] = set()
        while True:
            kb = self.kb
            h = kb.content_hash
            if not kb.model_is_current and h not in tried:
                tried.add(h)
                out = self.settings.data_dir / "cache" / f"model-{h}.json"
                if not out.exists():
                    log.info("training the decision model for the new content (%s)", h)
                    proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "knowledge.train", "--kb-dir", str(self.settings.kb_dir or DATA_DIR),
                        "--out", str(out), "--quiet", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
                    try:
                        _, err = await proc.communicate()
                    except asyncio.CancelledError:
                        proc.kill()
                        raise
                    if proc.returncode != 0:
                        log.error("decision model training failed (%s): %s", proc.returncode, err.decode(errors="replace")[-500:])
                model = DecisionModel.load(out)
                if model is not None and model.kb_hash == h and self.kb is kb:
                    kb.with_model(model)
                    log.info("decision model for the current content in use")
            await asyncio.sleep(self.settings.kb_watch_seconds)

    def install_signal_handlers(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, self.reload_kb))


def curated_rows(session: Any) -> list[Any]:
    """The knowledge officers published in the console (none before the table exists)."""
    from bot.features.console import curation

    if not sa.inspect(session.connection()).has_table("kb_draft"):
        return []
    return curation.published(session)


def load_kb(settings: Settings, db: Database | None = None) -> KnowledgeBase:
    """The content of the settings (KB_DIR, or the shipped one) plus, with a database, what officers curated and
    published in the console (bot.features.console.curation)."""
    kb = KnowledgeBase.for_settings(settings)
    if db is None:
        return kb
    from bot.features.console import curation

    return curation.with_curated(kb, db.call(curated_rows))


def seed_staff(session: Any, admin_ids: list[str]) -> None:
    """STAFF_USER_IDS are admins from the first start on."""
    from sqlmodel import select

    for uid in admin_ids:
        row = session.exec(select(Staff).where(Staff.user_id == uid)).first()
        if row is None:
            session.add(Staff(user_id=uid, role="admin", added_by="STAFF_USER_IDS"))
        elif row.role != "admin" or not row.active:
            row.role, row.active = "admin", True
            session.add(row)


def request_kb_reload(session: Any) -> None:
    from bot.features.console.curation import request_reload

    request_reload(session)


__all__ = ["App", "Chat"]
