""""Xã Mỹ Khánh cũ nay thuộc đâu?": former units answered from NQ 1654 (knowledge/communes.csv), before the FAQ,
through Telegram (fake Bot API over real HTTP) and `ntm-bot ask` (a real subprocess)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from knowledge.former_units import answer
from tests.conftest import tg_settings


@pytest.mark.parametrize("question, new_unit", [
    ("xa my khanh cu nay thuoc phuong nao", "Phường Bình Đức"),
    ("Thị trấn Núi Sập giờ thuộc xã nào?", "Xã Thoại Sơn"),
    ("ad oi xa vinh khanh sap nhap vao dau a", "Xã Vĩnh Trạch"),
    ("xã Vĩnh Khánh bị ghép vô xã nào vậy", "Xã Vĩnh Trạch"),  # «ghép», as people say it
    ("cho em hoi xa nam thai son cu nay thuoc xa nao", "Xã Hòn Đất"),  # not "Nam Thái" (Xã Đông Thái)
    ("xa hon tre cu gio thuoc dau", "Đặc khu Kiên Hải"),
    ("xã Mỹ Khánh", "Phường Bình Đức"),  # the name alone
    ("xa vong the gio thuoc xa nao", "Xã Óc Eo"),  # the name ends in a question tail ("thê" ~ "thế")
    ("xã Vọng Thê huyện Thoại Sơn giờ thuộc xã nào", "Xã Óc Eo"),  # the district only says where it was
    ("xa vong the cua thoai son bay gio thuoc dau", "Xã Óc Eo"),
    ("chau lang tri ton gio thuoc xa j", "Xã Tri Tôn"),  # commune, then its district: the commune is asked
    ("ông bà em ở thị trấn Núi Sập, giờ làm giấy tờ ghi tên xã gì", "Xã Thoại Sơn"),  # "ghi tên xã gì": the address
    # a long message, the province written out: "An Giang" is not a unit's name
    ("con o xa vinh khanh huyen thoai son tinh an giang nay muon hoi dia chi moi bay gio la xa gi vay", "Xã Vĩnh Trạch"),
    # longer still, with a greeting and why one asks (26 words): asked where it went, it is still a lookup
    ("Dạ ba má con ở xã Tân Lợi huyện Tịnh Biên cũ, bây giờ làm hồ sơ thì ghi địa chỉ là xã hay phường gì ạ",
     "Phường Chi Lăng"),
])
def test_a_former_unit_is_found_in_its_new_unit_with_the_clause(question, new_unit):
    text = answer(question)
    assert text is not None and f"nay thuộc **{new_unit}**" in text and "(cũ) nay thuộc" in text
    assert "Nghị quyết 1654/NQ-UBTVQH15, Điều 1 khoản" in text and text.endswith("(hiện hành).")


def test_what_a_unit_is_made_of_and_units_kept_as_they_were():
    assert "các xã Tấn Mỹ, Mỹ Hiệp và Bình Phước Xuân" in answer("cù lao giêng gồm những xã nào")
    assert "không sắp xếp, giữ nguyên" in answer("xa my hoa hung co bi sap nhap ko")
    # how many, which former units: "mấy xã cũ" is composition, not "how many communes has the province"
    assert "các phường Mỹ Bình, Mỹ Long" in answer("phuong long xuyen do may phuong cu gop lai")
    assert "các xã Tấn Mỹ, Mỹ Hiệp" in answer("xã cù lao giêng có mấy xã cũ nhập lại")


def test_how_many_former_units_a_unit_was_made_of_is_said():
    a = answer("phường Long Xuyên do mấy phường cũ gộp lại")
    assert "6 đơn vị cũ" in a and "6 phường" in a
    assert "1 thị trấn, 2 xã" in answer("xã Lê Trì cũ giờ thuộc xã nào")


def test_a_question_about_the_ethnic_minority_zone_is_no_lookup_of_the_merger():
    # «thuộc xã khu vực mấy» asks the zone (vùng đồng bào DTTS), which the knowledge base answers
    assert answer("ở Lê Trì thì thuộc xã khu vực nào trong vùng đồng bào") is None
    assert answer("Lê Trì giờ thuộc xã nào") is not None


def test_several_former_units_in_one_question_are_each_answered():
    text = answer("nha em o Le Tri, xa Le Tri voi Lac Quoi sap nhap vao dau vay")
    assert "xã Lê Trì (cũ) nay thuộc **Xã Ba Chúc**" in text and "xã Lạc Quới (cũ) nay thuộc **Xã Ba Chúc**" in text
    assert text.count("được lập từ") == 1  # one unit: its composition once
    text = answer("xa my khanh va xa vong the gio thuoc xa nao")
    assert "**Phường Bình Đức**" in text and "**Xã Óc Eo**" in text and "UBND phường Bình Đức, xã Óc Eo" in text


def test_a_name_used_in_several_places_gives_the_choices():
    text = answer("xa hoa an cu gio thuoc xa nao")  # Hòa An of Chợ Mới and Hòa An of Giồng Riềng
    assert "Tên này có ở nhiều nơi" in text
    assert "Xã Hội An (gồm xã Hòa An (huyện Chợ Mới) cũ)" in text and "Xã Hòa Hưng (gồm xã Hòa An (huyện Giồng Riềng) cũ)" in text


def test_namesakes_are_told_apart_by_the_former_district_the_message_names():
    # three former communes named Vĩnh Phú (Thoại Sơn, Giồng Riềng, Giang Thành): the district written with the name,
    # as people write it ("bên …", "ở …", or just after it), picks one
    for text, unit in (("xã Vĩnh Phú bên Thoại Sơn giờ thuộc xã nào", "Xã Định Mỹ"),
                       ("vinh phu giang thanh cu nay thuoc dau", "Xã Vĩnh Điều"),
                       ("xa tan thanh o tan chau gio la xa gi", "Xã Tân An")):
        found = answer(text)
        assert found is not None and f"nay thuộc **{unit}**" in found and "nhiều nơi" not in found, text
    # … both namesakes, each with its district: each answered
    found = answer("xã Vĩnh Phú ở Thoại Sơn với xã Vĩnh Phú ở Giồng Riềng bây giờ thuộc đâu")
    assert found is not None and "nay thuộc **Xã Định Mỹ**" in found and "nay thuộc **Xã Long Thạnh**" in found
    assert "nhiều nơi" not in found and "Vĩnh Điều" not in found  # not the third, of Giang Thành


def test_a_unit_split_between_units_gives_its_parts_not_a_choice():
    text = answer("xa phu hoi cu gio thuoc xa nao")  # khoản 1 took part of it, khoản 3 the rest
    assert "Tên này có ở nhiều nơi" not in text and "xã Phú Hội (cũ) được chia cho 2 đơn vị" in text
    assert "• Một phần xã Phú Hội cũ → **Xã An Phú**" in text and "• Phần còn lại của xã Phú Hội cũ → **Xã Nhơn Hội**" in text
    text = answer("vinh chau cu tach ra thi ve phuong nao")
    assert "**Phường Châu Đốc**" in text and "• Phần còn lại của xã Vĩnh Châu cũ → **Phường Vĩnh Tế**" in text
    # … and two former units named together, asked whether they are one unit now
    text = answer("xã Lê Trì với xã Lạc Quới giờ chung một xã phải không")
    assert "xã Lê Trì (cũ) nay thuộc **Xã Ba Chúc**" in text and "xã Lạc Quới (cũ) nay thuộc **Xã Ba Chúc**" in text


def test_a_district_is_not_answered_as_the_commune_of_the_same_name():
    text = answer("huyện Thoại Sơn cũ giờ là xã gì")
    assert "không còn cấp huyện" in text and "không gồm cả huyện cũ" in text


@pytest.mark.parametrize("question", [
    "sáp nhập rồi xã tôi còn là xã nông thôn mới không",  # NTM: the knowledge base
    "Thoại Sơn đạt nông thôn mới nâng cao khi nào",
    "an giang sáp nhập với tỉnh nào",
    "an giang co may xa",  # the province's count: the knowledge base
    "châu đốc có sản phẩm ocop gì",
    "xa cu cua toi nay thuoc xa nao",  # no name given
    "thuốc giảm đau đầu",  # sounds like "Gành Dầu"
    "tỷ giá đô la",  # sounds like "Ô Lâm"
    "tc11 ho ngheo",  # sounds like "Hòn Nghệ"
    "dang ky nhan tin",
])
def test_other_questions_are_left_to_the_knowledge_base(question):
    assert answer(question) is None


def test_ask_answers_it_like_the_bot():
    r = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json"], input="xã Vĩnh Khánh cũ giờ thuộc xã nào\nocop 4 sao bao nhieu diem\n",
                       capture_output=True, text=True, timeout=120)
    first, second = (json.loads(line) for line in r.stdout.splitlines())
    assert first["matched"] and "Xã Vĩnh Trạch" in first["answer"] and "**" not in first["answer"]
    assert second["entry_id"] == "ocop.diem-4-sao"


async def test_on_telegram_the_lookup_comes_before_the_faq(tmp_path, fake_tg, make_app):
    await make_app(tg_settings(tmp_path, fake_tg, kb_dir=None))  # the lookup cites the shipped base's entry (facts)
    fake_tg.push(fake_tg.make_message(5101, "thi tran nui sap gio thuoc xa nao"))
    reply = await fake_tg.wait_text(5101, "Xã Thoại Sơn")
    assert "thị trấn Núi Sập (cũ) nay thuộc" in reply.text and "Nguồn: Nghị quyết 1654/NQ-UBTVQH15" in reply.text
    fake_tg.push(fake_tg.make_message(5101, "ocop 4 sao bao nhieu diem"))
    await fake_tg.wait_text(5101, "70 đến dưới 90")


def test_a_long_message_is_read_at_the_clause_that_asks():
    text = ("chao bot, chu lam ruong o xa Tho Son may chuc nam nay, con cai di lam xa het, gio sap nhap roi thi xa chu "
            "thuoc xa nao vay, mai mot lam giay to cho tui nho thi ghi sao cho dung, cam on bot nhieu nha")
    assert len(text.split()) > 34
    reply = answer(text)
    assert reply is not None and "xã Thổ Sơn (cũ) nay thuộc **Xã Hòn Đất**" in reply
    # … but a long message about the programme is not a lookup
    assert answer("xa em o Tho Son sap nhap roi thi tieu chi nong thon moi tinh sao, xa cu dat roi gio xa moi "
                  "co phai lam lai tu dau khong, ba con trong ap hoi hoai ma can bo xa chua tra loi") is None


def test_the_former_district_written_after_the_name_only_says_where_it_was():
    text = answer("xa Vong The Thoai Son gio thuoc xa nao")  # Thoại Sơn: a former district, and today's Xã Thoại Sơn
    assert text is not None and "xã Vọng Thê (cũ) nay thuộc **Xã Óc Eo**" in text
    text = answer("xa my hoa hung long xuyen gio thuoc dau")  # "hòa hưng" inside "mỹ hòa hưng" is no second name
    assert text is not None and "**Xã Mỹ Hòa Hưng** không sắp xếp, giữ nguyên" in text


@pytest.mark.parametrize("question, typed, nearest", [
    ("nha em o xã Tân Hội Trung cũ giờ thuộc xã nào", "xã Tân Hội Trung", "Xã Tân Hội"),  # a commune of Đồng Tháp
    ("phuong My Binh Tay gio thuoc phuong nao", "phuong My Binh Tay", "Mỹ Bình"),
])
def test_a_longer_name_than_the_one_found_is_not_answered_as_it(question, typed, nearest):
    text = answer(question)
    assert text is not None and f"Tôi không tìm thấy «{typed}»" in text and nearest in text
    assert "nay thuộc **" not in text  # no unit is claimed for it
    # … while the name itself, or followed by its district or the question, is answered
    for same in ("xa tan hoi gio nhap vo dau", "xa Tan Hoi huyen Tan Hiep cu gio la xa nao",
                 "xa Vong The Thoai Son gio thuoc xa nao", "phuong My Binh cu gio thuoc phuong nao",
                 "nha ngoai o xa Kien An Cho Moi gio thuoc xa nao"):  # its district (two syllables) follows
        assert "Tôi không tìm thấy" not in (answer(same) or ""), same


def test_a_hamlet_is_not_in_the_resolution_and_the_reply_says_what_to_send():
    for question in ("ap hoa long xa em gio thuoc xa nao", "khóm 5 giờ nhập vô phường nào vậy"):
        text = answer(question)
        assert text is not None and "không ghi từng ấp, khóm" in text and "xã (cũ)" in text, question
    # a hamlet with its commune is the commune's lookup; «áp dụng» is no hamlet
    assert "nay thuộc **Xã Vĩnh Trạch**" in answer("ap 3 xa vinh khanh gio thuoc xa nao")
    assert answer("bo tieu chi moi ap dung gio thuoc xa nao") is None
