"""Load: N simulated citizens chatting with the bot through its real webhook server and real Bot API client.

    python -m bench.load [--citizens 600] [--messages 8] [--only sqlite,sqlite2,pg1,pg2,web,webpg2,aiogram,ptb]

Each citizen sends a question (POST /telegram/webhook, as Telegram would), waits for the answer to reach
the local fake Bot API, thinks 1–1.5 s (Telegram allows ~1 message/s per chat), and asks the next one.
The bot runs as separate process(es) (`ntm-bot run`, webhook mode); this process runs the citizens and the
fake Bot API. Latency = from the POST to the fake API receiving the reply. Everything is on 127.0.0.1, the
number of requests is bounded, and the run stops by itself.

Scenarios: ntm-bot on SQLite with one and with two instances on the same file (they take turns on it); on
PostgreSQL with one and with two instances (with two instances, POSTs alternate between them); a bare
aiogram echo bot and a bare PTB echo bot (Application, default httpx) as reference points.
Web scenarios: the same citizens as browsers of the web chat (GET /chat for the cookie and CSRF token, one
Server-Sent Events stream each, POST /chat/send per question; latency = from the POST to the answer arriving on the
stream), on SQLite with one instance, and on PostgreSQL with two instances where each browser's stream is held by
one instance and its POSTs go to the other (the answer crosses instances by LISTEN/NOTIFY). All bench browsers come
from 127.0.0.1, so the per-address limits (WEB_ADDRESS_RATE, WEB_NEW_SESSIONS_PER_ADDRESS) are lifted for it.
For the bench, TELEGRAM_GLOBAL_RATE is lifted (Telegram's ~30 msg/s is a platform quota, not the bot's
capacity); every other setting is the default, flood control included.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegram
from tests.instances import SECRET, BotProcess, free_port

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

QUESTIONS = [
    "OCOP là gì?", "ocop la gi", "Xã nông thôn mới cần đạt bao nhiêu tiêu chí?", "tieu chi nong thon moi moi nhat",
    "ocop 4 sao la bao nhieu diem", "Sản phẩm OCOP 3 sao cần bao nhiêu điểm?", "đăng ký OCOP thế nào",
    "Đóng góp xây dựng nông thôn mới có bắt buộc không?", "nong thon moi nang cao la gi",
    "An Giang có bao nhiêu sản phẩm OCOP?", "tiêu chí thu nhập nông thôn mới", "chung nhan ocop co thoi han bao lau",
    "Xã nông thôn mới kiểu mẫu là gì?", "hồ sơ đăng ký OCOP gồm những gì", "ai chấm điểm sản phẩm OCOP",
    "tiêu chí về nhà ở dân cư", "bộ tiêu chí 2026-2030 có gì mới", "ocop 5 sao", "cho em hỏi về nước sạch nông thôn",
    "giá lúa hôm nay bao nhiêu", "xin chào", "cảm ơn bạn", "mình muốn hỏi thủ tục làm sổ đỏ",
    "Tôi trồng xoài ở Tri Tôn, làm sao để sản phẩm được công nhận OCOP?", "tieu chi moi truong la gi",
]


def question_pool() -> list[str]:
    """What citizens ask in the run: the questions above, every paraphrase of the shipped knowledge base and
    the regression set (in- and out-of-scope) — about two thousand distinct texts, so the bot's decision
    cache helps only as much as real repetition would."""
    import json

    from knowledge.kb import KnowledgeBase

    pool = list(QUESTIONS)
    pool += [q for e in KnowledgeBase.load().entries.values() for q in e.questions]
    reg = ROOT / "tests" / "data" / "regression.jsonl"
    pool += [json.loads(line)["q"] for line in reg.read_text(encoding="utf-8").splitlines() if line.strip()]
    return pool


class Run:
    def __init__(self, fake: FakeTelegram):
        self.fake = fake
        self.pool = question_pool()
        # The pool loads the knowledge base: keep this process's garbage-collector passes short, so that the
        # citizens and the fake Bot API do not add their own pauses to the bot's latency.
        gc.collect()
        gc.freeze()
        self.waiting: dict[str, tuple[float, asyncio.Future[float]]] = {}
        self.latencies: list[float] = []
        self.errors = 0
        fake.on_send = self._on_send

    def _on_send(self, sent: Any) -> None:
        w = self.waiting.pop(sent.chat_id, None)
        if w is not None and not w[1].done():
            w[1].set_result(time.perf_counter() - w[0])


async def citizen(run: Run, http: aiohttp.ClientSession, urls: list[str], chat: int, messages: int, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, 1.0))  # arrivals spread over the first second
    for i in range(messages):
        update = run.fake.make_message(chat, rng.choice(run.pool))
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        run.waiting[str(chat)] = (time.perf_counter(), fut)
        url = urls[(chat + i) % len(urls)]
        try:
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
                await r.read()
                if r.status != 200:
                    run.errors += 1
                    run.waiting.pop(str(chat), None)
                    continue
            run.latencies.append(await asyncio.wait_for(fut, timeout=30))
        except (aiohttp.ClientError, asyncio.TimeoutError):
            run.errors += 1
            run.waiting.pop(str(chat), None)
        await asyncio.sleep(rng.uniform(1.0, 1.5))


async def drive(fake: FakeTelegram, urls: list[str], citizens: int, messages: int, seed: int = 1) -> dict[str, Any]:
    run = Run(fake)
    rng = random.Random(seed)
    conn = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=conn) as http:
        # warm-up: one message per bot process path (imports, KB caches, connections)
        for k, url in enumerate(urls):
            await citizen(run, http, [url], 10_000_000 + k, 1, random.Random(k))
        run.latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(citizen(run, http, urls, 1_000_000 + c, messages, random.Random(rng.random()))
                               for c in range(citizens)))
        elapsed = time.perf_counter() - started
    lat = sorted(run.latencies)
    n = len(lat)
    # the citizens' think time bounds the rate: report the rate and the busiest second
    return {
        "answered": n, "errors": run.errors, "seconds": elapsed,
        "rate": n / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * lat[n // 2] if n else float("nan"),
        "p99_ms": 1000 * lat[min(n - 1, int(n * 0.99))] if n else float("nan"),
        "mean_ms": 1000 * statistics.fmean(lat) if n else float("nan"),
    }


def _pg_database() -> tuple[str, Any]:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ntm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


BOT_ENV = {"TELEGRAM_GLOBAL_RATE": "100000", "LOG_LEVEL": "WARNING", "SEND_CONCURRENCY": "64"}
WEB_ENV = {"WEB_ADDRESS_RATE": "100000000", "WEB_NEW_SESSIONS_PER_ADDRESS": "100000000", "WEB_MAX_STREAMS": "20000",
           "HTTP_MAX_CONNECTIONS": "20000"}


class WebBrowser:
    """One citizen's browser: the page (cookie, CSRF token), its live stream, and questions POSTed one by one."""

    def __init__(self, stream_url: str, post_url: str):
        self.stream_url, self.post_url = stream_url, post_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          connector=aiohttp.TCPConnector(limit=4))
        self.csrf = ""
        self.ready = asyncio.Event()
        self.waiting: tuple[float, asyncio.Future[float]] | None = None
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        import re

        async with self.http.get(self.stream_url + "/chat") as r:
            self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)
        self.task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.ready.wait(), 30)

    async def _read(self) -> None:
        import json

        async with self.http.get(self.stream_url + "/chat/events", timeout=aiohttp.ClientTimeout(total=None)) as r:
            event = ""
            async for line in r.content:
                if line.startswith(b"event: "):
                    event = line[7:].strip().decode()
                elif line.startswith(b"data: "):
                    if event == "ready":
                        self.ready.set()
                    elif json.loads(line[6:]).get("who") == "bot" and self.waiting and not self.waiting[1].done():
                        self.waiting[1].set_result(time.perf_counter() - self.waiting[0])

    async def ask(self, text: str) -> float:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting = (time.perf_counter(), fut)
        async with self.http.post(self.post_url + "/chat/send", json={"key": uuid.uuid4().hex, "text": text},
                                  headers={"X-CSRF-Token": self.csrf}) as r:
            await r.read()
            if r.status != 200:
                raise aiohttp.ClientResponseError(r.request_info, (), status=r.status)
        return await asyncio.wait_for(fut, timeout=30)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.http.close()


