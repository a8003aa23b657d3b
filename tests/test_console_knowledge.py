"""Knowledge curation in a real browser against a real `ntm-bot run`: questions a Telegram citizen asked that the
bot could not answer appear grouped in the console; one officer links one to an existing entry and drafts a new
answer (source, period, review date) for the other; that officer cannot approve their own draft; a second officer
approves; the bot answers both questions at once, without a restart; a draft that breaks a `kb check` rule cannot
be published; every version is in the history; `ntm-bot kb export-yaml` writes the additions."""
from __future__ import annotations

import re
import subprocess
import sys

import sqlalchemy as sa
import yaml

from bot.storage.db import Database
from bot.storage.models import AuditLog
from tests.console_helpers import Client, console_bot, make_accounts
from tests.instances import ROOT
from tests.test_console_browser import login
from tests.test_results_browser import CHROMIUM, _browser_or_skip
from tests.tickets_helpers import Driver, Person, plain

NEW_Q = "Hồ sơ đề nghị công nhận xã nông thôn mới gồm những gì?"
LINK_Q = "muốn được công nhận xã đạt chuẩn thì phải đủ mấy cái"
ANSWER = ("Hồ sơ đề nghị công nhận xã đạt chuẩn nông thôn mới gồm tờ trình của Ủy ban nhân dân xã, báo cáo kết quả "
          "thực hiện các tiêu chí và biên bản lấy ý kiến người dân về kết quả xây dựng nông thôn mới.")


