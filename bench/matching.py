"""Matching latency and start-up time.

    python -m bench.matching            (or: make bench)

Prints per-message latency of `knowledge.understand.understand` (what a citizen's text costs: small talk, computed
answers, reading, both retrievers, the calibrated model, the second look at a long message's clauses, the
complaint check) on the real
knowledge base and on a copy scaled x10 with synthetic paraphrases (x100 with --x100), the memory the whole
knowledge base takes once indexed (matcher, BM25, reader, decision model), and the process start-up time of
`ntm-bot ask` (one question, measured end to end as a citizen's first answer would be).
"""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from knowledge.kb import KnowledgeBase
from knowledge.schema import Entry

ROOT = Path(__file__).resolve().parent.parent
# Words to perturb synthetic paraphrases with: plausible citizen words, so postings grow like real content.
NOISE = ("xa", "ap", "nguoi", "dan", "hoi", "ve", "viec", "lam", "nha", "nuoc", "tinh", "huyen", "ban", "ho", "so",
         "san", "pham", "tieu", "chi", "moi", "gia", "dinh", "duong", "thon", "kinh", "te", "dat", "chuan")


def synthetic(kb: KnowledgeBase, factor: int, seed: int = 1) -> KnowledgeBase:
    """The real entries plus (factor - 1) perturbed copies of each (new ids, shuffled/extended paraphrases)."""
    rng = random.Random(seed)
    entries: list[Entry] = list(kb.entries.values())
    for k in range(1, factor):
        for e in kb.entries.values():
            qs = []
            for q in e.questions:
                words = q.split()
                rng.shuffle(words)
                words = words[: max(3, len(words) - rng.randint(0, 2))] + rng.sample(NOISE, 2)
                qs.append(" ".join(words))
            entries.append(e.model_copy(update={"id": f"{e.id}.s{k}", "questions": qs, "see_also": []}))
    return KnowledgeBase.from_entries(entries)


def questions(kb: KnowledgeBase) -> list[str]:
    qs = [q for e in kb.entries.values() for q in e.questions]
    reg = ROOT / "tests" / "data" / "regression.jsonl"
    if reg.exists():
        qs += [json.loads(line)["q"] for line in reg.read_text(encoding="utf-8").splitlines() if line.strip()]
    long_msg = ("Chào ad, nhà em ở ấp Hòa Long, năm nay trồng lúa được mùa. Em có nghe loa xã nói nhiều về chương "
                "trình. Em muốn hỏi là hộ nghèo có phải đóng góp tiền làm đường nông thôn mới không ạ? Cảm ơn ad.")
    return qs + [long_msg] * 5


def measure(kb: KnowledgeBase, qs: list[str]) -> dict[str, float]:
    from knowledge.normalize import content_tokens, fold, tokens

    for fn in (fold, tokens, content_tokens):
        fn.cache_clear()  # measure cold normalisation, as for a new citizen's question
    import datetime as dt

    from knowledge.understand import understand

    today = dt.date.today()
    times = []
    for q in qs:
        t0 = time.perf_counter()
        understand(kb, q, today)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "n": len(times),
        "p50": statistics.median(times),
        "p99": times[int(0.99 * (len(times) - 1))],
        "max": times[-1],
    }


def matcher_memory(build: Callable[[], object]) -> float:
    tracemalloc.start()
    obj = build()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del obj
    return current / 1e6


def startup(runs: int = 5) -> dict[str, float]:
    exe = [sys.executable, "-m", "bot.cli", "ask", "ocop 4 sao la bao nhieu diem"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(exe, capture_output=True, check=True, cwd=ROOT, env=dict(os.environ))
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times)}


def main() -> None:
    kb = KnowledgeBase.load()
    qs = questions(kb)
    print(f"Knowledge base: {len(kb.entries)} entries, {sum(len(e.questions) for e in kb.entries.values())} paraphrases; "
          f"{len(qs)} benchmark questions")
    print(f"{'knowledge base':<22}{'entries':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'memory MB':>11}")
    for factor in (1, 10, 100) if "--x100" in sys.argv else (1, 10):
        t0 = time.perf_counter()
        big = kb if factor == 1 else synthetic(kb, factor)
        build_s = time.perf_counter() - t0
        mem = matcher_memory(lambda: KnowledgeBase.from_entries(big.entries.values()))
        m = measure(big, qs)
        label = "real" if factor == 1 else f"x{factor} synthetic"
        print(f"{label:<22}{len(big.entries):>8}{m['p50']:>9.2f}{m['p99']:>9.2f}{m['max']:>9.2f}{mem:>11.1f}"
              f"   (built in {build_s:.1f}s)")
    s = startup()
    print(f"start-up of `ntm-bot ask` (one question, whole process): median {s['median_s'] * 1000:.0f} ms, "
          f"best {s['min_s'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