async def web_citizen(run: Run, pair: tuple[str, str], messages: int, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, 1.0))
    b = WebBrowser(*pair)
    try:
        await b.open()
        for _ in range(messages):
            try:
                run.latencies.append(await b.ask(rng.choice(run.pool)))
            except (aiohttp.ClientError, asyncio.TimeoutError):
                run.errors += 1
            await asyncio.sleep(rng.uniform(1.0, 1.5))
    except (aiohttp.ClientError, asyncio.TimeoutError):
        run.errors += messages
    finally:
        await b.close()


async def drive_web(fake: FakeTelegram, pairs: list[tuple[str, str]], citizens: int, messages: int,
                    seed: int = 1) -> dict[str, Any]:
    run = Run(fake)
    rng = random.Random(seed)
    for k, pair in enumerate(pairs):  # warm-up
        await web_citizen(run, pair, 1, random.Random(k))
    run.latencies.clear()
    run.errors = 0
    started = time.perf_counter()
    await asyncio.gather(*(web_citizen(run, pairs[c % len(pairs)], messages, random.Random(rng.random()))
                           for c in range(citizens)))
    elapsed = time.perf_counter() - started
    lat = sorted(run.latencies)
    n = len(lat)
    return {
        "answered": n, "errors": run.errors, "seconds": elapsed, "rate": n / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * lat[n // 2] if n else float("nan"),
        "p99_ms": 1000 * lat[min(n - 1, int(n * 0.99))] if n else float("nan"),
        "mean_ms": 1000 * statistics.fmean(lat) if n else float("nan"),
    }


async def scenario(name: str, work: Path, citizens: int, messages: int) -> dict[str, Any]:
    fake = FakeTelegram()
    await fake.start()
    procs: list[Any] = []
    drop = None
    try:
        if name in ("aiogram", "ptb"):
            import subprocess

            port = free_port()
            script = ROOT / "bench" / f"echo_{name}.py"
            log = open(work / f"{name}.log", "wb")
            p = subprocess.Popen([sys.executable, str(script), str(port), fake.base_url, fake.token, SECRET],
                                 stdout=log, stderr=subprocess.STDOUT, cwd=work)
            procs.append(p)
            urls = [f"http://127.0.0.1:{port}/telegram/webhook"]
            await _wait_http(f"http://127.0.0.1:{port}/readyz")
        else:
            if name.startswith(("sqlite", "web")) and name != "webpg2":
                db_url = f"sqlite:///{work / f'{name}.sqlite3'}"
            else:
                db_url, drop = _pg_database()
            count = 2 if name in ("sqlite2", "pg2", "webpg2") else 1
            env = {**BOT_ENV, **(WEB_ENV if name.startswith("web") else {})}
            bots = [BotProcess(work / f"{name}-{i}", fake_base_url=fake.base_url, token=fake.token, database_url=db_url,
                               kb_dir=None, name=f"{name}-{i}", env=env) for i in range(count)]
            for b in bots:
                b.start()
                procs.append(b)
                await b.wait_ready(60)
            urls = [b.url + "/telegram/webhook" for b in bots]
        pids = [p.proc.pid if isinstance(p, BotProcess) else p.pid for p in procs]
        cpu0 = sum(_cpu_seconds(pid) for pid in pids)
        if name.startswith("web"):  # (stream instance, POST instance): the other one when there are two
            bases = [u.rsplit("/telegram/webhook", 1)[0] for u in urls]
            pairs = [(bases[i], bases[(i + 1) % len(bases)]) for i in range(len(bases))]
            result = await drive_web(fake, pairs, citizens, messages)
        else:
            result = await drive(fake, urls, citizens, messages)
        cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu0
        result["cpu_ms"] = 1000 * cpu / result["answered"] if result["answered"] else float("nan")
        return result
    finally:
        for p in procs:
            if isinstance(p, BotProcess):
                p.stop_now()
            else:
                p.terminate()
                p.wait(10)
        await fake.stop()
        if drop:
            drop()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc); 0 where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


