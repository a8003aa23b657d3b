"""The public results page in a real browser (Playwright driving Debian's Chromium) against a real `ntm-bot run`:
phone and desktop widths, the figures planted, no console error, no request to another host, axe-core's WCAG 2.1
AA rules, 200 % text, the month picker without JavaScript, the keyboard's first stop.

Screenshots go to the test's temporary directory; UPDATE_SCREENSHOTS=1 writes docs/congkhai-phone.png and
docs/congkhai-desktop.png (the README shows them)."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from bot.features.tickets import service as ticketing
from bot.storage.db import Database
from tests.conftest import make_settings
from tests.instances import ROOT, BotProcess
from tests.results_helpers import expected, month_start, plant, vn_int

CHROMIUM = "/usr/bin/chromium"
REQUIRE = os.environ.get("NTM_REQUIRE_BROWSER") == "1"
WIDTHS = {"phone": (360, 780), "desktop": (1280, 900)}
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, "resultTypes": ["violations"]}


def _browser_or_skip() -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        if REQUIRE:
            pytest.fail("playwright is required (NTM_REQUIRE_BROWSER=1): pip install -e '.[dev]'")
        pytest.skip("playwright not installed")
    if not Path(CHROMIUM).exists():
        if REQUIRE:
            pytest.fail(f"{CHROMIUM} is required (NTM_REQUIRE_BROWSER=1): apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not installed")


@pytest.fixture
async def results_bot(tmp_path, fake_tg):
    """`ntm-bot run` on a SQLite database where four months of reports were planted."""
    _browser_or_skip()
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    settings = make_settings(tmp_path, database_url=url)
    db = Database(url)
    db.migrate()
    now = dt.datetime.now(dt.timezone.utc)
    planted = db.call(plant, settings, now)
    db.dispose()
    bot = BotProcess(tmp_path / "bot", fake_base_url=fake_tg.base_url, token=fake_tg.token, database_url=url,
                     kb_dir=ROOT / "tests" / "data" / "kb")
    bot.start()
    try:
        await bot.wait_ready()
        yield bot, planted, ticketing.local_date(now)
    finally:
        bot.stop_now()


async def test_results_page_in_chromium_phone_and_desktop(results_bot, tmp_path):
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    bot, planted, today = results_bot
    want = expected(planted, month_start(today, 0))
    shots = ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for name, (w, h) in WIDTHS.items():
                context = await browser.new_context(viewport={"width": w, "height": h}, locale="vi-VN")
                page = await context.new_page()
                errors: list[str] = []
                requests: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                response = await page.goto(bot.url + "/congkhai", wait_until="networkidle")
                assert response is not None and response.status == 200
                assert await page.title() == f"Công khai kết quả giải quyết phản ánh, tháng {today.month:02d}/{today.year}"
                # the figures, as a person reads them
                assert vn_int(await page.inner_text("[data-figure=total]")) == want["total"]
                for status, n in want["status"].items():
                    assert vn_int(await page.inner_text(f"td[data-status={status}]")) == n
                assert await page.locator("svg.chart rect").count() >= 24
                assert await page.locator("article.report").count() == sum(
                    1 for p in planted if p.status != "new" and ticketing.local_date(p.created).replace(day=1) == month_start(today, 0))
                # the stylesheet applied (a CSP mistake would drop it silently)
                assert await page.eval_on_selector("header.top", "e => getComputedStyle(e).backgroundColor") == "rgb(15, 76, 42)"
                # fits the width: no sideways scrolling, at 100 % and at 200 % text
                overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
                assert await page.evaluate(overflow) <= 0, name
                # every table open, then axe-core's WCAG 2.1 A/AA rules (contrast, labels, names, structure)
                await page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
                results = await Axe().run(page, options=WCAG)
                assert results.violations_count == 0, results.generate_report()
                await page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = false)")
                await page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
                assert await page.evaluate(overflow) <= 0, f"{name} at 200 % text"
                big = await page.eval_on_selector("[data-figure=total]", "e => parseFloat(getComputedStyle(e).fontSize)")
                assert big >= 55  # 1.75rem of 32 px
                # the keyboard: the first Tab reaches the skip link, which leads to the content
                await page.evaluate("() => { document.documentElement.style.fontSize = ''; }")
                await page.keyboard.press("Tab")
                assert await page.evaluate("() => document.activeElement.textContent") == "Bỏ qua, đến nội dung chính"
                # the picture for the README: a month with more reports
                await page.goto(bot.url + f"/congkhai?thang={month_start(today, 2):%Y-%m}", wait_until="networkidle")
                tall = {"clip": {"x": 0, "y": 0, "width": w, "height": 2000}} if name == "phone" else {}
                await page.screenshot(path=str(shots / f"congkhai-{name}.png"), full_page=True, **tall)
                assert not errors, errors
                assert requests and all(u.startswith(bot.url + "/") for u in requests), requests
                await context.close()

            # the month picker works without JavaScript (a plain GET form)
            context = await browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 780})
            page = await context.new_page()
            await page.goto(bot.url + "/congkhai")
            earlier = month_start(today, 2)
            await page.select_option("#thang", f"{earlier:%Y-%m}")
            await page.click("form.period button")
            await page.wait_for_url(f"**/congkhai?thang={earlier:%Y-%m}")
            assert vn_int(await page.inner_text("[data-figure=total]")) == expected(planted, earlier)["total"]
            assert await page.input_value("#thang") == f"{earlier:%Y-%m}"
            await context.close()
        finally:
            await browser.close()
    for name in WIDTHS:
        assert (shots / f"congkhai-{name}.png").stat().st_size > 10_000


def test_chromium_is_where_the_tests_expect_it():
    """The CI script installs Debian's chromium; locally the browser test says why it skips."""
    if REQUIRE:
        assert shutil.which("chromium") or Path(CHROMIUM).exists()
