# Over 400 lines: one benchmark script with its fault scenarios.
"""Fault run: two instances on one PostgreSQL, a Bot API that fails 20% of calls, one instance SIGKILLed.

    python -m bench.faults [--chats 200] [--messages 5] [--fault-rate 0.2] [--scenario faq]

The fake Bot API answers 429 (retry_after 1 s), 502 or a 1.5 s timeout (the bot gives up after 1 s) on
`--fault-rate` of the calls. Citizens POST their messages to the two instances in turn; a POST that fails
(connection refused while an instance is down, 503 while it stops) is redelivered to the other instance,
as Telegram redelivers. Midway, instance 1 is SIGKILLed and restarted 2 s later. At the end it counts, per
message, the replies that reached the fake API: lost (acknowledged, never answered) and duplicated
(answered more than once: only possible for a message being sent at the moment of the kill).

Scenarios: `faq` (each chat sends questions; one answer each), `dbfail` (the same questions, no kill; at 40% the
database fails for `--outage` seconds: PostgreSQL backends terminated again and again, or with `--db sqlite` the
shared SQLite file write-locked by another process; afterwards every loop must be alive) and `tickets` (1,000 reports by default:
each citizen walks the guided report by typing, as a farmer would, waits for every reply before the next
step, gets a receipt with a code; an officer answers each ticket with /reply in the staff group; the
citizen waits for that answer). For tickets it counts lost and duplicated tickets (database), staff cards,
and every message of the conversation, answers included.

    python -m bench.faults --scenario tickets [--reports 1000] [--citizens 200]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import QUESTIONS, _pg_database
from tests.fakes.telegram_api import FakeTelegram
from tests.instances import BotProcess, post_update


@dataclass
class Step:
    update: dict[str, Any]
    replies: int  # how many messages the bot must send for it (to any chat)
    chat: str  # where the replies go


class FaqScenario:
    """Citizens asking questions: one answer per question, in the citizen's chat."""

    name = "faq"

    def __init__(self, fake: FakeTelegram, rng: random.Random):
        self.fake, self.rng = fake, rng

    def steps(self, chat: int, count: int) -> list[Step]:
        return [Step(self.fake.make_message(chat, self.rng.choice(QUESTIONS)), 1, str(chat)) for _ in range(count)]


SCENARIOS = {"faq": FaqScenario}


async def deliver(http: aiohttp.ClientSession, bots: list[BotProcess], update: dict[str, Any], first: int) -> bool:
    """Like Telegram: POST until some instance answers 200 (bounded: 60 s)."""
    deadline = time.monotonic() + 60
    i = first
    while time.monotonic() < deadline:
        if await post_update(http, bots[i % len(bots)].url, update, timeout=5) == 200:
            return True
        i += 1
        await asyncio.sleep(0.2)
    return False


@contextlib.asynccontextmanager
async def _cluster(args: argparse.Namespace, env: dict[str, str]) -> AsyncIterator[tuple[FakeTelegram, list[BotProcess], str]]:
    """A faulty fake Bot API and two ready instances on a fresh PostgreSQL database (or, `--db sqlite`, one
    SQLite file); all gone afterwards."""
    fake = FakeTelegram(seed=args.seed)
    await fake.start()
    fake.fault_rate = args.fault_rate
    fake.fault_kinds = [("429", 1.0), ("500", 0.0), ("timeout", 1.5)]
    work = Path(tempfile.mkdtemp(prefix="ntm-faults-"))
    if getattr(args, "db", "postgresql") == "sqlite":
        db_url, drop = f"sqlite:///{work / 'shared.sqlite3'}", (lambda: None)
    else:
        db_url, drop = _pg_database()
    env = {"TELEGRAM_READ_TIMEOUT": "1.0", "LOG_LEVEL": "WARNING", **env}
    bots = [BotProcess(work / f"i{n}", fake_base_url=fake.base_url, token=fake.token, database_url=db_url, kb_dir=None,
                       name=f"i{n}", env=env) for n in (1, 2)]
    try:
        for b in bots:
            b.start()
        await asyncio.gather(*(b.wait_ready(60) for b in bots))
        yield fake, bots, db_url
    finally:
        for b in bots:
            b.stop_now()
        await fake.stop()
        drop()


