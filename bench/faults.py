"""Fault run: two instances on one PostgreSQL, a Bot API that fails 20% of calls, one instance SIGKILLed.

    python -m bench.faults [--chats 200] [--messages 5] [--fault-rate 0.2] [--scenario faq]

The fake Bot API answers 429 (retry_after 1 s), 502 or a 1.5 s timeout (the bot gives up after 1 s) on
`--fault-rate` of the calls. Citizens POST their messages to the two instances in turn; a POST that fails
(connection refused while an instance is down, 503 while it stops) is redelivered to the other instance,
as Telegram redelivers. Midway, instance 1 is SIGKILLed and restarted 2 s later. At the end it counts, per
message, the replies that reached the fake API: lost (acknowledged, never answered) and duplicated
(answered more than once: only possible for a message being sent at the moment of the kill).

Scenarios are pluggable: a scenario says what each chat sends and how many replies each message must get.
The ticket scenario (1,000 reports + staff answers) plugs in here once tickets exist.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import QUESTIONS, _pg_database  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.instances import BotProcess, post_update  # noqa: E402


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


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = FakeTelegram(seed=args.seed)
    await fake.start()
    fake.fault_rate = args.fault_rate
    fake.fault_kinds = [("429", 1.0), ("500", 0.0), ("timeout", 1.5)]
    db_url, drop = _pg_database()
    work = Path(tempfile.mkdtemp(prefix="ntm-faults-"))
    env = {"TELEGRAM_READ_TIMEOUT": "1.0", "LOG_LEVEL": "WARNING"}
    bots = [BotProcess(work / f"i{n}", fake_base_url=fake.base_url, token=fake.token, database_url=db_url, kb_dir=None,
                       name=f"i{n}", env=env) for n in (1, 2)]
    scenario = SCENARIOS[args.scenario](fake, random.Random(args.seed))
    expected: collections.Counter[str] = collections.Counter()
    acked = 0
    started = time.monotonic()
    try:
        for b in bots:
            b.start()
        await asyncio.gather(*(b.wait_ready(60) for b in bots))
        total = args.chats * args.messages
        sent_so_far = 0
        killed = asyncio.Event()

        async def chaos() -> None:
            while sent_so_far < total * 0.4:
                await asyncio.sleep(0.05)
            bots[0].kill()
            await bots[0].wait_exit(10)
            killed.set()
            await asyncio.sleep(2)
            bots[0].start()
            await bots[0].wait_ready(60)

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
    finally:
        for b in bots:
            b.stop_now()
        await fake.stop()
        drop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chats", type=int, default=200)
    ap.add_argument("--messages", type=int, default=5)
    ap.add_argument("--fault-rate", type=float, default=0.2)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="faq")
    ap.add_argument("--settle", type=float, default=180.0, help="seconds to wait for retries to deliver")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    r = asyncio.run(run(args))
    print(f"scenario {args.scenario}: {r['messages']} messages from {args.chats} chats, 2 instances on PostgreSQL, "
          f"fault rate {args.fault_rate:.0%}, instance 1 SIGKILLed and restarted: {'yes' if r['killed'] else 'NO'}")
    print(f"  acknowledged {r['acknowledged']}, replies expected {r['replies_expected']}, received {r['replies_received']}")
    print(f"  lost {r['lost']}, duplicated {r['duplicated']}")
    print(f"  faults injected {r['faults']} over {r['api_calls']} Bot API calls; {r['seconds']:.0f} s")
    return 0 if r["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
