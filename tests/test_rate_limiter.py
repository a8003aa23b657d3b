"""The shared rate limiter: replies to people chatting get the next slot before broadcast sends; pacing is even."""
from __future__ import annotations

import asyncio
import time

from bot.kernel.outbox import PRIORITY_BROADCAST, PRIORITY_CONVERSATION, Limit, Pacer, RateLimiter, SlidingWindow


async def test_conversation_overtakes_waiting_broadcast_sends():
    window = SlidingWindow(1, 0.05)
    await window.acquire()  # the window is full now
    order: list[str] = []

    async def take(name: str, priority: int) -> None:
        await window.acquire(priority)
        order.append(name)

    tasks = [asyncio.create_task(take(f"broadcast-{i}", PRIORITY_BROADCAST)) for i in range(4)]
    await asyncio.sleep(0)  # the broadcast sends are queued first …
    tasks.append(asyncio.create_task(take("reply", PRIORITY_CONVERSATION)))  # … a reply arrives later
    await asyncio.gather(*tasks)
    assert order[0] == "reply" and order[1:] == [f"broadcast-{i}" for i in range(4)]


async def test_window_never_exceeds_its_limit_and_survives_cancelled_waiters():
    window = SlidingWindow(3, 0.1)
    stamps: list[float] = []

    async def take() -> None:
        await window.acquire(PRIORITY_BROADCAST)
        stamps.append(time.monotonic())

    doomed = asyncio.create_task(asyncio.sleep(0))
    tasks = [asyncio.create_task(take()) for _ in range(9)]
    await asyncio.sleep(0)
    waiter = asyncio.create_task(window.acquire())
    await asyncio.sleep(0)
    waiter.cancel()  # a cancelled waiter must not block the others
    await asyncio.gather(*tasks, doomed)
    stamps.sort()
    for i in range(len(stamps) - 3):
        assert stamps[i + 3] - stamps[i] >= 0.1 - 1e-3  # any 4 consecutive events span a full period


async def test_pacer_spacing_and_rate():
    interval = 0.01
    pacer = Pacer(interval)
    stamps: list[float] = []

    async def sender() -> None:  # several senders share the pacer, like the broadcast pump's tasks
        for _ in range(5):
            await pacer.acquire(PRIORITY_BROADCAST)
            stamps.append(time.monotonic())

    await asyncio.gather(*(sender() for _ in range(8)))
    stamps.sort()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert min(gaps) >= interval * 0.75 - 2e-4  # never a burst, even after a late wake-up
    assert stamps[-1] - stamps[0] >= 39 * interval - interval  # never faster than the rate


async def test_idle_per_chat_windows_are_forgotten():
    limiter = RateLimiter()
    for i in range(600):
        await limiter.acquire("telegram", [Limit(f"tg:chat:{i}", 1, 0.001)])
    await asyncio.sleep(0.01)
    limiter._last_cleanup = 0  # due for a cleanup
    await limiter.acquire("telegram", [Limit("tg:chat:last", 1, 0.001)])
    assert len(limiter.windows) < 10  # memory stays flat however many chats a broadcast reaches


async def test_a_send_holds_its_slot_until_the_platform_answered():
    """The platform counts a message when it arrives, somewhere between our request and its answer: a
    slot counts until the answer, so a stall on the way cannot squeeze two windows' worth into one."""
    limiter = RateLimiter()
    limits = [Limit("tg:all", 2, 0.05)]
    stamps: dict[str, float] = {}

    async def send(name: str, takes: float) -> None:
        async with limiter.sending("telegram", limits):
            stamps[name] = time.monotonic()
            await asyncio.sleep(takes)  # the request is on its way (a slow network, a pause)
        stamps[name + ".done"] = time.monotonic()

    slow = asyncio.create_task(send("slow", 0.2))
    await asyncio.sleep(0)
    await send("quick", 0.0)
    third = asyncio.create_task(send("third", 0.0))
    fourth = asyncio.create_task(send("fourth", 0.0))
    await asyncio.gather(slow, third, fourth)
    # "third" waits a period after "quick" answered; "fourth" a period after "slow" answered.
    assert stamps["third"] - stamps["quick.done"] >= 0.05 - 1e-3
    assert stamps["fourth"] - stamps["slow.done"] >= 0.05 - 1e-3
