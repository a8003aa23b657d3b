"""Answer quality on the shipped knowledge base: a regression set of real-style questions written for this
project (tests/data/regression.jsonl, with the entry each should get, and out-of-scope questions that must
not get an answer). Fails when accuracy drops. Leave-one-out retrieval is in test_kb_quality.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from bot.features.faq.answers import best_decision
from knowledge.kb import KnowledgeBase
from knowledge.quality import RegressionReport, regression

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "regression.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)


REPORT: RegressionReport | None = None  # printed at the end of the run (conftest.pytest_terminal_summary)


def test_regression_questions(kb, settings):
    global REPORT
    REPORT = regression(kb, CASES, lambda q: best_decision(kb, settings, q))
    assert REPORT.rejection >= 0.98, "\n".join(REPORT.misses)
    assert REPORT.accuracy >= 0.95, "\n".join(REPORT.misses)


def test_every_expected_entry_exists(kb):
    missing = {e for c in CASES for e in c.get("expect", []) if e not in kb.entries}
    assert not missing


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12, 16, 19])
def test_a_criterion_named_by_number_and_period_2021_2025(kb, n):
    """"tiêu chí số N giai đoạn 2021-2025": criterion N of that set, not a document that mentions the period,
    nor an entry where N counts something else ("19 tiêu chí")."""
    d = kb.decide(f"tiêu chí số {n} giai đoạn 2021-2025 là gì")
    assert (d.kind, d.entry.id if d.entry else None) == ("answer", f"ntm.tieu-chi-{n}")


@pytest.mark.parametrize("n", [1, 3, 5, 8, 10])
def test_a_criterion_named_by_number_and_period_2026_2030(kb, n):
    d = kb.decide(f"tiêu chí số {n} giai đoạn 2026-2030 là gì")
    assert (d.kind, d.entry.id if d.entry else None) == ("answer", f"ntm26.tieu-chi-{n}")


def test_a_number_that_counts_is_not_a_criterion_number(kb):
    assert kb.decide("bộ tiêu chí 2026 chia mấy nhóm xã").best.entry_id == "ntm26.nhom-xa"
    assert kb.decide("ocop 3 sao được bao nhiêu điểm").best.entry_id == "ocop.diem-3-sao"
    # «bộ tiêu chí [có] 10 tiêu chí»: the number before «tiêu chí» counts them (the «có» between is a filler)
    from knowledge.matcher import _criterion_number

    assert _criterion_number(tuple("bo tieu chi 10 tieu chi gom".split())) is None
    assert _criterion_number(tuple("tieu chi 10 la gi".split())) == "10"
    assert _criterion_number(tuple("tieu chi so 7 tieu chi".split())) == "7"  # «tiêu chí số 7 là tiêu chí gì»
    d = kb.decide("bộ tiêu chí mới có 10 tiêu chí gồm những gì")
    assert d.kind == "answer" and d.entry.id == "ntm26.bo-tieu-chi"