async def _chaos(bots: list[BotProcess], far_enough: Callable[[], bool], killed: asyncio.Event) -> None:
    """SIGKILL instance 1 once the run is far enough along, restart it 2 s later, wait until it is ready."""
    while not far_enough():
        await asyncio.sleep(0.05)
    bots[0].kill()
    await bots[0].wait_exit(10)
    killed.set()
    await asyncio.sleep(2)
    bots[0].start()
    await bots[0].wait_ready(60)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    expected: collections.Counter[str] = collections.Counter()
    acked = 0
    started = time.monotonic()
    async with _cluster(args, {}) as (fake, bots, _db_url):
        scenario = SCENARIOS[args.scenario](fake, random.Random(args.seed))
        total = args.chats * args.messages
        sent_so_far = 0
        killed = asyncio.Event()

        async def citizen(http: aiohttp.ClientSession, chat: int) -> None:
            nonlocal acked, sent_so_far
            await asyncio.sleep(random.uniform(0, 2))
            for k, step in enumerate(scenario.steps(chat, args.messages)):
                ok = await deliver(http, bots, step.update, chat + k)
                sent_so_far += 1
                if ok:
                    acked += 1
                    expected[step.chat] += step.replies
                await asyncio.sleep(random.uniform(1.2, 2.0))

        async with aiohttp.ClientSession() as http:
            chaos_task = asyncio.create_task(_chaos(bots, lambda: sent_so_far >= total * 0.4, killed))
            await asyncio.gather(*(citizen(http, 3_000_000 + c) for c in range(args.chats)))
            await chaos_task
        # wait for the outbox to catch up (retries back off up to minutes in the worst case)
        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline:
            got = collections.Counter(m.chat_id for m in fake.sent)
            if all(got[c] >= n for c, n in expected.items()):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        got = collections.Counter(m.chat_id for m in fake.sent)
        lost = sum(max(0, n - got[c]) for c, n in expected.items())
        dup = sum(max(0, got[c] - n) for c, n in expected.items())
        return {
            "messages": total, "acknowledged": acked, "replies_expected": sum(expected.values()),
            "replies_received": sum(got[c] for c in expected), "lost": lost, "duplicated": dup,
            "faults": dict(fake.faults_injected), "api_calls": len(fake.calls), "seconds": time.monotonic() - started,
            "killed": killed.is_set(),
        }


# ------------------------------------------------------------------ dbfail: the database away for a few seconds
async def _db_outage(db_url: str, seconds: float) -> dict[str, int]:
    """PostgreSQL: every backend of the bot's database terminated, again and again, for `seconds`. SQLite: another
    process holds the write lock for `seconds` (as a backup or a stray `sqlite3` shell would)."""
    import subprocess

    if db_url.startswith("sqlite"):
        path = db_url.split("///", 1)[1]
        code = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
                "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, path, str(seconds),
                                                    stdout=subprocess.PIPE)
        assert proc.stdout is not None
        await proc.stdout.readline()
        await proc.wait()
        return {"sqlite_locked_seconds": int(seconds)}
    import sqlalchemy as sa

    from bench.load import PG_ADMIN_URL

    name = db_url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    killed = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with admin.connect() as c:
                killed += len(c.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                    {"n": name}).all())
            await asyncio.sleep(0.2)
    finally:
        admin.dispose()
    return {"pg_backends_terminated": killed}


