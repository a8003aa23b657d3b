"""`ntm-bot kb check`: content errors are caught before they reach a citizen."""
import datetime as dt
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


TODAY = "2026-12-03"  # the time-dependent rules are checked as of a fixed day (the last content review)


def _check(kb_dir: Path, today: str = TODAY) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, KB_DIR=str(kb_dir))
    return subprocess.run([sys.executable, "-m", "bot.cli", "kb", "check", "--today", today],
                          capture_output=True, text=True, env=env)


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
    """As of the last content review (TODAY). Later, `kb check` on the real date reports the figures that have
    grown old in the meantime: that is for the officer (`kb freshness`), not a reason for the code's CI to fail."""
    r = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "check", "--today", TODAY], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
    assert ": 0 lỗi" in r.stdout


def test_shipped_knowledge_base_loads_whatever_the_date():
    """A running bot never refuses its content because time has passed: date-dependent rules only warn."""
    import datetime as dt

    kb = KnowledgeBase.load(today=dt.date(2030, 6, 1))
    assert len(kb.entries) > 100


# ---------------------------------------------------------------- rules of issue 16, one test each
def _press(**over):
    src = {"doc": "Báo An Giang: Toàn tỉnh hiện có 61 xã nông thôn mới", "kind": "bao-chi", "date": "2020-11-02"}
    src.update(over)
    return src


def _fails(tmp_path, message: str, **over) -> str:
    r = _check(_write(tmp_path, [_entry(**over)]))
    assert r.returncode == 1 and message in r.stdout, r.stdout
    return r.stdout


def _passes(tmp_path, **over) -> None:
    r = _check(_write(tmp_path, [_entry(**over)]))
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("date, shown", [(2014, "(năm 2014)"), ("2025-07", "(tháng 7/2025)"),
                                         ("2025-07-25", "(25/07/2025)")])
def test_a_source_date_is_a_year_a_month_or_a_day_and_is_cited_so(tmp_path, date, shown):
    _passes(tmp_path, sources=[_press(date=date)])
    kb = KnowledgeBase.load(_write(tmp_path, [_entry(sources=[_press(date=date)])]))
    assert shown in kb.render(next(iter(kb.entries.values())))


def test_van_ban_dates_keep_their_form_with_the_precision_known(tmp_path):
    kb = KnowledgeBase.load(_write(tmp_path, [_entry(sources=[
        {"doc": "Quyết định 148/QĐ-TTg", "date": "2023-02-24", "issuer": "Thủ tướng Chính phủ"},
        {"doc": "Kế hoạch 1/KH-UBND", "date": "2021-12", "issuer": "UBND tỉnh An Giang"}])]))
    line = next(iter(kb.entries.values())).source_line()
    assert "Quyết định 148/QĐ-TTg ngày 24/02/2023 của Thủ tướng Chính phủ" in line
    assert "Kế hoạch 1/KH-UBND tháng 12/2021 của UBND tỉnh An Giang" in line


def test_a_malformed_source_date_is_an_error(tmp_path):
    _fails(tmp_path, "ghi năm (2014)", sources=[_press(date="07/2025")])


def test_a_day_that_the_source_note_says_is_unknown_fails(tmp_path):
    _fails(tmp_path, "chính xác hơn nguồn",
           sources=[_press(date="2014-07-26", note="Tài liệu tham chiếu chỉ xác định tháng; ngày là quy ước.")])
    _passes(tmp_path, sources=[_press(date="2014-07", note="Tài liệu tham chiếu chỉ xác định tháng.")])


def test_a_month_when_only_the_year_is_known_fails(tmp_path):
    _fails(tmp_path, "chỉ biết năm", sources=[_press(date="2014-07", note="Nguồn chỉ biết năm 2014.")])


def test_a_placeholder_first_of_the_month_fails_unless_confirmed(tmp_path):
    _fails(tmp_path, "thường là ngày đoán", sources=[_press(date="2025-11-01")])
    _passes(tmp_path, sources=[_press(date="2025-11-01", day_confirmed=True)])
    _passes(tmp_path, sources=[_press(date="2025-11")])


def test_a_press_source_may_leave_an_unknown_date_out_a_document_may_not(tmp_path):
    _passes(tmp_path, sources=[_press(date=None, note="Ngày đăng không rõ.")])
    _fails(tmp_path, "phải có ngày ban hành", sources=[{"doc": "Quyết định 1/QĐ-UBND", "issuer": "UBND tỉnh"}])


def test_hien_hanh_on_an_instrument_whose_period_has_ended_fails(tmp_path):
    plan = {"doc": "Kế hoạch 328/KH-UBND", "date": "2023-05-05", "issuer": "UBND tỉnh An Giang", "covers": "2023-2025"}
    _fails(tmp_path, "nhãn «hiện hành»", period="hien-hanh", sources=[plan])
    _passes(tmp_path, period="2021-2025", sources=[plan])
    r = _check(_write(tmp_path, [_entry(period="hien-hanh", sources=[plan], reviewed="2025-05-01")]), today="2025-06-01")
    assert r.returncode == 0, r.stdout  # still running then
    # the period may also be written in the document's title
    _fails(tmp_path, "nhãn «hiện hành»", period="hien-hanh",
           sources=[{"doc": "Quyết định 950/QĐ-BCT (tiêu chí điểm bán OCOP giai đoạn 2023–2025)",
                     "date": "2023-04-18", "issuer": "Bộ Công Thương"}])
    # loading (a running bot) only warns
    kb = KnowledgeBase.load(_write(tmp_path, [_entry(period="hien-hanh", sources=[plan])]), today=dt.date(2026, 12, 1))
    assert any("nhãn «hiện hành»" in p.message and p.level == "warning" for p in kb.problems)


