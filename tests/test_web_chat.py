"""The web chat in a real browser (Chromium through Playwright) against a real `ntm-bot run`: questions, buttons,
a report with a photo, an officer's answer arriving live from the Telegram staff group, history after the tab
was closed, the widget on a page of another origin."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from tests.instances import post_update
from tests.tickets_helpers import OFFICER, STAFF, plain
from tests.web_helpers import (
    CODE_RE,
    DESKTOP,
    PHONE,
    bot_count,
    need_browser,
    next_bot,
    press,
    say,
    shot_path,
    wait_bot,
    web_bot,
)

ANSWER = "Mỗi xã một sản phẩm"  # the mini KB's answer to "OCOP là gì?"


@pytest.fixture
async def browser():
    need_browser()
    from playwright.async_api import async_playwright

    from tests.web_helpers import CHROMIUM

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


@pytest.fixture
async def bot(tmp_path, fake_tg):
    b = web_bot(tmp_path, fake_tg).start()
    try:
        await b.wait_ready()
        yield b
    finally:
        b.stop_now()


async def test_question_answer_buttons_typed_number_and_history_after_closing(bot, browser, tmp_path):
    context = await browser.new_context(viewport=PHONE, locale="vi-VN")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await page.goto(bot.url + "/chat")
    await wait_bot(page, "Xin chào")  # the greeting, asked for by the page on a first visit
    assert not await page.locator("#log .msg.me").count()  # the hidden "/start" is not shown as the citizen's words
    menu = page.locator("#log .msg.bot .choices button")
    assert await menu.count() >= 3  # the menu's choices are real buttons
    assert await menu.first.evaluate("b => b.tagName") == "BUTTON"

    n = await bot_count(page)
    await say(page, "OCOP là gì?")
    assert ANSWER in await (await next_bot(page, n)).inner_text()
    me = page.locator("#log .msg.me", has_text="OCOP là gì?")
    await me.wait_for()
    assert "đang gửi" not in (await me.inner_text())

    # a question between two entries: suggestions as buttons; pressing one answers it
    n = await bot_count(page)
    await say(page, "ocop sao diem")
    suggestions = await next_bot(page, n)
    assert "sao" in await suggestions.inner_text(), await suggestions.inner_text()
    buttons = suggestions.locator(".choices button")
    label = await buttons.first.inner_text()
    assert "sao" in label.lower(), label
    n = await bot_count(page)
    await buttons.first.click()
    await page.locator("#log .msg.me", has_text=label).wait_for()  # the press shows as the citizen's choice
    answer = await next_bot(page, n)
    assert "điểm" in await answer.inner_text()

    # HTML and script are shown as the characters typed, never run or rendered
    evil = '<img src=x onerror="document.title=1"><b>đậm</b><script>document.title=2</script>'
    await say(page, evil)
    mine = page.locator("#log .msg.me", has_text="onerror")
    await mine.wait_for()
    assert evil in await mine.inner_text()
    assert not await page.locator("#log img, #log b, #log script").count()
    assert await page.title() not in ("1", "2")

    # a typed number chooses the newest message's button, as on Zalo
    await say(page, "/phananh")
    await wait_bot(page, "Bước 1/5")
    await say(page, "1")
    await wait_bot(page, "Bước 2/5")
    await page.screenshot(path=shot_path(tmp_path, "web-chat-phone.png"), full_page=False)
    assert not problems, problems  # no CSP violation, no script error
    assert requested and all(u.startswith(bot.url + "/chat") for u in requested), requested  # nothing from elsewhere
    await context.close()


async def test_history_is_there_after_the_tab_was_closed_and_a_reply_queued_meanwhile(bot, browser, tmp_path):
    context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = await context.new_page()
    await page.goto(bot.url + "/chat")
    await wait_bot(page, "Xin chào")
    await say(page, "OCOP là gì?")
    await wait_bot(page, "phát triển kinh tế nông thôn")
    await page.close()  # the tab is closed; the browser (its cookie jar) is not

    page = await context.new_page()
    await page.goto(bot.url + "/chat")
    await wait_bot(page, "phát triển kinh tế nông thôn")
    assert await page.locator("#log .msg.me", has_text="OCOP là gì?").count() == 1
    assert await page.locator("#log .msg.bot", has_text="Xin chào").count() == 1  # not greeted twice
    await page.screenshot(path=shot_path(tmp_path, "web-chat-desktop.png"), full_page=False)
    await context.close()

    # another browser is somebody else: none of it is shown there
    other = await browser.new_context(viewport=PHONE)
    page = await other.new_page()
    await page.goto(bot.url + "/chat")
    await wait_bot(page, "Xin chào")
    assert not await page.locator("#log .msg.me").count()
    await other.close()


async def test_report_with_photo_gets_a_code_and_the_officers_answer_arrives_live(bot, browser, fake_tg, tmp_path):
    from PIL import Image

    from tests.web_helpers import jpeg_with_gps

    photo_file = tmp_path / "o-ga.jpg"
    photo_file.write_bytes(jpeg_with_gps())
    context = await browser.new_context(viewport=PHONE, locale="vi-VN", permissions=["geolocation"],
                                        geolocation={"latitude": 10.3721, "longitude": 105.4324})
    page = await context.new_page()
    consent: list[str] = []

    async def agree(dialog):  # the page asks before it reads the position
        consent.append(dialog.message)
        await dialog.accept()

    page.on("dialog", agree)
    await page.goto(bot.url + "/chat")
    await wait_bot(page, "Xin chào")
    await say(page, "/phananh")
    await wait_bot(page, "Bước 1/5")
    await press(page, "Giao thông")
    await wait_bot(page, "Bước 2/5")
    await page.set_input_files("#photo", str(photo_file))
    await wait_bot(page, "Đã nhận 1 tệp/ảnh")
    shown = page.locator("#log .msg.me img")
    await shown.first.wait_for()
    assert (await shown.first.get_attribute("src")).startswith("/chat/media/")
    await page.click("#location")
    await wait_bot(page, "Đã nhận 2 tệp/ảnh")
    assert consent and "vị trí" in consent[0]
    await say(page, "Ổ gà lớn giữa đường ấp 3, xe máy té mấy lần rồi")
    await wait_bot(page, "Bước 3/5")
    await say(page, "xa my khanh")
    await wait_bot(page, "Bước 4/5")
    await press(page, "Bỏ qua")
    await wait_bot(page, "Bước 5/5")
    await press(page, "Gửi ẩn danh")
    await wait_bot(page, "Xem lại phản ánh")
    await press(page, "Gửi phản ánh")
    await wait_bot(page, "Đã tiếp nhận phản ánh")
    receipt = await page.locator("#log .msg.bot", has_text="Đã tiếp nhận phản ánh").inner_text()
    code = CODE_RE.search(receipt).group(0)
    key_box = page.locator("#log .msg.bot .lookup")
    secret = await key_box.locator("strong").inner_text()
    assert code in await key_box.inner_text() and len(secret) == 11

    # the officers' group got the card and the photo, by an address Telegram can fetch
    cards = await fake_tg.wait_for(lambda m: m.chat_id == str(STAFF) and f"🆕 {code}" in plain(m.text))
    assert "trang web" in plain(cards[0].text)
    photos = await fake_tg.wait_for(lambda m: m.chat_id == str(STAFF) and m.method == "sendPhoto")
    url = str(photos[0].params["photo"])
    assert url.startswith(bot.url + "/chat/media/")
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 200 and r.content_type == "image/jpeg"
            body = await r.read()
    import io

    with Image.open(io.BytesIO(body)) as img:
        assert img.format == "JPEG" and img.size == (80, 60)
        assert not img.getexif()  # no GPS position, no camera: EXIF is not kept
    assert b"PhoneMaker" not in body
    where = await fake_tg.wait_for(lambda m: m.chat_id == str(STAFF) and m.method == "sendLocation")
    assert abs(float(where[0].params["latitude"]) - 10.3721) < 1e-4

    # an officer answers by replying to the card in the staff group: the page shows it without a reload
    answer = "Xã đã cử người vá ổ gà trong tuần này, cảm ơn bà con"
    async with aiohttp.ClientSession() as http:
        status = await post_update(http, bot.url, fake_tg.make_message(STAFF, answer, user_id=OFFICER,
                                                                        name="Cán Bộ", reply_to=cards[0].message_id))
    assert status == 200
    await wait_bot(page, answer)
    text = await page.locator("#log .msg.bot", has_text=answer).inner_text()
    assert code in text and "Cán Bộ" not in text  # the agency answers, not the officer by name
    await context.close()

    # from another device: the code and the lookup secret show the status and the answer (no JavaScript needed)
    other = await browser.new_context(viewport=PHONE, locale="vi-VN", java_script_enabled=False)
    page = await other.new_page()
    await page.goto(bot.url + "/chat/tracuu")
    await page.get_by_label("Mã phản ánh").fill(code.lower().replace("-", " "))
    await page.get_by_label("Mã tra cứu").fill("AAAAA-AAAAA")
    await page.get_by_role("button", name="Tra cứu").click()
    assert "Không tìm thấy" in await page.inner_text("main")
    await page.get_by_label("Mã tra cứu").fill(secret.lower())
    await page.get_by_role("button", name="Tra cứu").click()
    result = await page.inner_text(".result")
    assert code in result and "Giao thông" in result and "Bình Đức" in result and answer in result
    assert "Ổ gà" not in result  # the citizen's own words are not shown to whoever holds the code
    await other.close()


async def _portal(html: str) -> tuple[web.AppRunner, str]:
    """A page of the provincial portal, on another origin (another port)."""
    from tests.instances import free_port

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_the_widget_opens_the_chat_from_a_page_on_another_origin(tmp_path, fake_tg, browser):
    from tests.instances import free_port

    port = free_port()
    bot_url = f"http://127.0.0.1:{port}"
    page_html = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng NTM</title></head><body>'
                 f'<h1>Cổng thông tin nông thôn mới</h1><script src="{bot_url}/chat/widget.js" defer></script></body></html>')
    allowed, allowed_url = await _portal(page_html)
    refused, refused_url = await _portal(page_html)
    bot = web_bot(tmp_path, fake_tg, env={"HTTP_PORT": str(port), "WEB_EMBED_ORIGINS": allowed_url})
    bot.port = port
    bot.start()
    try:
        await bot.wait_ready()
        context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
        page = await context.new_page()
        await page.goto(allowed_url + "/")
        button = page.locator("#ntm-chat-button")
        await button.wait_for()
        assert await button.get_attribute("aria-expanded") == "false"
        await button.click()
        assert await button.get_attribute("aria-expanded") == "true"
        frame = page.frame_locator("#ntm-chat-frame")
        await frame.locator("#log .msg.bot", has_text="Xin chào").first.wait_for(timeout=15_000)
        await frame.locator("#text").fill("OCOP là gì?")
        await frame.locator("#text").press("Enter")
        await frame.locator("#log .msg.bot", has_text="phát triển kinh tế nông thôn").wait_for(timeout=15_000)
        await page.screenshot(path=shot_path(tmp_path, "web-widget-desktop.png"))
        from playwright.async_api import expect

        await page.keyboard.press("Escape")  # in the chat's frame: closes the panel, focus back on the button
        await expect(button).to_have_attribute("aria-expanded", "false")
        await expect(button).to_be_focused()
        await context.close()

        # a portal that is not in WEB_EMBED_ORIGINS: the browser refuses to show the chat in its frame
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        await page.goto(refused_url + "/")
        await page.locator("#ntm-chat-button").click()
        await asyncio.sleep(2.0)
        assert not await page.frame_locator("#ntm-chat-frame").locator("#log").count()
        await context.close()
    finally:
        bot.stop_now()
        await allowed.cleanup()
        await refused.cleanup()


async def test_the_widget_keeps_the_conversation_on_a_portal_of_another_site(tmp_path, fake_tg, browser):
    """The portal on another site (here `localhost` vs the bot's `127.0.0.1`): the chat in its frame keeps its
    conversation across visits (the cookie is SameSite=None; Secure; Partitioned when the chat may be embedded)."""
    from tests.instances import free_port

    port = free_port()
    page_html = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng NTM</title></head><body>'
                 f'<h1>Cổng NTM</h1><script src="http://127.0.0.1:{port}/chat/widget.js" defer></script></body></html>')
    portal, portal_url = await _portal(page_html)
    portal_url = portal_url.replace("127.0.0.1", "localhost")
    bot = web_bot(tmp_path, fake_tg, env={"HTTP_PORT": str(port), "WEB_EMBED_ORIGINS": portal_url,
                                          "WEB_COOKIE_SECURE": "always"})
    bot.port = port
    bot.start()
    try:
        await bot.wait_ready()
        context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
        page = await context.new_page()
        await page.goto(portal_url + "/")
        await page.locator("#ntm-chat-button").click()
        frame = page.frame_locator("#ntm-chat-frame")
        await frame.locator("#log .msg.bot", has_text="Xin chào").first.wait_for(timeout=15_000)
        await frame.locator("#text").fill("OCOP là gì?")
        await frame.locator("#text").press("Enter")
        await frame.locator("#log .msg.bot", has_text="phát triển kinh tế nông thôn").wait_for(timeout=15_000)
        await page.reload()  # the next visit to the portal: the same conversation
        await page.locator("#ntm-chat-button").click()
        await frame.locator("#log .msg", has_text="OCOP là gì?").first.wait_for(timeout=15_000)
        await context.close()
    finally:
        bot.stop_now()
        await portal.cleanup()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(fg: str, bg: str) -> float:
    import re

    a, b = (tuple(float(x) for x in re.findall(r"[\d.]+", c)[:3]) for c in (fg, bg))
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


async def test_accessibility_labels_keyboard_tap_targets_contrast_and_200_percent_text(bot, browser, tmp_path):
    import datetime as dt
    from zoneinfo import ZoneInfo

    # a browser far from An Giang still shows An Giang's time (the stored times are UTC)
    context = await browser.new_context(viewport=PHONE, locale="vi-VN", timezone_id="America/New_York")
    page = await context.new_page()
    await page.goto(bot.url + "/chat")
    await wait_bot(page, "Xin chào")
    meta = await page.locator("#log .msg.bot .meta").first.inner_text()
    now = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert any((now - dt.timedelta(minutes=k)).strftime("%H:%M") in meta for k in (0, 1)), meta
    assert await page.get_attribute("html", "lang") == "vi"

    # every control has a name a screen reader reads
    assert await page.get_by_label("Nội dung tin nhắn").count() == 1
    for name in ("Gửi", "Gửi ảnh", "Gửi vị trí"):
        assert await page.get_by_role("button", name=name, exact=True).count() == 1, name
    assert await page.get_by_role("log").count() == 1 and await page.get_by_role("status").count() == 1

    # keyboard only: the skip link first, into the message box; a choice pressed with the keyboard
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.className") == "skip"
    await page.keyboard.press("Enter")
    assert await page.evaluate("() => document.activeElement.id") == "text"
    await page.keyboard.type("OCOP là gì?")
    n = await bot_count(page)
    await page.keyboard.press("Enter")
    assert ANSWER in await (await next_bot(page, n)).inner_text()
    first_choice = page.locator("#log .msg.bot .choices button").first
    await first_choice.focus()
    n = await bot_count(page)
    await page.keyboard.press("Enter")
    await next_bot(page, n)

    # tap targets of at least 44 × 44 CSS pixels
    for el in await page.locator("button, textarea, summary").all():
        if not await el.is_visible():
            continue
        box = await el.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (await el.inner_text(), box)

    # contrast (WCAG 2.1 AA: 4.5:1 for text)
    pairs = {"#log .msg.bot": None, "#log .msg.me": None, "#log .msg .meta": "#log .msg.bot", ".lead": "body",
             "#send": None, "#log .choices button": None, ".top h1": ".top", ".follow-box summary": "body"}
    for sel, bg_sel in pairs.items():
        fg = await page.locator(sel).first.evaluate("e => getComputedStyle(e).color")
        bg = await page.locator(bg_sel or sel).first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert _contrast(fg, bg) >= 4.5, (sel, fg, bg, _contrast(fg, bg))

    # 200 % text: everything reflows, nothing needs sideways scrolling, the message box is still on screen
    await page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    await page.wait_for_timeout(200)
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert await page.locator("#text").is_visible() and await page.locator("#send").is_visible()
    await page.screenshot(path=shot_path(tmp_path, "web-chat-phone-200.png"))
    await context.close()
