"""The shipped proxy configs, through real proxies: deploy/nginx.conf (`nginx -t`, then requests) and deploy/Caddyfile
(`caddy validate`, then requests). Each webhook (Telegram, Zalo Bot, Zalo OA) reaches the bot and is stored;
health and metrics stay private (404).

The files are used as shipped, with only what cannot run here rewritten: the listening address (a free local
port, plain HTTP: no certificate), the upstream ports (the test bot's), and, for Caddy, the admin endpoint off.
Skipped with the reason when nginx or caddy is not installed; CI installs both (.ci/run) and sets
NTM_REQUIRE_PROXIES=1, so there a missing proxy fails instead of skipping.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from bot.storage.models import InboundEvent
from tests.conftest import MINI_KB, ZALO_SECRET, free_port, make_settings

ROOT = Path(__file__).resolve().parent.parent
REQUIRE = os.environ.get("NTM_REQUIRE_PROXIES") == "1"
TG_SECRET = "deploy-Secret_1"


def need(binary: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if path is None:
        if REQUIRE:
            pytest.fail(f"{binary} is required here (NTM_REQUIRE_PROXIES=1) but not installed")
        pytest.skip(f"{binary} not installed (apt-get install {'nginx-light' if binary == 'nginx' else binary}; "
                    f"CI installs it)")
    return path


@pytest.fixture
async def bot(tmp_path, fake_tg, fake_zalo, fake_zalo_oa, make_app):
    access, refresh = fake_zalo_oa.issue_tokens()
    s = make_settings(
        tmp_path, kb_dir=MINI_KB, http_port=free_port(),
        telegram_bot_token=fake_tg.token, telegram_api_base_url=fake_tg.base_url, telegram_mode="webhook",
        telegram_webhook_secret=TG_SECRET,
        zalo_bot_token=fake_zalo.token, zalo_bot_api_base_url=fake_zalo.base_url, zalo_bot_mode="webhook",
        zalo_bot_webhook_secret=ZALO_SECRET,
        zalo_oa_app_id=fake_zalo_oa.app_id, zalo_oa_app_secret=fake_zalo_oa.app_secret,
        zalo_oa_secret_key=fake_zalo_oa.oa_secret_key, zalo_oa_access_token=access, zalo_oa_refresh_token=refresh,
        zalo_oa_api_base_url=fake_zalo_oa.base_url, zalo_oauth_base_url=fake_zalo_oa.base_url,
    )
    return await make_app(s)


async def _wait_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"proxy exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError("proxy not listening")


async def _through(proxy_url: str, app, fake_tg, fake_zalo, fake_zalo_oa) -> None:
    """Each webhook through the proxy is answered 200 and stored; the private routes are 404."""
    async with aiohttp.ClientSession() as http:
        tg = fake_tg.make_message(9101, "OCOP là gì?")
        async with http.post(proxy_url + "/telegram/webhook", json=tg,
                             headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}) as r:
            assert r.status == 200, await r.text()
        async with http.post(proxy_url + "/zalo/webhook", json={"ok": True, "result": fake_zalo.text("a" * 20, "OCOP là gì?")},
                             headers={"X-Bot-Api-Secret-Token": ZALO_SECRET}) as r:
            assert r.status == 200, await r.text()
        event = fake_zalo_oa.text_event("5800000000000000001", "OCOP là gì?")
        raw = json.dumps(event, ensure_ascii=False).encode()
        async with http.post(proxy_url + "/zalo-oa/webhook", data=raw, headers={
                "Content-Type": "application/json", "X-ZEvent-Signature": fake_zalo_oa.sign(raw, event["timestamp"])}) as r:
            assert r.status == 200, (r.status, await r.text())  # nginx's `location /zalo/` answered 404 here
        for private in ("/healthz", "/readyz", "/metrics"):
            async with http.get(proxy_url + private) as r:
                assert r.status == 404, private
        for public in ("/congkhai", "/congkhai/style.css", "/congkhai/icon.svg"):  # the results page (issue 18)
            async with http.get(proxy_url + public) as r:
                assert r.status == 200 and "default-src 'none'" in r.headers["Content-Security-Policy"], public
        async with http.post(proxy_url + "/congkhai", data=b"x") as r:
            assert r.status in (403, 404, 405), r.status
        for console in ("/canbo/dang-nhap", "/canbo/static/style.css"):  # the officers' console (issue 19)
            async with http.get(proxy_url + console) as r:
                assert r.status == 200 and "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], console
    stored = app.db.call(lambda s: sorted(s.execute(sa.select(InboundEvent.channel)).scalars().all()))
    assert stored == ["telegram", "zalo", "zalo_oa"]


async def _chat_through(proxy_url: str, app, secure: bool) -> None:
    """The web chat through the proxy: the page with its cookie (Secure when the proxy says HTTPS and the bot
    trusts it), and its live stream unbuffered (the first events arrive while the stream stays open)."""
    app.settings.web_trust_proxy = True
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(proxy_url + "/chat") as r:
                assert r.status == 200 and "csrf-token" in await r.text()
                cookie = r.headers["Set-Cookie"]
            assert ("; Secure" in cookie) == secure, cookie
            value = cookie.split(";", 1)[0]
            async with http.get(proxy_url + "/chat/events", headers={"Cookie": value}) as r:
                assert r.status == 200 and r.content_type == "text/event-stream"
                seen = b""
                async with asyncio.timeout(5):
                    while b"event: ready" not in seen:
                        seen += await r.content.readline()
            async with http.get(proxy_url + "/chat/widget.js") as r:
                assert r.status == 200 and "ntm-chat-button" in await r.text()
    finally:
        app.settings.web_trust_proxy = False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def nginx_config(tmp: Path, listen: int, upstream: int) -> Path:
    server = (ROOT / "deploy" / "nginx.conf").read_text()
    server = re.sub(r"listen 443 ssl[^;]*;", f"listen 127.0.0.1:{listen};", server)
    server = re.sub(r"\n\s*ssl_certificate(_key)? [^;]+;", "", server)
    server = re.sub(r"server 127\.0\.0\.1:8080 ", f"server 127.0.0.1:{upstream} ", server)
    server = re.sub(r"\n\s*server 127\.0\.0\.1:8081 [^\n]*", "", server)
    assert f"127.0.0.1:{listen}" in server and f"127.0.0.1:{upstream}" in server, "the shipped file changed shape"
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{server}
}}
""")
    return conf


