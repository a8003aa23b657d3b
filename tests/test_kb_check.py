"""`ntm-bot kb check`: content errors are caught before they reach a citizen."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from knowledge.kb import KnowledgeBase, KnowledgeBaseError
from tests.conftest import MINI_KB


def _write(tmp_path: Path, entries: list[dict]) -> Path:
    d = tmp_path / "kb"
    d.mkdir(exist_ok=True)
    (d / "x.yaml").write_text(yaml.safe_dump({"entries": entries}, allow_unicode=True), encoding="utf-8")
    return d


def _entry(**over):
    e = yaml.safe_load((MINI_KB / "mini.yaml").read_text(encoding="utf-8"))["entries"][1]
    e.pop("see_also", None)
    e.update(over)
    return e


def _check(kb_dir: Path) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, KB_DIR=str(kb_dir))
    return subprocess.run([sys.executable, "-m", "bot.cli", "kb", "check"], capture_output=True, text=True, env=env)


def test_clean_fixture_passes():
    r = _check(MINI_KB)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 lỗi" in r.stdout


@pytest.mark.parametrize(
    "entries, message",
    [
        ([_entry(), _entry()], "id bị trùng"),
        ([_entry(answer="   ")], "câu trả lời trống"),
        ([_entry(sources=[])], "sources"),
        ([_entry(answer="Dài quá. " * 300)], "quá giới hạn zalo"),
        ([_entry(questions=["một", "hai"])], "ít nhất 4 cách hỏi"),
        ([_entry(see_also=["khong.co"])], "id không có"),
        ([_entry(answer="Gọi {so_dien_thoai}")], "chỗ trống không biết"),
        ([_entry(sources=[{"doc": "QĐ 1", "issuer": "x"}])], "date"),
    ],
)
def test_errors_fail_the_check(tmp_path, entries, message):
    kb_dir = _write(tmp_path, entries)
    r = _check(kb_dir)
    assert r.returncode == 1
    assert message in r.stdout, r.stdout
    with pytest.raises(KnowledgeBaseError):
        KnowledgeBase.load(kb_dir)


def test_broken_yaml_is_an_error(tmp_path):
    d = tmp_path / "kb"
    d.mkdir()
    (d / "bad.yaml").write_text("entries: [ {id: x", encoding="utf-8")
    r = _check(d)
    assert r.returncode == 1 and "YAML không hợp lệ" in r.stdout


def test_review_dates_and_ended_periods_warn(tmp_path):
    import datetime as dt

    e = _entry(period="2021-2025", reviewed="2024-01-01", review_by="2025-01-01")
    kb = KnowledgeBase.load(_write(tmp_path, [e]), today=dt.date(2026, 11, 26))
    messages = [p.message for p in kb.problems if p.level == "warning"]
    assert any("quá hạn rà soát" in m for m in messages)
    assert any("đã kết thúc" in m for m in messages)


def test_shipped_knowledge_base_is_clean():
    r = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
