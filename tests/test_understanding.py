"""Understanding what citizens write (issue 13), end to end on the shipped knowledge base: through the Telegram
fake (real python-telegram-bot client, real HTTP), the Zalo Bot fake, and `ntm-bot ask` as a subprocess.

Small talk, computed answers, the period a bare criterion number means, follow-ups read with the previous
question, and a local problem typed as plain text turned into a pre-filled report."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from knowledge.kb import KnowledgeBase
from knowledge.understand import Previous, looks_like_followup, merge_followup, understand
from tests.tickets_helpers import Driver, Person, ticket_settings

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def real_kb(tmp_path, fake_tg, **kw):
    return ticket_settings(tmp_path, fake_tg, **{"kb_dir": None, **kw})  # the shipped content, not the mini fixture


# ---------------------------------------------------------------- small talk
@pytest.mark.parametrize("text, kind", [
    ("👍", "ack"), ("hihi", "laugh"), ("alo alo", "greeting"), ("dạ vâng", "ack"), ("bot ngu vl", "insult"),
    ("xin chào", "greeting"), ("cảm ơn ad nhiều nha", "thanks"), ("bạn là ai", "who"), ("ok", "ack"),
    ("?", "ack"), ("...", "ack"),  # punctuation alone: «what do you need?», not the off-topic reply
    ("ad oi cho hoi", "greeting"), ("cho em hỏi chút", "greeting"),  # asking leave to ask
    ("dc roi cam on nha", "thanks"), ("hỏi cái khác", "ack"),
    ("ko hieu gi het", "confused"), ("khó hiểu quá", "confused"),
    ("bot tra loi sai roi", "wrong"), ("không phải câu đó", "wrong"),
    ("gặp cán bộ", "human"), ("cho em noi chuyen voi nguoi that", "human"),
])
def test_small_talk_gets_a_short_human_reply(kb, text, kind):
    u = understand(kb, text, TODAY)
    assert (u.kind, u.smalltalk) == ("smalltalk", kind)


@pytest.mark.parametrize("text", ["ngũ cốc là gì", "mất điện rồi", "cảm ơn, cho hỏi thêm ocop là gì",
                                  "cho em hoi ocop la gi", "khong phai ocop", "ko hieu tieu chi 5 la gi",
                                  "sai o dau"])
def test_words_that_look_social_inside_a_real_message_are_not_small_talk(kb, text):
    assert understand(kb, text, TODAY).kind != "smalltalk"


@pytest.mark.parametrize("text, topic", [
    ("mình ở Tri Tôn muốn hỏi về OCOP", "ocop"), ("cho em tim hieu chuong trinh nong thon moi", "ntm"),
    ("tui muốn biết về an giang", "an-giang"), ("hỏi về ntm nhé ad", "ntm"),
])
def test_naming_only_the_topic_one_wants_to_ask_about_gets_its_common_questions(kb, text, topic):
    u = understand(kb, text, TODAY)
    assert (u.kind, u.topic) == ("topic", topic)
    assert understand(kb, "muốn hỏi về ocop 4 sao", TODAY).kind == "answer"  # a question in it: answered


# ---------------------------------------------------------------- computed answers
@pytest.mark.parametrize("text, must", [
    ("sp nha em dc 83 diem la may sao", ["83 điểm", "4 sao", "7 điểm"]),
    ("tụi em làm bánh phồng, chấm OCOP chỉ được 45 điểm, có được giấy chứng nhận không", ["2 sao", "chưa được cấp"]),
    ("san pham ocop 3 sao duoc cong nhan thang 5/2023 con han khong", ["36 tháng", "tháng 5/2026", "đã hết hạn"]),
    ("giay chung nhan ocop cua em cap ngay 15/3/2025, toi khi nao het han", ["15/03/2028", "còn hạn"]),
    ("mắm nhà em được 4 sao theo quyết định ngày 10/2/2024, giờ còn hạn không", ["10/02/2027", "còn hạn"]),  # no "OCOP"
    ("co so toi dc 3 sao hoi thang 4 nam 2021 thi bao gio het han", ["tháng 4/2024", "đã hết hạn"]),
    ("nam 2020 mam nha tui dc 3 sao, gio chua cham lai thi con dan tem ocop dc ko", ["năm 2023", "đã hết hạn"]),
    ("giấy chứng nhận OCOP của cơ sở tôi cấp ngày 5/8/2024, chậm nhất ngày nào phải đánh giá lại", ["05/08/2027"]),
    # two figures of one entry and a difference or a share asked: computed, the entry cited
    ("bao cao noi 6.084 tren 7.669 xa dat chuan, vay con lai bao nhieu xa", ["7.669 − 6.084 = **1.585**"]),
    ("2.567 xã nâng cao trên 6.084 xã đạt chuẩn là bao nhiêu phần trăm", ["≈ **42,2%**"]),
    ("tieu chi 25 la gi", ["Không có tiêu chí số 25", "10 tiêu chí", "19 tiêu chí"]),
    # several criteria at once: each one's name, from its own entry, of the set meant (bare: in force, else the old)
    ("tc 16 vs tc 17 là gì vậy", ["số 16", "văn hóa", "số 17", "môi trường và an toàn thực phẩm"]),
    ("tiêu chí 2, 3 và 5 là gì", ["2026–2030", "hạ tầng kinh tế", "phát triển kinh tế nông thôn", "văn hóa, giáo dục, y tế"]),
    ("tieu chi 2 voi 3 giai doan 2021-2025", ["2021–2025", "giao thông", "thủy lợi"]),
    ("cho chu hoi tc 2 toi tc 4 la nhung gi", ["số 2", "số 3", "số 4", "nguồn nhân lực"]),  # a range
    ("tieu chi tu 1 den 10 gom nhung gi vay", ["10 tiêu chí", "1. Quy hoạch", "10. Tiếp cận pháp luật"]),  # the whole set
    ("tiêu chí số 0 là gì", ["Không có tiêu chí số 0", "10 tiêu chí"]),
    ("ocop 6 sao la sao", ["không có hạng 6 sao", "1 đến 5 sao"]),
    ("sp ocop cua chu 3,5 sao thi duoc thuong ko", ["không có hạng 3,5 sao", "số nguyên"]),  # not 5 stars, nor a reward
    ("khô cá nhà tui được ocop 4 sao rưỡi hả", ["không có hạng 4 sao rưỡi"]),
    ("sp 100 điểm mấy sao", ["100 điểm", "5 sao"]),  # the band asked right after the score, no «được/là»
    ("bánh pía 104 diem hang may", ["tối đa là **100 điểm**"]),
    ("ocop 4 sao cong nhan ngay 31/4/2024 con han ko", ["31/4/2024 không có trong lịch", "36 tháng"]),  # no such day
    ("mam ca linh ocop 3 sao cong nhan t9/2023 gio con dung dc ko", ["tháng 9/2026", "đã hết hạn"]),  # «t9» = tháng 9
    ("ocop 4 sao duoc cong nhan thang 10 nam 25 bao gio het han", ["tháng 10/2028", "còn hạn"]),  # a two-digit year
    # a year counted back from today: only the year is known, so only the year it ends is said
    ("sp ocop nha chu duoc cong nhan 2 nam truoc, gio con han ko", ["năm 2024", "hết hạn trong năm 2027"]),
    ("ocop cua em cong nhan nam ngoai thi toi khi nao het han", ["năm 2025", "năm 2028"]),
    ("giay chung nhan ocop cap 3/2027 con han ko", ["sau hôm nay", "36 tháng"]),  # a date still to come
    ("xa em rot 7 tieu chi trong do co thu nhap, co bi thu hoi ntm ko", ["7/19", "bị thu hồi"]),
    ("thị trấn Cái Dầu cũ nay là xã nào vậy bot", ["Cái Dầu", "Xã Châu Phú"]),
    ("hợp tác xã em chấm được a 30 b 20 c 25, vậy hạng gì", ["= **75 điểm**", "4 sao"]),
    ("cơ sở em phần A được 20, phần B được 15, phần C được 20 thì tổng là bao nhiêu", ["= **55 điểm**", "3 sao"]),  # no "OCOP"
])
def test_answers_computed_from_the_knowledge_base_facts(kb, text, must):
    u = understand(kb, text, TODAY)
    assert u.kind == "computed", (u.kind, u.decision and u.decision.kind)
    for m in must:
        assert m.lower() in u.computed.text.lower(), u.computed.text


@pytest.mark.parametrize("text, must", [
    ("hiện nay vẫn là 19 tiêu chí phải ko ad", ["Chưa đúng", "2026–2030 có 10 tiêu chí", "2021–2025 có 19"]),
    ("bộ tiêu chí hiện nay có 10 tiêu chí phải không", ["Đúng", "2026–2030 có 10 tiêu chí"]),  # not «tiêu chí số 10»
    ("hồi trước bộ cũ có 19 tiêu chí đúng ko", ["Đúng", "2021–2025 có 19 tiêu chí"]),
])
def test_a_rumour_about_how_many_criteria_a_set_has_is_checked(kb, text, must):
    u = understand(kb, text, TODAY)
    assert u.kind == "computed" and u.computed.kind == "criteria-count", (u.kind, u.decision and u.decision.kind)
    for m in must:
        assert m in u.computed.text.replace("**", ""), u.computed.text
    # a commune's own count, or another set (OCOP, nâng cao), is no such claim
    for other in ("xã em đạt 17 tiêu chí rồi phải không", "xã nâng cao bây giờ có 19 tiêu chí hả",
                  "ocop bây giờ có 3 phần phải không"):
        assert understand(kb, other, TODAY).computed is None or \
            understand(kb, other, TODAY).computed.kind != "criteria-count", other


def test_a_rule_question_with_a_number_is_not_taken_as_a_score(kb):
    assert understand(kb, "nghe noi phan chat luong san pham la 40 diem dung ko", TODAY).kind != "computed"
    assert understand(kb, "ocop 4 sao can 70 diem a", TODAY).kind != "computed"


@pytest.mark.parametrize("text, must", [
    ("có người bảo chỉ cần 85 điểm là lên 5 sao, có đúng vậy không", ["Chưa đúng", "5 sao", "từ 90", "85 điểm là hạng 4 sao"]),
    ("hạng 4 sao OCOP phải từ 75 điểm trở lên phải ko", ["Chưa đúng", "từ 70 đến dưới 90"]),
    ("hàng của tụi em chấm được 62 điểm vậy là 4 sao hả", ["Chưa đúng", "62 điểm, sản phẩm xếp hạng 3 sao"]),
])
def test_a_wrong_rumour_about_scores_and_stars_is_corrected(kb, text, must):
    u = understand(kb, text, TODAY)
    assert u.kind == "computed", (u.kind, u.decision and u.decision.kind)
    for m in must:
        assert m in u.computed.text.replace("**", ""), u.computed.text
    # … a right one is the entry's to answer
    assert understand(kb, "ocop 3 sao tu 50 diem phai khong", TODAY).kind != "computed"
    assert understand(kb, "nha em co 2 dua, phan a con b hoc lop 3", TODAY).kind != "computed"
    assert understand(kb, "khách sạn 3 sao công nhận năm 2022 thì bao giờ hết hạn", TODAY).kind != "computed"
    assert understand(kb, "ruộng 12 công mà gặt được 8 công thì còn lại bao nhiêu", TODAY).kind != "computed"
    assert understand(kb, "quán ăn trên app được đánh giá 8 điểm có ngon không", TODAY).kind != "computed"
    assert understand(kb, "tiêu chí 17 năm 2024 xã em đạt chưa", TODAY).kind != "computed"  # one criterion, a year
    # "năm trước hết hạn": the year it expired, not the year it was recognised
    u = understand(kb, "ocop 3 sao nam truoc het han roi thi lam sao", TODAY)
    assert u.kind != "computed" or "năm 2025 thì có giá trị" not in u.computed.text


# ---------------------------------------------------------------- reading a whole message
@pytest.mark.parametrize("text, entry", [
    ("nông thôn mới là gì", "ntm.la-gi"),  # one paraphrase word for word, however common its words
    ("cho hỏi ocop là gì vậy ad", "ocop.la-gi"),
])
def test_a_question_that_says_a_paraphrase_is_answered(kb, text, entry):
    u = understand(kb, text, TODAY)
    assert u.kind == "answer" and u.decision.entry.id == entry, (u.kind, u.decision.score)


@pytest.mark.parametrize("text, entry, whole_unsure", [
    ("tui ở Chợ Mới làm bánh phồng tôm bán quanh năm, hàng xóm ai cũng khen ngon, ocop 4 sao cần bao nhiêu điểm vậy",
     "ocop.diem-4-sao", False),
    # (the models of 12/2026 answer both whole, saying how they understood them)
    ("ba má em làm ruộng ở Thoại Sơn cả đời rồi, nay em mới học xong về quê, xã nông thôn mới kiểu mẫu cần điều kiện gì",
     "ntm.xa-kieu-mau-dieu-kien", False),
])
def test_context_before_the_question_does_not_sink_it(kb, text, entry, whole_unsure):
    if whole_unsure:
        assert kb.decide(text).kind != "answer"  # the whole message alone is not sure…
    u = understand(kb, text, TODAY)
    assert u.kind == "answer" and u.decision.entry.id == entry  # …its end confirms the entry it ranks first


def test_codes_and_units_with_a_digit_are_not_corrected_as_typos(kb):
    r = kb.retriever.read("tách thửa đất tối thiểu bao nhiêu m2")  # "m2" is not "km2" (the province's area)
    assert "m2" in r.words and "km2" not in r.words
    assert "qh15" in kb.retriever.read("nghị quyết 25/2021/qh15").words


def test_a_question_quoting_a_figure_of_the_base_is_not_off_topic(kb):
    # no word of the base's topics, but 423 nghìn tỷ is the programme's budget: suggested, not "outside what I know"
    d = kb.decide("khoản 423 nghìn tỷ là của giai đoạn nào")
    assert d.kind != "offtopic" and "ntm26.von-2026-2030" in {e.id for e in [*d.suggestions, *([d.entry] if d.entry else [])]}
    assert kb.decide("giá lúa 6500 đồng một ký có cao không").kind == "offtopic"  # a figure the base does not have


def test_the_question_first_then_why_one_asks(kb):
    # a long message that asks first and explains after: its first words answer, confirming one of the whole's first entries
    text = "ocop la gi vay bot tui ban tap hoa o cho may chuc nam nay khach du lich toi mua hoi hoai ma tui hong biet tra loi sao cho dung"
    assert kb.decide(text).kind != "answer"  # the whole message alone is not sure
    u = understand(kb, text, TODAY)
    assert u.kind == "answer" and u.decision.entry.id == "ocop.la-gi"
    # context first, asking nothing ("xã em ở Thoại Sơn đạt nâng cao rồi"): its first words do not answer
    u = understand(kb, "xa em o Thoai Son dat nang cao roi, gio muon len kieu mau thi can them gi nua", TODAY)
    assert not (u.kind == "answer" and u.decision.entry.id == "ag.thoai-son")


def test_the_thresholds_are_also_calibrated_on_farmer_style_questions():
    """train.calibration_outcomes judges each question by what its answer must say: the first of the three best
    entries that says it is the question's entry, "?" when none does, None when the case is off-topic; small talk and
    computed answers are left out."""
    from knowledge.train import calibration_outcomes
    from tests.conftest import MINI_KB

    mini = KnowledgeBase.load(MINI_KB)
    cases = [{"q": "nha em lam mam, muon len ocop 4 sao thi phai cham duoc bao nhieu diem vay ad", "must": ["70"]},
             {"q": "nha em lam mam, muon len ocop 4 sao thi phai cham duoc bao nhieu diem vay ad",
              "must": ["chuỗi không có ở đâu"]},
             {"q": "khách sạn 4 sao cần bao nhiêu điểm", "out_of_scope": True},
             {"q": "cảm ơn ad nhiều nha", "must": ["4 sao"]}]  # small talk: not the decision's to judge
    queries, outcomes = calibration_outcomes(mini, mini.model, cases)
    assert [q.entry_id for q in queries] == ["t.ocop-4-sao", "?", None]
    assert all(probs and 0.0 <= probs[0] <= 1.0 for _, probs in outcomes)
    # a question the base has (nearly) word for word as a paraphrase measures memory: left out
    paraphrase = mini.entries["t.ocop-4-sao"].questions[0]
    queries, _ = calibration_outcomes(mini, mini.model, [{"q": paraphrase + " ạ", "must": ["70"]}, *cases[:1]])
    assert [q.text for q in queries] == [cases[0]["q"]]


def test_the_second_stage_also_learns_from_the_calibration_questions():
    """Fitted on the training questions and on the calibration ones (weighing as much, all together); out of fold
    for the thresholds: one model per fold."""
    from knowledge.decision import _logistic, confidence_inputs
    from knowledge.train import Query, _confidence

    row = [0.0] * 40  # the best candidate's features (only the question-level ones are read)
    queries = [Query(f"q{i}", "e1" if i % 3 else None, f"g{i}") for i in range(60)]
    outcomes = [(["e1", "e2"], [0.3 + 0.01 * (i % 40), 0.1], row) for i in range(60)]
    fold_of = {q.group: i % 5 for i, q in enumerate(queries)}
    alone, decided, folds = _confidence(queries, outcomes, fold_of)
    assert len(folds) == 5 and len(decided) == 60
    # calibration questions whose best candidate, at 0.3-0.7, was right: the second stage grows surer there
    extra = [(n % 5, confidence_inputs([0.3 + 0.01 * n, 0.1], row), 1) for n in range(40)]
    both, _, _ = _confidence(queries, outcomes, fold_of, extra)
    x = confidence_inputs([0.5, 0.1], row)

    def p(c: dict) -> float:
        return _logistic(x, c["mean"], c["scale"], c["coef"], c["intercept"])

    assert p(both) > p(alone) + 0.1


def test_a_syllable_typed_with_its_marks_is_not_corrected_into_another_word(kb):
    # "xổ số" and "hôm nay" are meant; folded ("xo so", "hom") the base knew only "hồ sơ", "hỏi" next to them
    r = kb.retriever.read("kết quả xổ số an giang hôm nay")
    assert r.corrected == () and {"xo", "hom"} <= set(r.words)
    assert kb.decide("kết quả xổ số an giang hôm nay").kind != "answer"
    # without marks the same letters may be a typo and are corrected as before; a broken syllable always is
    assert ("chii", "chi") in kb.retriever.read("tiêu chii số 5").corrected
    assert kb.decide("sảm phẩm đạt mấy sao mới được công nhận OCOP").kind == "answer"


def test_another_province_named_is_not_answered_from_an_entry_that_never_speaks_of_it(kb):
    from knowledge.decision import QUESTION_INPUTS
    from knowledge.features import FEATURES

    names = [*FEATURES, "q_domain"]
    assert [names[i] for i in QUESTION_INPUTS] == ["q_words", "q_known", "q_pairs_known", "m_rank", "b_rank",
                                              "place_outside", "q_domain"]
    col = FEATURES.index("place_outside")
    cands = kb.retriever.retrieve("tỉnh Cà Mau có bao nhiêu sản phẩm OCOP 4 sao").candidates
    assert cands and all(c.x[col] == 1.0 for c in cands)
    # the contrast line "Khác Kế hoạch 328 … của tỉnh Nghệ An" does not make the entry speak about Nghệ An
    rows = {c.entry_id: c.x[col] for c in kb.retriever.retrieve("kế hoạch 328 của tỉnh Nghệ An yêu cầu gì").candidates}
    assert rows.get("ag.ke-hoach-328") == 1.0
    assert all(c.x[col] == 0.0 for c in kb.retriever.retrieve("An Giang có bao nhiêu sản phẩm OCOP 4 sao").candidates)
    assert kb.decide("tỉnh Cà Mau có bao nhiêu sản phẩm OCOP 4 sao").kind != "answer"
    assert kb.decide("Vĩnh Long có kế hoạch tuyên truyền nông thôn mới hông, số mấy").kind != "answer"
    assert kb.decide("an giang co bao nhieu san pham ocop 4 sao").kind == "answer"


def test_the_province_asked_is_not_answered_from_an_entry_of_the_whole_country(kb):
    # the mirror: «tỉnh mình» asks about An Giang; an entry of the whole country that never names it is not answered:
    # the province's own entry among the first three is, saying how it was understood (the first stage finds it
    # likely, and no other entry of the province is near it) …
    text = "tinh minh gio co tong cong may san pham ocop 5 sao roi"
    assert kb.decide(text.replace("tinh minh", "ca nuoc")).kind == "answer"  # the same words, the country: answered
    d = kb.decide(text)
    assert d.kind == "answer" and d.hedged and d.entry.id == "ag.ocop-5-sao"
    assert d.ranked[1].entry_id == "ocop.san-pham-5-sao-ca-nuoc"  # the model's first, now second
    # … and offered first when the first stage finds none of the province's likely
    d = kb.decide("tỉnh mình được mấy cái OCOP 5 sao rồi bot")
    assert d.kind == "suggest" and d.suggestions[0].id == "ag.ocop-5-sao" and "Cả nước" in d.suggestions[1].title
    # the national programme's targets are the whole country's too (tagged `ca-nuoc`; their titles do not say it)
    text = "đến 2025 tỉnh ta nhắm tới bao nhiêu phần trăm hợp tác xã trong chủ thể OCOP"
    assert "ca-nuoc" in kb.entries["ocop.muc-tieu-chu-the-2025"].tags
    assert kb.decide(text.replace("tỉnh ta", "cả nước")).entry.id == "ocop.muc-tieu-chu-the-2025"
    assert kb.decide(text).kind == "suggest"


# ---------------------------------------------------------------- periods
def test_a_bare_criterion_number_means_the_set_in_force_with_a_button_to_the_old_one(kb):
    d = understand(kb, "tieu chi so 9 hien nay la gi", TODAY).decision
    assert d.kind == "answer" and d.entry.id == "ntm26.tieu-chi-9"
    assert "ntm.tieu-chi-9" in {e.id for e in d.also}
    old = understand(kb, "tiêu chí số 9 giai đoạn 2021-2025 là gì", TODAY).decision
    assert old.kind == "answer" and old.entry.id == "ntm.tieu-chi-9"


def test_naming_the_ended_set_gets_the_entry_it_replaced_not_the_one_in_force(kb):
    # ntm.so-tieu-chi-xa-2021-2025 is superseded by ntm26.bo-tieu-chi: named old, the old one comes first
    d = kb.decide("bộ 19 tiêu chí tổng cộng có bao nhiêu chỉ tiêu")
    first = d.entry or d.suggestions[0]
    assert first.id == "ntm.so-tieu-chi-xa-2021-2025"
    assert kb.decide("bộ 2021-2025 có tổng cộng bao nhiêu chỉ tiêu").ranked[0].entry_id == "ntm.so-tieu-chi-xa-2021-2025"
    assert (kb.decide("xã nông thôn mới bây giờ cần đạt bao nhiêu tiêu chí").ranked[0].entry_id
            == "ntm26.bo-tieu-chi")  # …and not named, the one in force, as before


def test_a_number_only_the_old_set_has_asked_of_todays_set_says_so(kb):
    d = kb.decide("bộ tiêu chí 2026-2030 tiêu chí số 15 là gì")
    assert d.kind == "answer" and d.entry.id == "ntm.tieu-chi-15" and "có 10 tiêu chí" in d.note
    old = kb.decide("tiêu chí số 15 giai đoạn 2021-2025 là gì")
    assert old.entry.id == "ntm.tieu-chi-15" and old.note == ""  # asked of the old set: no note


def test_two_close_criteria_of_the_two_sets_are_answered_with_the_other_named(kb):
    from knowledge.kb import Ranked

    reading = kb.retriever.read("xã còn đông hộ nghèo thì rớt tiêu chí nào")
    pair = [Ranked("ntm26.tieu-chi-6", 0.6, 50.0), Ranked("ntm.tieu-chi-11", 0.55, 50.0)]
    assert kb._criterion_twin(reading, pair) == "ntm.tieu-chi-11"
    # not when a period or a number is named, nor for a question that is not about NTM, nor for two of one set
    assert kb._criterion_twin(kb.retriever.read("hộ nghèo bây giờ vướng tiêu chí nào"), pair) is None
    assert kb._criterion_twin(kb.retriever.read("coi quy hoạch đất nhà mình ở đâu"), pair) is None
    same = [Ranked("ntm.tieu-chi-3", 0.6, 50.0), Ranked("ntm.tieu-chi-17", 0.55, 50.0)]
    assert kb._criterion_twin(reading, same) is None
    assert kb._criterion_twin(reading, [pair[0], Ranked("ntm.tieu-chi-11", 0.2, 50.0)]) is None  # not close


def test_the_period_read_does_not_depend_on_set_order(kb):
    # "nông thôn mới cũ" is the old programme (not «mới với cũ»); both sets named read as both, whatever order a
    # set of cue kinds yields (it once depended on PYTHONHASHSEED, and so did the trained model)
    assert kb.retriever.read("tiêu chí đường sá trong 19 tiêu chí nông thôn mới cũ là số mấy").period == "old"
    assert kb.retriever.read("tieu chi moi cu khac nhau cho nao").period == "both"
    assert kb.retriever.read("bộ mới với cũ 19 tiêu chí khác gì").period == "both"


def test_how_two_sets_differ_gets_the_comparison_of_the_set_in_force(kb):
    d = understand(kb, "ngày xưa xã phải đủ 19 tiêu chí, bây giờ bộ mới thì khác chỗ nào vậy bot", TODAY).decision
    assert d.kind == "answer" and d.entry.id == "ntm26.thay-doi"
    old = understand(kb, "bo tieu chi 2021-2025 khac gi bo 2016-2020", TODAY).decision
    assert old.kind == "answer" and old.entry.id == "ntm.so-sanh-2016-2020"
    ocop = understand(kb, "cách chấm OCOP bây giờ khác hồi trước chỗ nào", TODAY).decision
    assert (ocop.entry or ocop.suggestions[0]).id == "ocop.qd-1048-781"  # the topic's only comparison entry
    one = understand(kb, "qd 1489 nam 2025 ve ocop thay doi gi", TODAY).decision  # what one decision changed
    assert (one.entry or one.suggestions[0]).id != "ocop.qd-1048-781"


def test_a_difference_that_is_not_between_periods_does_not_get_the_comparison_entry(kb):
    # regions compared ("mỗi vùng có khác nhau không"), no period named: the entry about regions answers
    d = kb.decide("mức chỉ tiêu mỗi vùng có khác nhau không")
    assert d.ranked[0].entry_id == "ntm.tieu-chi-theo-vung"
    assert kb.decide("hồi trước với bây giờ tiêu chí khác nhau sao").entry.id == "ntm26.thay-doi"


def test_a_number_only_the_old_set_has_says_so(kb):
    d = understand(kb, "tieu chi 15 la gi", TODAY).decision
    assert d.entry.id == "ntm.tieu-chi-15" and "10 tiêu chí" in d.note


# ---------------------------------------------------------------- follow-ups
def test_follow_ups_are_read_with_the_previous_question(kb):
    assert looks_like_followup("còn tiêu chí 5 thì sao") and looks_like_followup("vậy 4 sao thì sao")
    assert not looks_like_followup("tiêu chí nông thôn mới hiện nay gồm những gì vậy ad")
    prev = Previous("tiêu chí số 9 hiện nay là gì", "ntm26.tieu-chi-9", "new")
    assert merge_followup(prev, "còn tiêu chí 5 thì sao") == "tieu chi so hien nay la gi tieu chi 5"
    u = understand(kb, "còn tiêu chí 5 thì sao", TODAY, prev)
    assert u.decision.entry.id == "ntm26.tieu-chi-5"  # (the model of 12/2026 answers it alone, in today's set)
    alone = understand(kb, "vậy 5 sao thì sao", TODAY)
    assert not alone.answered  # "5 sao" of what?
    u = understand(kb, "vậy 5 sao thì sao", TODAY, Previous("ocop 4 sao cần bao nhiêu điểm", "ocop.diem-4-sao"))
    assert u.followup and u.answered and u.decision.entry.id == "ocop.diem-5-sao"
    # a follow-up the base only guesses at alone (hedged) is read with the previous question when that is sure,
    # and the merged question is what a next follow-up builds on
    prev = Previous("ocop 3 sao la bao nhieu diem", "ocop.diem-3-sao")
    alone = understand(kb, "vay 4 sao thi sao", TODAY)
    u = understand(kb, "vay 4 sao thi sao", TODAY, prev)
    assert u.followup and u.decision.entry.id == "ocop.diem-4-sao" and not u.decision.hedged, (alone.kind, u.question)
    u = understand(kb, "con 5 sao", TODAY, Previous(u.question, "ocop.diem-4-sao"))
    assert u.followup and u.decision.entry.id == "ocop.diem-5-sao"


def test_a_complaint_the_base_only_guesses_a_question_for_is_offered_as_a_report(kb):
    """«đèn đường … hư mấy tháng rồi»: the base's hedged guess (criterion 2, roads) is not what the person wants;
    the commune is the one written out in full, not a shorter name inside it (Hòa Hưng in Mỹ Hòa Hưng)."""
    from knowledge.communes import default_finder

    u = understand(kb, "den duong ap 2 xa my hoa hung hu may thang roi toi thui", TODAY, finder=default_finder())
    assert u.kind == "report-offer" and u.complaint.commune_name == "Xã Mỹ Hòa Hưng", (u.kind, u.complaint)
    # a complaint inside a question the base is sure of keeps the answer, with the report a button away
    u = understand(kb, "đường ấp lầy lội quá thì thuộc tiêu chí nào", TODAY, finder=default_finder())
    assert u.kind == "answer" and u.complaint is not None


# ---------------------------------------------------------------- through Telegram
async def test_telegram_small_talk_follow_up_and_period(tmp_path, fake_tg, make_app):
    app = await make_app(real_kb(tmp_path, fake_tg))
    p = Person(Driver(fake_tg, app), 6301)
    await p.say("👍")
    ack = await p.expect("Bạn cần hỏi gì thêm")
    assert len(ack.text) < 80  # not the long "not sure" block
    await p.say("mình ở Tri Tôn muốn hỏi về OCOP")  # the topic only: its common questions as buttons
    menu = await p.expect("câu hỏi thường gặp về OCOP")
    assert len(menu.buttons) >= 3 and all(b["callback_data"].startswith("faq") for b in menu.buttons), menu.buttons
    await p.say("cho em nói chuyện với người thật")  # how to reach an officer, with the words of this channel
    human = await p.expect("máy trả lời tự động")
    assert "bấm «🙋 Gửi câu hỏi cho cán bộ»" in human.text and "/phananh" in human.text
    await p.say("tieu chi so 3 la gi")
    m = await p.expect("Phát triển kinh tế nông thôn")
    assert any("Tiêu chí số 3" in b["text"] for b in m.buttons), m.buttons  # the old set's criterion 3
    await p.say("còn tiêu chí 5 thì sao")
    await p.expect("Văn hóa, giáo dục, y tế")


async def test_telegram_a_complaint_becomes_a_prefilled_report(tmp_path, fake_tg, make_app):
    app = await make_app(real_kb(tmp_path, fake_tg))
    p = Person(Driver(fake_tg, app), 6302)
    await p.say("đường ấp 3 xã Vĩnh Trạch bị sụt lún mấy tháng rồi không ai sửa")
    offer = await p.expect("gửi phản ánh")
    assert "Giao thông" in offer.text and "Xã Vĩnh Trạch" in offer.text
    data = next(b["callback_data"] for b in offer.buttons if b["text"].startswith("📝"))
    await p.press(data, message_id=offer.message_id)
    await p.expect("Bước 5/5")  # category, description, commune and hamlet («ấp 3») are filled: the contact is next
    from sqlmodel import select

    from bot.storage.models import Chat

    chat = await app.db.run(lambda s: s.exec(select(Chat).where(Chat.chat_id == "6302")).one())
    assert chat.state_data["description"].startswith("đường ấp 3") and chat.state_data["category"] == "giao-thong"
    assert chat.state_data["commune_name"] == "Xã Vĩnh Trạch" and chat.state_data["hamlet"] == "ấp 3"


async def test_telegram_yes_or_no_to_a_single_did_you_mean(tmp_path, fake_tg, make_app):
    """«Có phải bạn muốn hỏi: «X»?» is a yes-or-no question: «đúng rồi ad» opens X, «không phải» apologises."""
    app = await make_app(real_kb(tmp_path, fake_tg))
    p = Person(Driver(fake_tg, app), 6304)
    question = "5 sao thi ai cham"  # (a lone suggestion with the model of 12/2026; pick another if it is answered)
    await p.say(question)
    ask = await p.expect("Có phải bạn muốn hỏi: «")
    title = ask.text.split("«", 1)[1].split("»", 1)[0]
    await p.say("đúng rồi ad")
    shown = await p.expect("Nguồn")
    assert "Có phải" not in shown.text and "Bạn cần hỏi gì thêm" not in shown.text, shown.text
    await p.say(question)
    await p.expect(f"«{title}»")
    await p.say("không phải")
    await p.expect("hiểu chưa đúng")
    await p.say("ok")  # nothing pending any more: an ordinary «ok»
    await p.expect("Bạn cần hỏi gì thêm")


async def test_telegram_a_forged_offer_button_starts_nothing(tmp_path, fake_tg, make_app):
    app = await make_app(real_kb(tmp_path, fake_tg))
    p = Person(Driver(fake_tg, app), 6303)
    await p.press("fb:offer:0123456789ab")
    await p.expect("đã cũ")


# ---------------------------------------------------------------- through Zalo (no buttons: numbered options)
async def test_zalo_a_complaint_offer_is_taken_by_typing_its_number(tmp_path, fake_tg, fake_zalo, make_app):
    from tests.zalo_helpers import BotCitizen, zalo_ticket_settings

    app = await make_app(zalo_ticket_settings(tmp_path, fake_tg, zalo=fake_zalo, kb_dir=None))
    c = BotCitizen(fake_zalo, app, "zb-6401")
    await c.say("den duong truoc nha em o ap Hoa Long hu may thang nay roi ma chua ai sua")
    offer = await c.expect("gửi phản ánh")
    assert "1. 📝 Gửi phản ánh này" in offer.text
    await c.say("1")
    await c.expect("Bước 3/5")  # no commune was named: asked next
    await c.say("sp nha em dc 83 diem la may sao")  # the wizard's step reads it, not the FAQ
    await c.expect("102 xã")


# ---------------------------------------------------------------- ntm-bot ask: the same router
def test_ask_goes_through_the_router_with_a_kind_for_every_path():
    questions = ["xin chào", "cảm ơn", "sp nha em dc 83 diem la may sao", "ocop 4 sao bao nhieu diem",
                 "đường ấp 3 xã Vĩnh Trạch bị sụt lún mấy tháng rồi không ai sửa", "/start", "giá lúa hôm nay bao nhiêu"]
    r = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json"], input="\n".join(questions) + "\n",
                       capture_output=True, text=True, timeout=120)
    out = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = [o["kind"] for o in out]
    assert kinds[:5] == ["smalltalk", "smalltalk", "computed", "answer", "report-offer"], kinds
    assert kinds[5] == "flow" and kinds[6] in ("offtopic", "decline")
    assert [o["matched"] for o in out] == [False, False, True, True, False, False, False]
    assert out[0]["answer"].startswith("Xin chào") and "Dạ không có gì" in out[1]["answer"]


# ---------------------------------------------------------------- the calibrated decision
def test_the_shipped_decision_model_was_trained_on_the_shipped_content(kb):
    assert kb.model_is_current, "the knowledge base changed: run `ntm-bot kb train` and commit knowledge/model.json"
    cv = kb.model.report["cv"]
    # Noisy paraphrases asked with a tenth of the base hidden: harder than real questions, a sanity bound only
    assert cv["wrong"] <= 0.04 * cv["in_scope"] and cv["oos_answered"] + cv["oos_hedged"] <= 0.02 * cv["oos"], cv
    assert cv["wrong"] + cv["hedged_wrong"] <= 0.06 * cv["in_scope"], cv
    assert cv["oos"] >= 1000 and cv["in_scope"] >= 5000
    # Farmer-style questions, each decided by a second stage that did not learn from it: what matters. (The
    # target is 1% wrong; it was 2,0% in 12/2026: this bound guards against a worse model, it is not the goal.)
    cal = kb.model.report["calibration"]
    assert cal["wrong"] + cal["hedged_wrong"] <= 0.03 * cal["in_scope"], cal
    assert cal["oos_answered"] + cal["oos_hedged"] <= 0.02 * cal["oos"], cal
    assert cal["in_scope"] >= 200 and cal["oos"] >= 100


async def test_a_running_bot_retrains_the_decision_when_the_content_changes(tmp_path, fake_tg, make_app):
    from tests.conftest import MINI_KB, eventually

    app = await make_app(real_kb(tmp_path, fake_tg, kb_dir=MINI_KB, kb_retrain=True, kb_watch_seconds=0.5))
    assert not app.kb.model_is_current  # the shipped model was trained on the shipped content
    await eventually(lambda: app.kb.model_is_current, timeout=240, interval=1.0)
    assert (tmp_path / "cache" / f"model-{app.kb.content_hash}.json").exists()


# ---------------------------------------------------------------- proper names an answer says
def test_rare_names_of_answers_are_read_but_not_sentence_openings_places_or_contrasts():
    from knowledge.features import answer_names
    names = answer_names({
        "a": "Một số sản phẩm: bánh hạnh nhân Tiến Anh (4 sao), khô cá lóc Kim Loan.\nKhác Kế hoạch 328 của tỉnh Nghệ An.",
        "b": "Tân Châu có mắm. Bà con hỏi Sở Nông nghiệp.",
        "c": "Ba đơn vị nói Thủ Tướng Chính Phủ.", "d": "Văn bản do Thủ Tướng Chính Phủ ký.", "e": "văn bản Thủ Tướng Chính Phủ",
    }, places=["tan chau"])
    assert names[("tien", "anh")] == {"a"} and names[("kim", "loan")] == {"a"}
    assert ("nghe", "an") not in names  # "Khác …": the answer says what it is not
    assert ("tan", "chau") not in names and ("ba", "con") not in names  # a place; a sentence's first word
    assert ("thu", "tuong", "chinh", "phu") not in names  # said by more than two entries: no signal


def test_a_product_named_in_one_answer_brings_that_entry_first():
    kb = KnowledgeBase.load()
    d = kb._decide("sp hạnh nhân Tiến Anh đạt OCOP mấy sao vậy", None)
    assert d.ranked[0].entry_id == "ag.ocop-san-pham-tieu-bieu"


def test_one_suggestion_is_asked_as_a_yes_or_no_question(kb):
    from bot.features.faq.answers import render_decision
    from knowledge.kb import Decision

    one, two = kb.entries["ocop.ai-cong-nhan"], kb.entries["ocop.diem-5-sao"]
    text, buttons = render_decision(kb, {}, Decision("suggest", None, [one], 70.0))
    assert text.startswith(f"Có phải bạn muốn hỏi: «{one.title.rstrip('?')}»?") and "một trong các câu" not in text
    assert [b.label for b in buttons] == [one.title]
    text, _ = render_decision(kb, {}, Decision("suggest", None, [one, two], 70.0))
    assert text.startswith("Có phải bạn muốn hỏi một trong các câu sau?")


def test_an_off_topic_question_first_is_not_answered_from_the_context_after_it(kb):
    # the question is the first clause; the rest says why one asks, naming a product the base knows
    text = "chiều nay Tri Tôn có mưa không ad, tui định đem đường thốt nốt ra phơi"
    assert kb.decide(text).kind in ("answer", "suggest")  # the whole message alone leans on «đường thốt nốt»
    assert understand(kb, text, TODAY).kind in ("offtopic", "decline")
    # … but a question that goes on after the comma, or a first clause with nothing in it, keep the whole
    u = understand(kb, "văn bản nào quy định, hồ sơ xét công nhận xã nông thôn mới gồm những gì", TODAY)
    assert u.kind != "offtopic"
    u = understand(kb, "được không bot, nhà em làm đường thốt nốt ở Tri Tôn muốn làm ocop", TODAY)
    assert u.kind in ("answer", "suggest")


def test_a_sure_question_first_is_not_pulled_away_by_the_context_after_it(kb):
    # «mắm cá linh» in the context leans the whole message on the household entry (hedged, when this was written)
    text = "ho so ocop gom nhung gi, nha chu lam mam ca linh o Chau Doc muon thu"
    u = understand(kb, text, TODAY)
    assert u.kind == "answer" and u.decision.entry.id == "ocop.ho-so-dang-ky"


def test_a_tail_naming_the_programme_says_what_an_unsure_message_asks(kb):
    # context first (a product the household entry names), the question last; the whole message only gets
    # suggestions, the tail from «năm tới muốn làm ocop» on is surely the dossier entry
    text = "tui o Cho Moi lam banh phong tom ban cho khach, nam toi muon lam ocop, ho so can nhung giay to gi vay"
    u = understand(kb, text, TODAY)
    assert u.kind == "answer" and u.decision.entry.id == "ocop.ho-so-dang-ky"


def test_a_declined_message_offers_what_its_tail_about_the_programme_suggests(kb):
    # the market's name reads as «thương mại», the product as nothing the base knows: the whole is declined
    text = "chị bán bánh pía ở chợ Mỹ Luông, muốn đưa lên OCOP, hồ sơ cần gì"
    u = understand(kb, text, TODAY)
    assert u.kind == "suggest" and u.decision.suggestions


def test_no_answer_for_a_candidate_the_first_stage_gives_less_than_a_third_of_a_chance(kb):
    import copy
    import dataclasses

    from knowledge.kb import ANSWER_FLOOR

    # a second stage sure of everything (its intercept alone): only the first stage's own probability holds it back
    c = kb.model.confidence
    sure = dataclasses.replace(kb.model, confidence={**c, "coef": [0.0] * len(c["coef"]), "intercept": 30.0})
    judge = copy.copy(kb).with_model(sure)
    for text in ("giá lúa IR 504 hôm nay bao nhiêu một ký", "ocop 4 sao cần bao nhiêu điểm"):
        d = judge.decide(text)
        assert d.decided and d.decided[0] > 0.99 and judge.model.thresholds.kind(d.decided) == "answer"
        assert (d.kind == "answer") == (d.ranked[0].prob >= ANSWER_FLOOR), (text, d.kind, d.ranked[0].prob)


def test_bot_as_a_word_of_address_is_neither_a_word_nor_a_topic(kb):
    # "… vậy bot" ends a question the way "… vậy ad" does; that people write so in the knowledge base's own
    # paraphrases ("vậy bot" is a known pair) does not make it a word, nor the question one about the bot
    r = kb.retriever.read("tiêu chí số 7 gồm những gì vậy bot")
    assert "bot" not in r.words and "bot" not in r.topics
    r = kb.retriever.read("bot giữ những gì của mình vậy bot")
    assert r.words[0] == "bot" and "bot" in r.topics  # the bot itself is the subject


def test_a_best_candidate_the_first_stage_is_sure_of_is_answered_though_the_second_stage_hesitates(kb):
    import copy
    import dataclasses

    from knowledge.kb import FIRST_SURE

    # a second stage that hesitates over everything (P = 0,5: only suggestions by the thresholds)
    c = kb.model.confidence
    unsure = dataclasses.replace(kb.model, confidence={**c, "coef": [0.0] * len(c["coef"]), "intercept": 0.0})
    judge = copy.copy(kb).with_model(unsure)
    seen = set()
    for text in ("ocop 4 sao cần bao nhiêu điểm", "giá lúa IR 504 hôm nay bao nhiêu một ký",
                 "hộ nghèo có phải góp tiền làm đường không", "tiêu chí nông thôn mới"):
        d = judge.decide(text)
        assert judge.model.thresholds.kind(d.decided) == "suggest"
        sure = d.ranked[0].prob >= FIRST_SURE
        seen.add(sure)
        assert (d.kind == "answer") == sure, (text, d.kind, d.ranked[0].prob)
        if sure:
            assert d.hedged  # saying how the question was understood
            runner = d.ranked[1] if len(d.ranked) > 1 else None
            if runner is not None and runner.prob >= d.ranked[0].prob / 2:
                assert runner.entry_id in {e.id for e in d.also}  # the other plausible entry is a tap away
    assert seen == {True, False}  # both cases were exercised


def test_ghep_is_said_for_a_merger(kb):
    # «ghép xã» is how many people say «sáp nhập»: the words of the merger entries, not of «ghép» anything else
    r = kb.retriever.read("ghép xã rồi thì danh hiệu nông thôn mới còn giữ không")
    assert {"sap", "nhap"} <= set(r.added)


def test_when_the_new_communes_started_work_is_the_two_level_government(kb):
    # «xã mới chính thức hoạt động từ ngày nào» was off-topic: none of its words is the entry's («chính quyền hai cấp»)
    for text in ("xã mới chính thức hoạt động từ ngày nào", "phường mới bắt đầu làm việc từ bao giờ"):
        d = kb.decide(text)
        assert d.kind == "answer" and d.entry.id == "ag.chinh-quyen-hai-cap", (text, d.kind)