async def run_dbfail(args: argparse.Namespace) -> dict[str, Any]:
    """FAQ traffic to two instances; at 40% the database fails for --outage seconds; then every loop of every
    instance must be alive (/readyz 200, no loop down) and every acknowledged question answered."""
    expected: collections.Counter[str] = collections.Counter()
    acked = sent_so_far = 0
    outage: dict[str, int] = {}
    started = time.monotonic()
    async with _cluster(args, {}) as (fake, bots, db_url):
        scenario = FaqScenario(fake, random.Random(args.seed))
        total = args.chats * args.messages

        async def chaos() -> None:
            nonlocal outage
            while sent_so_far < total * 0.4:
                await asyncio.sleep(0.05)
            outage = await _db_outage(db_url, args.outage)

        async def citizen(http: aiohttp.ClientSession, chat: int) -> None:
            nonlocal acked, sent_so_far
            await asyncio.sleep(random.uniform(0, 2))
            for k, step in enumerate(scenario.steps(chat, args.messages)):
                ok = await deliver(http, bots, step.update, chat + k)
                sent_so_far += 1
                if ok:
                    acked += 1
                    expected[step.chat] += step.replies
                await asyncio.sleep(random.uniform(1.2, 2.0))

        async with aiohttp.ClientSession() as http:
            chaos_task = asyncio.create_task(chaos())
            await asyncio.gather(*(citizen(http, 5_000_000 + c) for c in range(args.chats)))
            await chaos_task
            deadline = time.monotonic() + args.settle
            while time.monotonic() < deadline:
                got = collections.Counter(m.chat_id for m in fake.sent)
                if all(got[c] >= n for c, n in expected.items()):
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)
            loops = []
            for b in bots:
                async with http.get(b.url + "/readyz") as r:
                    body = await r.json()
                    loops.append((r.status, {k: v for k, v in (body.get("loops") or {}).items() if v != "ok"}))
        got = collections.Counter(m.chat_id for m in fake.sent)
        restarts = sum(b.log().count("background loop") for b in bots)
        return {
            "messages": total, "acknowledged": acked, "replies_expected": sum(expected.values()),
            "replies_received": sum(got[c] for c in expected),
            "lost": sum(max(0, n - got[c]) for c, n in expected.items()),
            "duplicated": sum(max(0, got[c] - n) for c, n in expected.items()),
            "loops": loops, "loop_restarts": restarts, "outage": outage, "faults": dict(fake.faults_injected),
            "api_calls": len(fake.calls), "seconds": time.monotonic() - started,
        }


def report_dbfail(args: argparse.Namespace, r: dict[str, Any]) -> int:
    alive = all(status == 200 and not down for status, down in r["loops"])
    print(f"scenario dbfail: {r['messages']} messages from {args.chats} chats, 2 instances on "
          f"{'one SQLite file' if args.db == 'sqlite' else 'PostgreSQL'}, fault rate {args.fault_rate:.0%}, the database "
          f"failing for {args.outage:g} s at 40% ({r['outage']})")
    print(f"  acknowledged {r['acknowledged']}, replies expected {r['replies_expected']}, received {r['replies_received']}")
    print(f"  lost {r['lost']}, duplicated {r['duplicated']} (in-flight window: at most SEND_CONCURRENCY per instance)")
    print(f"  every loop alive afterwards: {'yes' if alive else 'NO'} {r['loops']}; loop restarts logged: {r['loop_restarts']}")
    print(f"  faults injected {r['faults']} over {r['api_calls']} Bot API calls; {r['seconds']:.0f} s")
    return 0 if r["lost"] == 0 and alive else 1


# ------------------------------------------------------------------ tickets: 1,000 reports and answers
STAFF_CHAT, OFFICER = -100900, 9001
# The reply each step of a typed report must bring, in order (the last one is the officer's answer).
REPORT_STEPS = [
    ("/phananh Cống ấp {tag} bị vỡ, nước tràn vào ruộng lúa", "Bước 1/5"),
    ("thủy lợi", "Bước 3/5"),
    ("xa my khanh", "Bước 4/5"),
    ("bỏ qua", "Bước 5/5"),
    ("ẩn danh", "Xem lại phản ánh"),
    ("gửi", "Đã tiếp nhận phản ánh"),
]


