"""Broadcast benchmark: the bot (`ntm-bot run`, a separate process) sends a broadcast through the local fake
Telegram Bot API, which enforces 30 msg/s overall and 1 msg/s per chat (a 429 for every violation).

    python -m bench.broadcast              # 1,000 and 10,000 subscribers, then 10,000 killed halfway (~13 min)
    python -m bench.broadcast --quick      # 300 / 3,000 (~4 min)

Prints the sustained rate, limit violations, the bot process's peak RSS (flat from 1,000 to 10,000), and
for the SIGKILL run how many subscribers got the broadcast once, twice or not at all. Exit code 1 if a
check fails. Results also go to bench/results/broadcast.json.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegram

STAFF = 42
FIRST_CHAT = 100_000_000
LIMIT = 30.0
TEXT = "Bà con lưu ý: **Hội chợ OCOP An Giang** mở cửa từ 6 đến 8/12 tại Long Xuyên. Kính mời bà con tham dự!"


@dataclass
class Run:
    name: str
    subscribers: int
    kill: bool = False
    delivered: int = 0
    once: int = 0
    twice_or_more: int = 0
    never: int = 0
    duration_s: float = 0.0
    rate: float = 0.0
    min_window_rate: float = 0.0
    violations: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    killed_after: int = 0
    in_flight_at_kill: int = 0
    unknown: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------ the bot process
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(fake: FakeTelegram, db_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BROADCAST_", "DATABASE_", "STAFF_"))}
    env.update({
        "DATABASE_URL": db_url,
        "DATA_DIR": str(data_dir),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_MODE": "polling",
        "STAFF_USER_IDS": str(STAFF),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(free_port()),
        "BROADCAST_QUIET_HOURS": "",  # the benchmark runs at any hour
        "BROADCAST_APPROVAL": "false",  # one officer confirms (the second officer's approval is tested elsewhere)
        "TELEGRAM_CHAT_BURST": "1",  # the fake counts any 2nd message within 1 s to a chat as a violation
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    })
    return env


def start_bot(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size so far (Linux)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else 0.0


# ------------------------------------------------------------------ database side (this process, read-only but for seeding)
def prepare_db(db_url: str, n: int) -> None:
    from bot.kernel.messages import utcnow
    from bot.storage.broadcast import Subscription
    from bot.storage.db import Database

    db = Database(db_url)
    db.migrate()
    now = utcnow()
    rows = [{"channel": "telegram", "chat_id": str(FIRST_CHAT + i), "topics": ",ntm,ocop,xa,", "active": True,
             "created_at": now, "updated_at": now} for i in range(n)]
    with db.engine.begin() as conn:
        for i in range(0, n, 5000):
            conn.execute(sa.insert(Subscription.__table__), rows[i : i + 5000])
    db.dispose()


def query(engine: sa.Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as c:
        return list(c.execute(sa.text(sql), params))


# ------------------------------------------------------------------ driving the staff flow over the fake API
async def wait_sent(fake: FakeTelegram, chat: int, needle: str, after: int, timeout: float = 60.0) -> Any:
    hits = await fake.wait_for(lambda s: s.chat_id == str(chat) and s.message_id > after and needle in s.text, timeout)
    return hits[0]


async def compose_and_confirm(fake: FakeTelegram) -> int:
    after = max((s.message_id for s in fake.sent), default=0)
    fake.push(fake.make_message(STAFF, "/broadcast " + TEXT, user_id=STAFF))
    ask = await wait_sent(fake, STAFF, "gửi cho ai", after)
    bid = int(re.search(r"Tin #(\d+)", ask.text).group(1))  # type: ignore[union-attr]  # no match fails the run, as it should
    after = ask.message_id
    fake.push(fake.make_callback(STAFF, f"bct:{bid}:all", user_id=STAFF))
    summary = await wait_sent(fake, STAFF, "Đó là bản xem trước", after)
    fake.push(fake.make_callback(STAFF, f"bc:ok:{bid}", user_id=STAFF))
    await wait_sent(fake, STAFF, "Đã xác nhận", summary.message_id)
    return bid


def is_broadcast(s: Any) -> bool:
    return s.chat_id.isdigit() and int(s.chat_id) >= FIRST_CHAT and "Hội chợ OCOP An Giang" in s.text


# ------------------------------------------------------------------ one run
async def run_one(run: Run, workdir: Path, db_url: str | None, progress: bool) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    prepare_db(db_url, run.subscribers)
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    fake = FakeTelegram()
    fake.enforce_limits = True  # like Telegram: a 429 for every message over the limits
    await fake.start()
    env = bot_env(fake, db_url, workdir)
    log = workdir / "bot.log"
    proc = start_bot(env, workdir, log)
    peak = 0.0
    try:
        bid = await compose_and_confirm(fake)
        # The fake API runs on this event loop and timestamps requests when it handles them: keep the loop
        # free (incremental counting, database queries in a thread), or the measurement itself makes bursts.
        seen = 0
        scanned = 0
        last_print = 0.0
        killed = False
        while True:
            await asyncio.sleep(0.5)
            peak = max(peak, peak_rss_mb(proc.pid))
            new = fake.sent[scanned:]
            scanned += len(new)
            seen += sum(1 for s in new if is_broadcast(s))
            if progress and time.monotonic() - last_print > 10:
                last_print = time.monotonic()
                print(f"    {run.name}: {seen:,}/{run.subscribers:,} delivered, bot peak RSS {peak:.1f} MB", flush=True)
            if run.kill and not killed and seen >= run.subscribers // 2:
                peak = max(peak, peak_rss_mb(proc.pid))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                killed = True
                run.killed_after = sum(1 for s in fake.sent if is_broadcast(s))
                run.in_flight_at_kill = (await asyncio.to_thread(
                    query, engine, "SELECT count(*) FROM broadcast_recipient WHERE state = 'sending'"))[0][0]
                print(f"    SIGKILL after {run.killed_after:,} delivered; {run.in_flight_at_kill} recipient(s) in flight", flush=True)
                proc = start_bot(env, workdir, log)
            if proc.poll() is not None:
                raise RuntimeError(f"the bot exited with {proc.returncode}; see {log}")
            status = (await asyncio.to_thread(query, engine, "SELECT status FROM broadcast WHERE id = :b", b=bid))[0][0]
            if status == "done":
                break
        peak = max(peak, peak_rss_mb(proc.pid))
        await asyncio.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        await fake.stop()

    sends = sorted((s for s in fake.sent if is_broadcast(s)), key=lambda s: s.at)
    per_chat = collections.Counter(s.chat_id for s in sends)
    all_chats = {str(FIRST_CHAT + i) for i in range(run.subscribers)}
    run.delivered = len(sends)
    run.once = sum(1 for c in all_chats if per_chat.get(c) == 1)
    run.twice_or_more = sum(1 for c in all_chats if per_chat.get(c, 0) > 1)
    run.never = sum(1 for c in all_chats if c not in per_chat)
    times = [s.at for s in sends]
    if run.kill and run.killed_after:
        # The rate while sending: both halves, without the restart gap.
        a, b = times[: run.killed_after], times[run.killed_after :]
        busy = (a[-1] - a[0] if len(a) > 1 else 0) + (b[-1] - b[0] if len(b) > 1 else 0)
        run.duration_s = times[-1] - times[0]
        run.rate = (len(times) - 2) / busy if busy else 0.0
        run.min_window_rate = min(_min_window(a), _min_window(b))
    else:
        run.duration_s = times[-1] - times[0] if len(times) > 1 else 0.0
        run.rate = (len(times) - 1) / run.duration_s if run.duration_s else 0.0
        run.min_window_rate = _min_window(times)
    run.violations = dict(fake.violations)
    run.peak_rss_mb = peak
    row = query(engine, "SELECT sent, failed, blocked, skipped, unknown FROM broadcast WHERE id = :b", b=bid)[0]
    run.status_counts = dict(zip(("sent", "failed", "blocked", "skipped", "unknown"), row))
    run.unknown = run.status_counts["unknown"]
    engine.dispose()
    return run


def _min_window(times: list[float], window: float = 10.0) -> float:
    """The slowest full 10-second window (messages/s) between the first and last send."""
    if len(times) < 2 or times[-1] - times[0] < window:
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
    worst = float("inf")
    j = 0
    for i, t in enumerate(times):
        if t + window > times[-1]:
            break
        while j < len(times) and times[j] < t + window:
            j += 1
        worst = min(worst, (j - i) / window)
    return worst


# ------------------------------------------------------------------ report
def report(runs: list[Run], concurrency: int) -> bool:
    print()
    print(f"{'run':<30} {'subscribers':>11} {'delivered':>9} {'duration':>9} {'msg/s':>7} {'% of 30':>7} "
          f"{'min 10 s':>8} {'violations':>10} {'peak RSS':>9}")
    for r in runs:
        v = sum(r.violations.values())
        print(f"{r.name:<30} {r.subscribers:>11,} {r.delivered:>9,} {r.duration_s:>8.1f}s {r.rate:>7.2f} "
              f"{100 * r.rate / LIMIT:>6.1f}% {r.min_window_rate:>8.2f} {v:>10} {r.peak_rss_mb:>7.1f}MB")
    ok = True
    print()
    for r in runs:
        checks = [
            (f"{r.name}: sustained rate >= 95% of 30 msg/s", r.rate >= 0.95 * LIMIT),
            (f"{r.name}: zero limit violations (30/s overall, 1/s per chat)", not any(r.violations.values())),
        ]
        if r.kill:
            checks += [
                (f"{r.name}: nobody received the broadcast twice", r.twice_or_more == 0),
                (f"{r.name}: missing <= in-flight window ({concurrency}) and == rows left in flight",
                 r.never <= concurrency and r.never <= r.in_flight_at_kill),
            ]
        else:
            checks.append((f"{r.name}: every subscriber exactly once", r.once == r.subscribers))
        for name, passed in checks:
            ok &= passed
            print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    clean = [r for r in runs if not r.kill]
    if len(clean) >= 2:
        small, big = clean[0], clean[-1]
        growth = big.peak_rss_mb - small.peak_rss_mb
        flat = growth <= max(0.10 * small.peak_rss_mb, 10.0)
        ok &= flat
        print(f"  {'PASS' if flat else 'FAIL'}  peak RSS flat: {big.subscribers:,} subscribers {big.peak_rss_mb:.1f} MB vs "
              f"{small.subscribers:,} {small.peak_rss_mb:.1f} MB ({growth:+.1f} MB, {100 * growth / small.peak_rss_mb:+.1f}%)")
    for r in runs:
        if r.kill:
            print(f"\n  SIGKILL run: killed after {r.killed_after:,} of {r.subscribers:,} delivered; {r.in_flight_at_kill} recipient "
                  f"row(s) were in flight (`sending`) at the kill and were marked unknown on resume ({r.unknown}).")
            print(f"  After resume: {r.once:,} subscribers received exactly one copy, {r.twice_or_more} two or more, "
                  f"{r.never} none (in-flight window: at most {concurrency}).")
    return ok


async def main_async(args: argparse.Namespace) -> int:
    sizes = (300, 3000) if args.quick else (args.baseline, args.subscribers)
    from bot.config import Settings

    defaults = Settings(_env_file=None)  # type: ignore[call-arg]  # pydantic-settings' private init keyword
    concurrency = defaults.broadcast_concurrency
    print("ntm-bot broadcast benchmark: fake Telegram Bot API enforcing 30 msg/s overall and 1 msg/s per chat (429 on excess)")
    print(f"bot: separate process (`ntm-bot run`), {'PostgreSQL' if args.database_url else 'SQLite'}, "
          f"BROADCAST_TELEGRAM_RATE={defaults.broadcast_telegram_rate:g}, BROADCAST_CONCURRENCY={concurrency}, "
          f"TELEGRAM_GLOBAL_RATE={defaults.telegram_global_rate:g}")
    plan = [Run(f"clean, {sizes[0]:,}", sizes[0]), Run(f"clean, {sizes[1]:,}", sizes[1])]
    if not args.no_kill:
        plan.append(Run(f"SIGKILL at 50% + resume, {sizes[1]:,}", sizes[1], kill=True))
    runs = []
    with tempfile.TemporaryDirectory(prefix="ntm-bench-") as tmp:
        for i, run in enumerate(plan):
            print(f"\n  run {i + 1}/{len(plan)}: {run.name} (about {run.subscribers / defaults.broadcast_telegram_rate / 60:.0f} min)", flush=True)
            db_url = None
            if args.database_url:
                db_url = fresh_pg_database(args.database_url)
            runs.append(await run_one(run, Path(tmp) / f"run{i}", db_url, progress=not args.quiet))
    ok = report(runs, concurrency)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "broadcast.json").write_text(json.dumps([asdict(r) for r in runs], indent=2, ensure_ascii=False))
    print(f"\n{'ALL CHECKS PASSED' if ok else 'SOME CHECKS FAILED'} (details: bench/results/broadcast.json)")
    return 0 if ok else 1


def fresh_pg_database(admin_url: str) -> str:
    import uuid

    admin = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    name = f"ntm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--baseline", type=int, default=1_000, help="the smaller run memory is compared with")
    ap.add_argument("--quick", action="store_true", help="300 and 3,000 subscribers")
    ap.add_argument("--no-kill", action="store_true", help="skip the SIGKILL-and-resume run")
    ap.add_argument("--database-url", default="", help="PostgreSQL admin URL: each run gets a fresh database there")
    ap.add_argument("--quiet", action="store_true")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
