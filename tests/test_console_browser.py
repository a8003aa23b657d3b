"""The officers' console in a real browser (Playwright driving Debian's Chromium) against a real `ntm-bot run`
with the fake Telegram API: a Telegram citizen's report reaches the inbox of its commune's officer and not the
other commune's; the officer answers from the browser and the citizen receives it on Telegram; the same ticket
is closed from the Telegram staff group and the open page shows it closed (live update, no reload by hand).
Phone and desktop widths, no console error, no request to another host, axe-core's WCAG 2.1 AA rules.

UPDATE_SCREENSHOTS=1 writes docs/canbo-phone.png and docs/canbo-desktop.png (the README shows them)."""
from __future__ import annotations

import os

import pytest

from tests.console_helpers import PASSWORD, console_bot, make_accounts
from tests.instances import ROOT
from tests.test_results_browser import CHROMIUM, WCAG, WIDTHS, _browser_or_skip
from tests.tickets_helpers import OFFICER, STAFF, Driver, Person, file_report


@pytest.fixture
async def console(tmp_path, fake_tg):
    _browser_or_skip()
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    make_accounts(url, tmp_path / "cli")
    bot = console_bot(tmp_path, fake_tg, url)
    bot.start()
    try:
        await bot.wait_ready()
        yield bot
    finally:
        bot.stop_now()


async def login(page, base: str, login: str) -> None:
    await page.goto(base + "/canbo", wait_until="networkidle")
    await page.fill("#login", login)
    await page.fill("#password", PASSWORD)
    await page.click("form.login button")
    await page.wait_for_url("**/canbo/hop-thu")


async def test_report_reply_close_in_chromium(console, fake_tg, tmp_path):
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    bot = console
    d = Driver(fake_tg, port=bot.port)
    farmer = Person(d, 4201, name="Nông Dân")
    code = await file_report(farmer, description="Cống thoát nước ấp Mỹ An bị nghẽn, nước tràn vào nhà dân",
                             place="xa my khanh", contact=("Nguyễn Văn Ba", "0912345678"))
    shots = ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # the other commune's officer: not in the inbox, refused by URL
            other = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
            op = await other.new_page()
            await login(op, bot.url, "binh.longxuyen")
            assert await op.locator(f"li.ticket[data-code='{code}']").count() == 0
            resp = await op.goto(bot.url + f"/canbo/phan-anh/{int(code[3:])}")
            assert resp is not None and resp.status == 403
            assert "Cống thoát nước" not in await op.content()
            await other.close()

            for name, (w, h) in WIDTHS.items():
                context = await browser.new_context(viewport={"width": w, "height": h}, locale="vi-VN")
                page = await context.new_page()
                errors: list[str] = []
                requests: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                await login(page, bot.url, "an.binhduc")
                row = page.locator(f"li.ticket[data-code='{code}']")
                assert await row.count() == 1
                assert "Phường Bình Đức" in await row.inner_text()
                overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
                assert await page.evaluate(overflow) <= 0, name
                results = await Axe().run(page, options=WCAG)
                assert results.violations_count == 0, results.generate_report()
                await page.screenshot(path=str(shots / f"canbo-{name}-hop-thu.png"), full_page=True)
                await row.locator("a").click()
                await page.wait_for_url(f"**/canbo/phan-anh/{int(code[3:])}")
                assert "09xx xxx 678" in await page.inner_text("dl.facts")  # masked
                assert "0912345678" not in await page.content()
                assert await page.evaluate(overflow) <= 0, name
                results = await Axe().run(page, options=WCAG)
                assert results.violations_count == 0, results.generate_report()
                await page.screenshot(path=str(shots / f"canbo-{name}.png"), full_page=True)
                # the dashboard: charts drawn on the server, accessible, fits the width
                await page.goto(bot.url + "/canbo/thong-ke", wait_until="networkidle")
                assert await page.locator("svg.chart rect").count() >= 24
                assert await page.evaluate(overflow) <= 0, name
                results = await Axe().run(page, options=WCAG)
                assert results.violations_count == 0, results.generate_report()
                await page.screenshot(path=str(shots / f"canbo-thong-ke-{name}.png"), full_page=True)
                await page.goto(bot.url + f"/canbo/phan-anh/{int(code[3:])}", wait_until="networkidle")
                assert not errors, errors
                assert all(u.startswith(bot.url + "/") for u in requests), requests
                if name == "phone":
                    await context.close()
                    continue

                # desktop: answer from the browser; the citizen receives it on Telegram
                await page.fill("#noi-dung-tra-loi", "Xã đã cử tổ công tác nạo vét cống trong tuần này.")
                await page.click("#tra-loi button")
                await page.wait_for_selector("p.flash")
                assert "Đã gửi câu trả lời" in await page.inner_text("p.flash")
                assert "Đang xử lý" in await page.inner_text("h1")
                msg = await farmer.expect("nạo vét cống")
                assert code in msg.text and "Nguyễn Văn An" not in msg.text  # the agency answers, not the officer
                # closed from the Telegram staff group: the open page shows it closed by itself
                officer = Person(d, STAFF, user_id=OFFICER, name="Cán Bộ")
                await officer.say(f"/close {code} Đã nạo vét xong cống ấp Mỹ An")
                await farmer.expect("Đã nạo vét xong")
                await page.wait_for_function("() => document.querySelector('h1').textContent.includes('Đã đóng')",
                                             timeout=15_000)
                assert "Đã nạo vét xong cống ấp Mỹ An" in await page.inner_text("ol.timeline")
                assert await page.locator("form[action$='/mo-lai']").count() == 1
                assert not errors, errors
                await context.close()
        finally:
            await browser.close()