async def test_unanswered_to_answer_with_a_second_officer(tmp_path, fake_tg):
    from playwright.async_api import async_playwright

    _browser_or_skip()
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    make_accounts(url, tmp_path / "cli")
    bot = console_bot(tmp_path, fake_tg, url, KB_WATCH_SECONDS="1")
    bot.start()
    try:
        await bot.wait_ready()
        farmer = Person(Driver(fake_tg, port=bot.port), 4401)
        for q in (NEW_Q, LINK_Q):
            await farmer.say(q)
            # not answered: suggestions or "not sure", as the decision model of the day has it
            await farmer.expect("", where=lambda s: any(k in plain(s.text) for k in ("Có phải bạn muốn hỏi",
                                                                                     "chưa chắc hiểu")))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                a_ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
                a = await a_ctx.new_page()
                errors: list[str] = []
                a.on("pageerror", lambda e: errors.append(str(e)))
                await login(a, bot.url, "an.binhduc")
                await a.click("text=Tri thức")
                await a.wait_for_url("**/canbo/tri-thuc")
                groups = a.locator("li.group")
                assert await groups.count() == 2
                # the vague question: linked to the entry that answers it, as a paraphrase
                link_group = groups.filter(has_text=LINK_Q)
                await link_group.locator("summary", has_text="Gắn vào").click()
                await link_group.locator("input[name=muc]").fill("t.so-tieu-chi")
                await link_group.locator("form[action$='/cach-hoi'] button").click()
                await a.wait_for_selector("p.flash")
                # the new question: a new answer with its source, period and review date
                new_group = a.locator("li.group").filter(has_text=NEW_Q)
                await new_group.locator("summary", has_text="Soạn câu trả lời mới").click()
                form = new_group.locator("form[action$='/muc-moi']")
                await form.locator("textarea[name=cach-hoi]").fill("\n".join([
                    NEW_Q, "ho so cong nhan xa ntm gom gi", "cần giấy tờ gì để xã được công nhận nông thôn mới",
                    "thành phần hồ sơ công nhận xã đạt chuẩn nông thôn mới"]))
                await form.locator("textarea[name=tra-loi]").fill(ANSWER)
                await form.locator("input[name=nguon]").fill("Quyết định 18/2022/QĐ-TTg")
                await form.locator("input[name=ngay-nguon]").fill("2022-08-02")
                await form.locator("input[name=co-quan]").fill("Thủ tướng Chính phủ")
                await form.locator("select[name=giai-doan]").select_option("2021-2025")
                await form.locator("input[name=han-ra-soat]").fill("2027-06-30")
                await form.locator("button").click()
                await a.wait_for_selector("p.flash")
                drafts = a.locator("li.draft")
                assert await drafts.count() == 2
                assert await a.locator("li.draft button", has_text="Duyệt").count() == 0  # not for one's own drafts
                assert "Bản nháp của bạn: cần một cán bộ khác duyệt" in await drafts.first.inner_text()
                assert "đạt" in await drafts.first.locator("p.ok").inner_text()

                # the author forging the approval by hand: refused and logged
                c = Client(bot.url)
                try:
                    await c.login("an.binhduc")
                    _, body = await c.get("/canbo/tri-thuc")
                    ids = [int(x) for x in re.findall(r'data-draft="(\d+)"', body)]
                    status, body = await c.post(f"/canbo/tri-thuc/duyet/{ids[0]}", {})
                    assert status == 400 and "Không thể tự duyệt" in body
                    # a draft that breaks a kb check rule (calls the reader «bạn»)
                    bad = {"tieu-de": "Bạn có được hỗ trợ làm đường không?", "cach-hoi": "\n".join(
                        ["ho tro lam duong", "làm đường có được hỗ trợ", "duong giao thong ho tro", "hỗ trợ đường ấp"]),
                        "tra-loi": "Bạn được hỗ trợ xi măng để làm đường giao thông nông thôn.", "chu-de": "ntm",
                        "giai-doan": "hien-hanh", "loai-nguon": "van-ban", "nguon": "Quyết định 18/2022/QĐ-TTg",
                        "ngay-nguon": "2022-08-02", "han-ra-soat": "2027-06-30"}
                    status, _ = await c.post("/canbo/tri-thuc/muc-moi", bad)
                    assert status == 200
                finally:
                    await c.close()
                await a_ctx.close()

                # the second officer approves the two good drafts; the bad one cannot be published
                b_ctx = await browser.new_context(viewport={"width": 360, "height": 780}, locale="vi-VN")
                b = await b_ctx.new_page()
                b.on("pageerror", lambda e: errors.append(str(e)))
                await login(b, bot.url, "binh.longxuyen")
                await b.goto(bot.url + "/canbo/tri-thuc")
                bad_draft = b.locator("li.draft").filter(has_text="Bạn có được hỗ trợ")
                assert "xưng hô" in await bad_draft.locator("div.error").inner_text()
                await bad_draft.locator("button", has_text="Duyệt").click()
                await b.wait_for_selector("p.error")
                assert "Chưa thể đăng" in await b.inner_text("p.error")
                await b.goto(bot.url + "/canbo/tri-thuc")
                for text in (NEW_Q[:20], LINK_Q[:20]):
                    draft = b.locator("li.draft").filter(has_text=text)
                    await draft.locator("button", has_text="Duyệt").click()
                    await b.wait_for_selector("p.flash")
                    assert "Đã duyệt và đăng" in await b.inner_text("p.flash")
                await b.screenshot(path=str(tmp_path / "canbo-tri-thuc.png"), full_page=True)
                history = await b.inner_text("table.history")
                assert history.count("Đang dùng") == 2 and "Chờ duyệt" in history and "Trần Thị Bình" in history
                await b_ctx.close()
                assert not errors, errors
            finally:
                await browser.close()

        # the bot answers both at once (no restart)
        await farmer.say(NEW_Q)
        await farmer.expect("biên bản lấy ý kiến người dân")
        await farmer.say(LINK_Q)
        await farmer.expect("19 tiêu chí")
        assert bot.proc is not None and bot.proc.poll() is None
    finally:
        bot.stop_now()

    db = Database(url)
    try:
        refused = db.call(lambda s: [r.detail for r in s.exec(sa.select(AuditLog).where(
            AuditLog.action == "refused", AuditLog.actor == "canbo:an.binhduc")).scalars()])
        assert any("tự duyệt" in d for d in refused)
        published = db.call(lambda s: [r.actor for r in s.exec(sa.select(AuditLog).where(
            AuditLog.action == "kb_publish")).scalars()])
        assert published == ["canbo:binh.longxuyen"] * 2
    finally:
        db.dispose()
    out = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
                          "kb", "export-yaml"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    exported = yaml.safe_load(out.stdout)
    assert [e["title"] for e in exported["entries"]] == [NEW_Q]
    assert exported["entries"][0]["sources"][0]["doc"] == "Quyết định 18/2022/QĐ-TTg"
    assert exported["paraphrases"] == {"t.so-tieu-chi": [LINK_Q]}
