"""The console with two instances (separate `ntm-bot run` processes) on one PostgreSQL database, as deployed
behind a load balancer: a session opened on one works on the other, logging out on one ends it on both, failed
passwords count across both, an answer given through one reaches the citizen once, and knowledge published on
one is answered by the other without a restart."""
from __future__ import annotations

import asyncio
import re

from tests.console_helpers import PASSWORD, Client, console_bot, make_accounts
from tests.test_console_knowledge import ANSWER, NEW_Q
from tests.tickets_helpers import Driver, Person, file_report


async def test_two_instances_on_postgresql(own_pg, tmp_path, fake_tg):
    make_accounts(own_pg, tmp_path / "cli")
    bots = [console_bot(tmp_path, fake_tg, own_pg, name=f"i{n}", KB_WATCH_SECONDS="1") for n in (1, 2)]
    try:
        for b in bots:
            b.start()
        await asyncio.gather(*(b.wait_ready() for b in bots))
        one, two = bots
        farmer = Person(Driver(fake_tg, port=one.port), 4501)
        code = await file_report(farmer, description="Đèn đường ấp Bình An không sáng", place="xa my khanh")
        tid = int(code[3:])

        # one session, both instances (the cookie's secret and the session rows are in the database)
        a = Client(one.url)
        try:
            _, body = await a.login("an.binhduc")
            assert code in body
            cookie = a.cookie("canbo_phien")
            b = Client(two.url)
            try:
                b.http.cookie_jar.update_cookies({"canbo_phien": cookie})
                status, body = await b.get(f"/canbo/phan-anh/{tid}")
                assert status == 200 and "Đèn đường ấp Bình An" in body
                status, _ = await b.post(f"/canbo/phan-anh/{tid}/tra-loi", {"noi-dung": "Đã báo điện lực sửa đèn."})
                assert status == 200
                await farmer.expect("Đã báo điện lực sửa đèn")
                await asyncio.sleep(1.5)
                assert sum("Đã báo điện lực sửa đèn" in m.text for m in fake_tg.to(4501)) == 1  # once
                # log out on the second instance: the cookie is dead on the first too
                await b.post("/canbo/dang-xuat", {})
            finally:
                await b.close()
            _, body = await a.get("/canbo/hop-thu")
            assert "Hộp thư phản ánh" not in body and 'action="/canbo/dang-nhap"' in body
        finally:
            await a.close()

        # wrong passwords spread over both instances still lock the account
        for i in range(5):
            c = Client(bots[i % 2].url)
            try:
                await c.login("binh.longxuyen", "sai-mat-khau-000")
            finally:
                await c.close()
        c = Client(two.url)
        try:
            _, body = await c.login("binh.longxuyen", PASSWORD)
            assert "Tài khoản tạm khóa" in body
        finally:
            await c.close()

        # knowledge published through the first instance is answered by the second at once
        asker = Person(Driver(fake_tg, port=two.port), 4502)
        await asker.say(NEW_Q)
        await asker.expect("Có phải bạn muốn hỏi")
        author, approver = Client(one.url), Client(one.url)
        try:
            await author.login("an.binhduc")
            await author.get("/canbo/tri-thuc")
            status, _ = await author.post("/canbo/tri-thuc/muc-moi", {
                "tieu-de": NEW_Q, "cach-hoi": "\n".join([NEW_Q, "ho so cong nhan xa ntm gom gi",
                                                         "cần giấy tờ gì để xã được công nhận nông thôn mới",
                                                         "thành phần hồ sơ công nhận xã đạt chuẩn nông thôn mới"]),
                "tra-loi": ANSWER, "chu-de": "ntm", "giai-doan": "2021-2025", "loai-nguon": "van-ban",
                "nguon": "Quyết định 18/2022/QĐ-TTg", "ngay-nguon": "2022-08-02", "co-quan": "Thủ tướng Chính phủ",
                "han-ra-soat": "2027-06-30"})
            assert status == 200
            await approver.login("lanhdao")
            _, body = await approver.get("/canbo/tri-thuc")
            draft = int(re.search(r'data-draft="(\d+)"', body).group(1))
            status, body = await approver.post(f"/canbo/tri-thuc/duyet/{draft}", {})
            assert status == 200 and "Đã duyệt và đăng" in body
        finally:
            await author.close()
            await approver.close()
        await asyncio.sleep(2.5)  # the second instance's watcher (KB_WATCH_SECONDS=1) rebuilds its knowledge base
        await asker.say(NEW_Q)
        await asker.expect("biên bản lấy ý kiến người dân")
    finally:
        for b in bots:
            b.stop_now()
