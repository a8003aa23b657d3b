"""Answer quality on the shipped knowledge base: a regression set of real-style questions (with out-of-scope
ones) and leave-one-out retrieval of every paraphrase. Fails when accuracy drops."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from handlers.faq import best_decision
from knowledge.kb import KnowledgeBase
from knowledge.quality import leave_one_out, regression

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "regression.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)


def test_regression_questions(kb, settings, capsys):
    report = regression(kb, CASES, lambda q: best_decision(kb, settings, q))
    with capsys.disabled():
        print("\n" + report.summary())
    assert report.rejection >= 0.97, "\n".join(report.misses)
    assert report.accuracy >= 0.85, "\n".join(report.misses)


def test_every_expected_entry_exists(kb):
    missing = {e for c in CASES for e in c.get("expect", []) if e not in kb.entries}
    assert not missing


def test_leave_one_out(kb, settings, capsys):
    report = leave_one_out(kb, settings.faq_answer_threshold, settings.faq_suggest_threshold)
    with capsys.disabled():
        print("\n" + report.summary())
    assert report.top1_rate >= 0.85