def test_an_english_title_shown_to_citizens_fails(tmp_path):
    english = "Cổng TTĐT tỉnh An Giang: 2025, An Giang strives to have at least 50-60 three-star OCOP products"
    _fails(tmp_path, "tiếng Anh", sources=[_press(doc=english)])
    _fails(tmp_path, "tiếng Anh", title="How many OCOP products does An Giang have?")
    _passes(tmp_path, sources=[_press(doc="Việt Nam News (VNS): số liệu OCOP cả nước 5/2024", date=None)])


def test_an_answer_over_the_phone_budget_fails(tmp_path):
    _fails(tmp_path, "quá 900", answer="Sản phẩm OCOP 4 sao. " * 42)  # ~880 + the source line
    _passes(tmp_path, answer="Sản phẩm OCOP 4 sao. " * 30)


def test_placeholders_count_with_their_configured_length(tmp_path):
    answer = "Sản phẩm OCOP 4 sao. " * 36 + "Liên hệ {agency_contact}."
    r = _check(_write(tmp_path, [_entry(answer=answer)]))
    assert r.returncode == 1 and "quá 900" in r.stdout, r.stdout


def test_an_old_figure_without_a_review_note_fails(tmp_path):
    _fails(tmp_path, "đã cũ hơn 365 ngày", as_of="2025-06", reviewed="2026-11-26")
    _passes(tmp_path, as_of="2025-06", reviewed="2026-11-26",
            review_note="01/12/2026: tài liệu tham khảo chưa có số mới hơn (ntm-ocop-facts-2.md §4.4)")
    # a note written before the figure grew old does not count
    _fails(tmp_path, "đã cũ hơn 365 ngày", as_of="2025-06", reviewed="2026-05-01", review_note="đã xem 5/2026")
    _passes(tmp_path, as_of="2025-12-20", reviewed="2026-11-26")


def test_a_dated_figure_needs_as_of_which_citizens_see(tmp_path):
    answer = "Đến tháng 5/2024 cả nước có **12.075** sản phẩm OCOP."
    _fails(tmp_path, "thiếu as_of", answer=answer)
    kb = KnowledgeBase.load(_write(tmp_path, [_entry(answer=answer, as_of="2024-05", reviewed="2026-11-26",
                                                     review_note="đã tìm số mới hơn")]), today=dt.date(2026, 12, 1))
    assert kb.render(next(iter(kb.entries.values()))).endswith("Số liệu đến 5/2024.")
    _fails(tmp_path, "ở tương lai", answer=answer, as_of="2027-01")


def test_one_way_of_addressing_the_reader(tmp_path):
    _fails(tmp_path, "xưng hô", answer="Sản phẩm đạt 4 sao khi có từ 70 điểm. Bạn hỏi UBND xã nhé.")
    _passes(tmp_path, answer="Sản phẩm đạt 4 sao khi có từ 70 điểm. Bà con hỏi UBND xã, bạn bè cũng biết.")


def test_a_long_agency_name_is_shortened_after_its_first_use(tmp_path):
    name = "Văn phòng Điều phối nông thôn mới tỉnh"
    _fails(tmp_path, "viết đủ 2 lần", answer=f"Hỏi {name}. Hồ sơ nộp tại {name}.")
    _passes(tmp_path, answer=f"Hỏi {name} (VPĐP). Hồ sơ nộp tại VPĐP.")


def test_freshness_lists_the_oldest_figures_first(tmp_path):
    import os

    entries = [_entry(id="t.moi", as_of="2025-12", answer="Đến 12/2025 có 18.243 sản phẩm."),
               _entry(id="t.cu", as_of="2024-05", answer="Đến 5/2024 có 12.075 sản phẩm.", reviewed="2026-12-01",
                      review_note="01/12/2026: chưa có số mới hơn"),
               _entry(id="t.khong-so")]
    env = dict(os.environ, KB_DIR=str(_write(tmp_path, entries)))
    r = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "freshness", "--today", TODAY],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.index("t.cu") < out.index("t.moi") < out.index("t.khong-so")
    assert "5/2024" in out and "chưa có số mới hơn" in out and "đã ghi chú" in out


def test_an_entry_reviewed_today_in_vietnam_is_not_in_the_future_whatever_the_server_clock_zone(tmp_path):
    """The console stamps `reviewed` with Vietnam's date; a server clock in UTC is seven hours behind, and from
    00:00 to 07:00 in Vietnam its date is yesterday's. Checked under two zones: at any moment one of them has
    another date than Vietnam (UTC-12 until 19:00 in Vietnam, UTC+14 from 17:00), so the test cannot pass by the hour."""
    import os
    from zoneinfo import ZoneInfo

    vn_today = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    kb_dir = _write(tmp_path, [_entry(reviewed=vn_today)])
    for zone in ("Etc/GMT+12", "Etc/GMT-14"):
        env = dict(os.environ, KB_DIR=str(kb_dir), TZ=zone)
        r = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "check"], capture_output=True, text=True, env=env)
        assert "ở tương lai" not in r.stdout, (zone, r.stdout)
        assert r.returncode == 0, (zone, r.stdout + r.stderr)