async def run_tickets(args: argparse.Namespace) -> dict[str, Any]:
    import re

    import sqlalchemy as sa

    from tests.tickets_helpers import inbox_of, plain

    # Production pacing (30 msg/s overall, 1 msg/s per citizen) except the staff group: Telegram allows 20 messages
    # a minute there, so 1,000 cards alone would take 50 minutes; the fake group takes them as fast as they come.
    env = {"STAFF_CHAT_ID": str(STAFF_CHAT), "STAFF_USER_IDS": str(OFFICER), "TELEGRAM_GROUP_PER_MINUTE": "100000"}
    code_re = re.compile(r"PA-\d{6}")
    expected: collections.Counter[tuple[str, str]] = collections.Counter()  # (chat, needle) -> replies due
    confirmed: list[str] = []  # tags of reports whose "gửi" was acknowledged
    stuck: list[str] = []
    done = 0
    started = time.monotonic()

    async with _cluster(args, env) as (fake, bots, db_url):
        killed = asyncio.Event()

        async def wait_reply(chat: str, needle: str, seen: int, timeout: float) -> tuple[Any, int]:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msgs = inbox_of(fake, chat)
                for i in range(seen, len(msgs)):
                    if needle.lower() in plain(msgs[i].text).lower():
                        return msgs[i], i + 1
                await asyncio.sleep(0.1)
            return None, seen

        async def citizen(http: aiohttp.ClientSession, chat: int, reports: int) -> None:
            nonlocal done
            key, seen = str(chat), 0
            await asyncio.sleep(random.uniform(0, 3))
            for k in range(reports):
                tag = f"{chat}-{k}"
                for text, needle in REPORT_STEPS:
                    await asyncio.sleep(random.uniform(0.5, 1.5))  # reading, typing
                    if not await deliver(http, bots, fake.make_message(chat, text.format(tag=tag)), chat + k):
                        stuck.append(f"{tag}: not acknowledged")
                        return
                    expected[(key, needle)] += 1
                    if needle == "Đã tiếp nhận phản ánh":
                        confirmed.append(tag)
                    msg, seen = await wait_reply(key, needle, seen, args.step_timeout)
                    if msg is None:
                        stuck.append(f"{tag}: no {needle!r}")
                        return
                code = code_re.search(msg.text).group(0)  # type: ignore[union-attr]  # no match fails the run, as it should
                answer = f"Xã đã cử người sửa cống ({tag})"
                staff_update = fake.make_message(STAFF_CHAT, f"/reply {code} {answer}", user_id=OFFICER, name="Cán Bộ")
                if not await deliver(http, bots, staff_update, chat):
                    stuck.append(f"{tag}: /reply not acknowledged")
                    return
                expected[(key, answer)] += 1
                msg, seen = await wait_reply(key, answer, seen, args.step_timeout)
                if msg is None:
                    stuck.append(f"{tag}: no answer")
                    return
                done += 1

        per = [args.reports // args.citizens + (1 if c < args.reports % args.citizens else 0) for c in range(args.citizens)]
        async with aiohttp.ClientSession() as http:
            chaos_task = asyncio.create_task(_chaos(bots, lambda: done >= args.reports * 0.4, killed))
            await asyncio.gather(*(citizen(http, 4_000_000 + c, n) for c, n in enumerate(per) if n))
            if killed.is_set():
                await asyncio.wait_for(chaos_task, 120)  # the restarted instance is up again
            else:  # the citizens were stuck before 40% of the reports: no kill, and the run reports it
                chaos_task.cancel()
        citizens_done = time.monotonic()
        # The staff group is one chat on a few ordered lanes, behind citizens' conversations in priority: its
        # cards may still be queued. Wait for every ticket's card (bounded by --settle), then count.
        engine = sa.create_engine(db_url)

        def card_codes() -> collections.Counter[str]:
            return collections.Counter(code_re.search(plain(m.text)).group(0)  # type: ignore[union-attr]  # no match fails the run, as it should
                                       for m in inbox_of(fake, str(STAFF_CHAT)) if plain(m.text).startswith("🆕 PA-"))

        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline:
            with engine.connect() as c:
                n_tickets = c.execute(sa.text("SELECT count(*) FROM ticket")).scalar_one()
            if len(card_codes()) >= n_tickets:
                break
            await asyncio.sleep(1.0)
        staff_caught_up = time.monotonic() - citizens_done
        await asyncio.sleep(3.0)  # anything still in flight (a duplicate would show up now)

        def count(chat: str, needle: str) -> int:
            return sum(1 for m in inbox_of(fake, chat) if needle.lower() in plain(m.text).lower())

        lost = dup = 0
        for (chat, needle), n in expected.items():
            got = count(chat, needle)
            lost += max(0, n - got)
            dup += max(0, got - n)
        with engine.connect() as c:
            rows = c.execute(sa.text("SELECT id, description FROM ticket")).all()
        engine.dispose()
        by_tag = collections.Counter(re.search(r"Cống ấp (\S+) bị vỡ", d).group(1) for _, d in rows)  # type: ignore[union-attr]  # no match fails the run, as it should
        cards = card_codes()
        return {
            "reports": len(confirmed), "answered": done, "stuck": stuck, "tickets": len(rows),
            "tickets_lost": sum(1 for t in confirmed if by_tag[t] == 0),
            "tickets_duplicated": sum(n - 1 for n in by_tag.values() if n > 1),
            "cards_lost": sum(1 for _id, _ in rows if cards[f"PA-{_id:06d}"] == 0),
            "cards_duplicated": sum(n - 1 for n in cards.values() if n > 1),
            "messages_expected": sum(expected.values()), "lost": lost, "duplicated": dup,
            "faults": dict(fake.faults_injected), "api_calls": len(fake.calls), "seconds": time.monotonic() - started,
            "killed": killed.is_set(), "conversation_seconds": citizens_done - started, "staff_caught_up": staff_caught_up,
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chats", type=int, default=200)
    ap.add_argument("--messages", type=int, default=5)
    ap.add_argument("--fault-rate", type=float, default=0.2)
    ap.add_argument("--scenario", choices=sorted([*SCENARIOS, "tickets", "dbfail"]), default="faq")
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql",
                    help="dbfail scenario: the database that fails (two instances either way)")
    ap.add_argument("--outage", type=float, default=5.0, help="dbfail scenario: seconds the database fails")
    ap.add_argument("--reports", type=int, default=1000, help="tickets scenario: reports in all")
    ap.add_argument("--citizens", type=int, default=200, help="tickets scenario: citizens reporting at once")
    ap.add_argument("--step-timeout", type=float, default=180.0, help="tickets scenario: longest wait for a reply")
    ap.add_argument("--settle", type=float, default=180.0, help="seconds to wait for retries to deliver")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.scenario == "tickets":
        return report_tickets(args, asyncio.run(run_tickets(args)))
    if args.scenario == "dbfail":
        return report_dbfail(args, asyncio.run(run_dbfail(args)))
    r = asyncio.run(run(args))
    print(f"scenario {args.scenario}: {r['messages']} messages from {args.chats} chats, 2 instances on PostgreSQL, "
          f"fault rate {args.fault_rate:.0%}, instance 1 SIGKILLed and restarted: {'yes' if r['killed'] else 'NO'}")
    print(f"  acknowledged {r['acknowledged']}, replies expected {r['replies_expected']}, received {r['replies_received']}")
    print(f"  lost {r['lost']}, duplicated {r['duplicated']}")
    print(f"  faults injected {r['faults']} over {r['api_calls']} Bot API calls; {r['seconds']:.0f} s")
    return 0 if r["lost"] == 0 else 1


def report_tickets(args: argparse.Namespace, r: dict[str, Any]) -> int:
    print(f"scenario tickets: {r['reports']} reports confirmed by {args.citizens} citizens typing, each answered by an "
          f"officer; 2 instances on PostgreSQL, fault rate {args.fault_rate:.0%}, instance 1 SIGKILLed and "
          f"restarted: {'yes' if r['killed'] else 'NO'}")
    print(f"  tickets in the database {r['tickets']}: lost {r['tickets_lost']}, duplicated {r['tickets_duplicated']}; "
          f"staff cards lost {r['cards_lost']}, duplicated {r['cards_duplicated']}")
    print(f"  conversation messages and answers expected {r['messages_expected']}: lost {r['lost']}, "
          f"duplicated {r['duplicated']}; reports answered end to end {r['answered']}")
    if r["stuck"]:
        print(f"  stuck: {len(r['stuck'])}: {r['stuck'][:5]}")
    print(f"  citizens done after {r['conversation_seconds']:.0f} s; every staff card delivered "
          f"{r['staff_caught_up']:.0f} s later")
    print(f"  faults injected {r['faults']} over {r['api_calls']} Bot API calls; {r['seconds']:.0f} s")
    ok = not r["stuck"] and r["tickets_lost"] == 0 and r["lost"] == 0 and r["cards_lost"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