async def test_nginx_passes_every_webhook(tmp_path, bot, fake_tg, fake_zalo, fake_zalo_oa):
    nginx = need("nginx")
    port = free_port()
    conf = nginx_config(tmp_path, port, bot.settings.http_port)
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    log = tmp_path / "error.log"
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        await _wait_port(port, proc, log)
        await _through(f"http://127.0.0.1:{port}", bot, fake_tg, fake_zalo, fake_zalo_oa)
        await _chat_through(f"http://127.0.0.1:{port}", bot, secure=True)  # the block says X-Forwarded-Proto https
    finally:
        _stop(proc)


async def test_caddy_passes_every_webhook(tmp_path, bot, fake_tg, fake_zalo, fake_zalo_oa):
    caddy = need("caddy")
    port = free_port()
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    text = text.replace("bot.example.gov.vn {", "{\n\tadmin off\n}\n\nhttp://127.0.0.1:%d {" % port, 1)
    text = text.replace("127.0.0.1:8080 127.0.0.1:8081", f"127.0.0.1:{bot.settings.http_port}")
    assert f"127.0.0.1:{bot.settings.http_port}" in text, "the shipped file changed shape"
    conf = tmp_path / "Caddyfile"
    conf.write_text(text)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    check = subprocess.run([caddy, "validate", "--config", str(conf), "--adapter", "caddyfile"], capture_output=True,
                           text=True, timeout=60, env=env)
    assert check.returncode == 0, check.stderr[-2000:]
    log = tmp_path / "caddy.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([caddy, "run", "--config", str(conf), "--adapter", "caddyfile"], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
    try:
        await _wait_port(port, proc, log)
        await _through(f"http://127.0.0.1:{port}", bot, fake_tg, fake_zalo, fake_zalo_oa)
        await _chat_through(f"http://127.0.0.1:{port}", bot, secure=False)  # plain HTTP here: Caddy says http
    finally:
        _stop(proc)
