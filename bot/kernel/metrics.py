"""Prometheus metrics (`GET /metrics`, text format).

Two kinds, and the difference matters when several instances run:
- counters (updates received, answers, sends, send errors, flood drops) live in each process: scrape every
  instance and `sum()` them in Prometheus;
- gauges read from the database at scrape time (outbox queue depth and oldest age, pending inbound
  events, and whatever features add with `@db_gauge`: tickets by status, broadcast progress) are the
  same whichever instance answers: take `max()` (or scrape one instance).

Features add their gauges without touching this file:

    @db_gauge
    def ticket_gauges(session, now):
        g = GaugeMetricFamily("ntm_tickets", "Tickets by status", labels=["status"])
        for status, n in session.execute(...): g.add_metric([status], n)
        yield g
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter("ntm_updates_received", "Platform updates accepted by this process", ["channel", "result"],
                  registry=REGISTRY)  # result: stored | duplicate | flood_dropped | busy
ANSWERS = Counter("ntm_answers", "Free-text questions by outcome", ["outcome"],
                  registry=REGISTRY)  # matched | computed | suggested | unmatched | offtopic | smalltalk | report_offer | topic
SENT = Counter("ntm_messages_sent", "Messages delivered to a platform", ["channel"], registry=REGISTRY)
SEND_ERRORS = Counter("ntm_send_errors", "Failed send attempts by channel and code", ["channel", "code"],
                      registry=REGISTRY)
WEBHOOK_REJECTED = Counter("ntm_webhook_rejected", "Webhook requests refused", ["channel", "reason"],
                           registry=REGISTRY)
ZALO_EVENTS = Counter("ntm_zalo_events", "Zalo events outside the usual message flow, by what the bot did with them",
                      ["channel", "kind"], registry=REGISTRY)
# kind: anonymous_unanswered (OA anonymous users: v3 cannot reply) | submit_info_dropped (form answers: not
# stored) | unknown_message (a message kind the bot does not know: answered as unreadable)
INFO = Gauge("ntm_instance_up", "1 while this instance runs", registry=REGISTRY)

DbGauge = Callable[[Any, dt.datetime], Iterable[Metric]]
DB_GAUGES: list[DbGauge] = []


def db_gauge(fn: DbGauge) -> DbGauge:
    """Register fn(session, now) -> metric families, evaluated in one read transaction per scrape."""
    DB_GAUGES.append(fn)
    return fn


def answer_outcome(kind: str) -> None:
    ANSWERS.labels(_OUTCOMES.get(kind, "unmatched")).inc()


_OUTCOMES = {"answer": "matched", "computed": "computed", "suggest": "suggested", "decline": "unmatched",
             "offtopic": "offtopic", "smalltalk": "smalltalk", "report-offer": "report_offer", "topic": "topic"}


def error_code(result: Any) -> str:
    """A short code for a failed SendResult (for the send-errors counter)."""
    if result.retry_after:
        return "429"
    if result.blocked:
        return "blocked"
    if result.new_chat_id:
        return "migrated"
    if result.permanent:
        return "rejected"
    text = (result.error or "").lower()
    if "timedout" in text or "timeout" in text or "timed out" in text:
        return "timeout"
    return "transient"


@db_gauge
def core_gauges(session: Any, now: dt.datetime) -> Iterable[Metric]:
    from bot.storage.models import InboundEvent, OutboxMessage

    o = OutboxMessage.__table__
    depth = GaugeMetricFamily("ntm_outbox_queue", "Outbox messages not yet delivered", labels=["channel", "status"])
    for channel, status, n in session.execute(
        sa.select(o.c.channel, o.c.status, sa.func.count()).where(o.c.status.in_(("pending", "sending")))
        .group_by(o.c.channel, o.c.status)
    ):
        depth.add_metric([channel, status], n)
    yield depth
    oldest = session.execute(sa.select(sa.func.min(o.c.created_at)).where(o.c.status.in_(("pending", "sending")))).scalar()
    yield GaugeMetricFamily("ntm_outbox_oldest_age_seconds", "Age of the oldest undelivered outbox message",
                            value=age_seconds(oldest, now))
    i = InboundEvent.__table__
    pending = session.execute(sa.select(sa.func.count(), sa.func.min(i.c.received_at)).where(i.c.status == "pending")).one()
    yield GaugeMetricFamily("ntm_inbox_pending", "Inbound events stored but not yet processed", value=pending[0])
    yield GaugeMetricFamily("ntm_inbox_oldest_age_seconds", "Age of the oldest unprocessed inbound event",
                            value=age_seconds(pending[1], now))


def age_seconds(t: dt.datetime | None, now: dt.datetime) -> float:
    if t is None:
        return 0.0
    if t.tzinfo is None:  # SQLite returns naive UTC
        t = t.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (now - t).total_seconds())


class _Snapshot:
    def __init__(self, families: list[Metric]):
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def read_db_gauges(session: Any, now: dt.datetime) -> list[Metric]:
    out: list[Metric] = []
    for fn in DB_GAUGES:
        try:
            out.extend(fn(session, now))
        except Exception:  # one broken gauge must not hide the others
            log.exception("metrics gauge %s failed", getattr(fn, "__name__", fn))
            session.rollback()
    return out


def render(families: list[Metric]) -> bytes:
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Snapshot(families))
    return generate_latest(REGISTRY) + generate_latest(extra)


__all__ = ["CONTENT_TYPE_LATEST", "DB_GAUGES", "GaugeMetricFamily", "db_gauge", "render", "read_db_gauges"]
