"""`make run` with no token at all: the terminal chat, and beside it the web chat on the embedded default address
(printed at start-up), on the same core and database."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import aiohttp

from tests.conftest import MINI_KB
from tests.instances import ROOT, free_port
from tests.test_web_security import Browser


async def test_run_without_tokens_serves_the_web_chat_beside_the_terminal(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "DATABASE_", "HTTP_"))}
    env.update({"DATA_DIR": str(tmp_path), "KB_DIR": str(MINI_KB), "HTTP_PORT": str(port), "KB_RETRAIN": "false",
                "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, cwd=tmp_path, text=True)
    try:
        assert proc.stdout is not None
        banner = ""
        deadline = time.monotonic() + 30
        while "/chat" not in banner and time.monotonic() < deadline:
            banner += proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/chat" in banner, banner
        b = Browser(f"http://127.0.0.1:{port}")
        try:
            for _ in range(100):  # the line is printed just before the server starts listening
                try:
                    await b.open()
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            status, body = await b.say("OCOP là gì?")
            assert status == 200 and body == {"ok": True}

            async def answer() -> str:
                async with b.http.get(b.base + "/chat/events") as r:
                    async for line in r.content:
                        if line.startswith(b"data: "):
                            m = json.loads(line[6:])
                            if m.get("who") == "bot" and "Mỗi xã một sản phẩm" in m.get("text", ""):
                                return m["text"]
                return ""

            assert "phát triển kinh tế" in await asyncio.wait_for(answer(), 20)
        finally:
            await b.close()
        proc.stdin.write("OCOP là gì?\n")  # the terminal chat is still there
        proc.stdin.close()
        out = proc.stdout.read()  # until the process ends (EOF on its stdin ends the chat)
        proc.wait(timeout=30)
        assert proc.returncode == 0
        assert "phát triển kinh tế" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
