"""The command line as an operator and the evaluation script use it."""
import json
import os
import subprocess
import sys
import tempfile

from tests.conftest import MINI_KB

# A data directory of their own: `ask` caches the indexed knowledge base (and would read a retrained model) there.
ENV = dict(os.environ, KB_DIR=str(MINI_KB), DATA_DIR=tempfile.mkdtemp(prefix="ntm-cli-"))


def run(args, stdin=None, env=ENV, timeout=60):
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_ask_prints_the_answer_with_source():
    r = run(["ask", "ocop 4 sao bao nhieu diem"])
    assert r.returncode == 0
    assert "70 đến dưới 90" in r.stdout and "Nguồn:" in r.stdout


def test_ask_json_one_line_per_question_in_order():
    qs = ["OCOP là gì?", "giá vàng hôm nay", "", "ocop sao diem"]
    r = run(["ask", "--json"], stdin="\n".join(qs) + "\n")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["question"] for x in lines] == qs
    assert lines[0]["matched"] and lines[0]["entry_id"] == "t.ocop-la-gi" and "Nguồn:" in lines[0]["answer"]
    assert not lines[1]["matched"] and lines[1]["entry_id"] is None
    assert not lines[2]["matched"]
    assert not lines[3]["matched"] and len(lines[3]["suggestions"]) >= 2
    for x in lines:
        assert {"question", "matched", "entry_id", "score", "answer", "suggestions"} <= set(x)


def test_chat_with_piped_input(tmp_path):
    env = dict(ENV, DATABASE_URL=f"sqlite:///{tmp_path / 'chat.sqlite3'}")
    r = run(["chat"], stdin="OCOP là gì?\n/huy\n", env=env)
    assert r.returncode == 0, r.stderr
    assert "Xin chào" in r.stdout  # the welcome
    assert "Mỗi xã một sản phẩm" in r.stdout
    assert "1. 🏡 Hỏi về nông thôn mới" in r.stdout  # buttons become numbered options in a terminal


def test_run_without_tokens_opens_the_terminal_chat(tmp_path):
    env = {k: v for k, v in ENV.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    r = run(["run"], stdin="ocop la gi\n", env=env)
    assert r.returncode == 0, r.stderr
    assert "terminal" in r.stdout and "Mỗi xã một sản phẩm" in r.stdout