async def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            try:
                async with s.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not up")


LABELS = {"sqlite": "ntm-bot, SQLite", "sqlite2": "ntm-bot, SQLite, 2 instances", "pg1": "ntm-bot, PostgreSQL, 1 instance",
          "pg2": "ntm-bot, PostgreSQL, 2 instances", "web": "web chat (SSE), SQLite",
          "webpg2": "web chat (SSE), PostgreSQL, 2 inst.",
          "aiogram": "bare aiogram echo bot", "ptb": "bare PTB echo bot (httpx)"}


async def main_async(args: argparse.Namespace) -> int:
    import importlib.util

    if "aiogram" in args.only.split(",") and importlib.util.find_spec("aiogram") is None:
        print("aiogram is not installed: pip install -e '.[bench]' (or leave it out: --only sqlite,sqlite2,pg1,pg2,web,webpg2,ptb)")
        return 2
    with tempfile.TemporaryDirectory(prefix="ntm-bench-") as tmp:
        work = Path(tmp)
        print(f"{args.citizens} citizens × {args.messages} messages, think time 1–1.5 s, bot in its own process(es)\n")
        print(f"{'scenario':36s} {'answered':>8s} {'err':>4s} {'upd/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s} {'CPU ms/upd':>10s}")
        for name in args.only.split(","):
            r = await scenario(name, work, args.citizens, args.messages)
            print(f"{LABELS[name]:36s} {r['answered']:8d} {r['errors']:4d} {r['rate']:7.0f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {r['cpu_ms']:10.2f}",
                  flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--citizens", type=int, default=600)
    ap.add_argument("--messages", type=int, default=8)
    ap.add_argument("--only", default="sqlite,sqlite2,pg1,pg2,web,webpg2,aiogram,ptb")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
