"""The loop that keeps content current: reload without restart, unanswered questions for the editors."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import yaml

from bot.channels.terminal import TerminalChannel
from bot.kernel.messages import TERMINAL, Inbound
from tests.conftest import MINI_KB, eventually, make_settings


def _copy_kb(tmp_path):
    d = tmp_path / "kb"
    shutil.copytree(MINI_KB, d)
    return d


def _add_entry(kb_dir, entry_id="t.moi-them", question="thanh long ruột đỏ có làm ocop không"):
    data = yaml.safe_load((kb_dir / "mini.yaml").read_text(encoding="utf-8"))
    e = dict(data["entries"][4], id=entry_id, title="Thanh long ruột đỏ làm OCOP?",
             questions=[question, "thanh long do ocop duoc khong", "trái thanh long ruột đỏ ocop", "thanh long lam ocop"],
             answer="Thanh long là sản phẩm thuộc nhóm thực phẩm.")
    data["entries"].append(e)
    (kb_dir / "mini.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


async def test_broken_file_keeps_old_content_then_reload_picks_up_fix(tmp_path, make_app):
    kb_dir = _copy_kb(tmp_path)
    out: list[str] = []
    app = await make_app(make_settings(tmp_path, kb_dir=kb_dir, kb_watch_seconds=0.2), serve_http=False,
                         adapters=(TerminalChannel(out.append),))
    before = set(app.kb.entries)

    (kb_dir / "broken.yaml").write_text("entries:\n  - id: x\n    answer: [unclosed\n", encoding="utf-8")
    assert app.reload_kb() is False
    assert set(app.kb.entries) == before  # the running bot keeps serving the old content

    (kb_dir / "broken.yaml").unlink()
    _add_entry(kb_dir)
    env = dict(os.environ, KB_DIR=str(kb_dir), DATABASE_URL=app.settings.effective_database_url)
    r = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "reload"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    await eventually(lambda: "t.moi-them" in app.kb.entries, timeout=10)

    await app.submit(Inbound(TERMINAL, "local", "u1", text="thanh long ruột đỏ có làm ocop không", event_key="k1"))
    await app.wait_quiet("terminal:local")
    assert any("thực phẩm" in o for o in out)


def test_kb_reload_refuses_broken_content(tmp_path):
    kb_dir = _copy_kb(tmp_path)
    (kb_dir / "broken.yaml").write_text("entries: [ {", encoding="utf-8")
    env = dict(os.environ, KB_DIR=str(kb_dir), DATABASE_URL=f"sqlite:///{tmp_path / 'r.sqlite3'}")
    r = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "reload"], capture_output=True, text=True, env=env)
    assert r.returncode != 0


async def test_unanswered_questions_grouped_by_similarity(tmp_path, make_app):
    out: list[str] = []
    app = await make_app(make_settings(tmp_path, kb_dir=MINI_KB), serve_http=False, adapters=(TerminalChannel(out.append),))
    asked = ["trồng sầu riêng có được hỗ trợ nông thôn mới không", "trong sau rieng duoc ho tro ntm ko",
             "sầu riêng được hỗ trợ gì trong nông thôn mới", "lò đốt rác của xã có đạt chuẩn không", "OCOP là gì?"]
    for i, q in enumerate(asked):
        await app.submit(Inbound(TERMINAL, f"c{i}", f"u{i}", text=q, event_key=f"k{i}"))
    for i in range(len(asked)):
        await app.wait_quiet(f"terminal:c{i}")

    from bot.features.content.unanswered import format_groups, recent_groups

    groups = app.db.call(recent_groups, 30)
    assert [g.count for g in groups] == [3, 1]  # the answered question is not there
    text = format_groups(groups, 10, 30)
    assert "(3 lần)" in text and "sầu riêng" in text.lower()

    env = dict(os.environ, KB_DIR=str(MINI_KB), DATABASE_URL=app.settings.effective_database_url)
    r = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "unanswered"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "(3 lần)" in r.stdout


async def test_staff_see_unanswered_questions_in_chat(tmp_path, fake_tg, make_app):
    from tests.conftest import tg_settings

    staff_chat, officer = -1001234, 777
    await make_app(tg_settings(tmp_path, fake_tg, staff_chat_id=str(staff_chat), staff_user_ids=str(officer)))
    for i, q in enumerate(["trồng sầu riêng có được hỗ trợ nông thôn mới không", "trong sau rieng duoc ho tro ntm ko"]):
        fake_tg.push(fake_tg.make_message(9100 + i, q))
        await fake_tg.wait_text(9100 + i, "chưa chắc")
    fake_tg.push(fake_tg.make_message(9200, "/chuatraloi"))  # a citizen: refused
    await fake_tg.wait_text(9200, "chỉ dành cho cán bộ")
    fake_tg.push(fake_tg.make_message(staff_chat, "/chuatraloi 7", user_id=officer))
    report = await fake_tg.wait_text(staff_chat, "chưa trả lời được trong 7 ngày")
    assert "(2 lần)" in report.text and "sầu riêng" in report.text
