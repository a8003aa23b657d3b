"""A curated entry edited in the console: the edit is a new version that needs approving again; the old version
is kept ("replaced"), the bot answers with the new one as soon as it is approved (in-process app, real HTTP)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from bot.features.console import accounts
from bot.storage.console import KbDraft
from tests.console_helpers import PASSWORD, Client
from tests.test_console_knowledge import NEW_Q
from tests.tickets_helpers import Driver, Person, ticket_settings

FORM = {"tieu-de": NEW_Q, "cach-hoi": "\n".join([NEW_Q, "ho so cong nhan xa ntm gom gi",
                                                 "cần giấy tờ gì để xã được công nhận nông thôn mới",
                                                 "thành phần hồ sơ công nhận xã đạt chuẩn nông thôn mới"]),
        "chu-de": "ntm", "giai-doan": "2021-2025", "loai-nguon": "van-ban", "nguon": "Quyết định 18/2022/QĐ-TTg",
        "ngay-nguon": "2022-08-02", "co-quan": "Thủ tướng Chính phủ", "han-ra-soat": "2027-06-30"}


async def test_a_curated_entry_gets_a_new_version(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    now = app.services.clock()
    for login in ("soan.thao", "duyet.bai"):
        app.db.call(accounts.save_account, now, login=login, name=login, password=PASSWORD)
    base = f"http://127.0.0.1:{app.settings.http_port}"
    author, approver = Client(base), Client(base)
    farmer = Person(Driver(fake_tg, app), 4601)
    try:
        await author.login("soan.thao")
        await approver.login("duyet.bai")

        async def publish() -> None:
            _, body = await approver.get("/canbo/tri-thuc")
            draft = re.search(r'data-draft="(\d+)"', body).group(1)
            status, body = await approver.post(f"/canbo/tri-thuc/duyet/{draft}", {})
            assert status == 200 and "Đã duyệt và đăng" in body, body[-500:]

        await author.get("/canbo/tri-thuc")
        await author.post("/canbo/tri-thuc/muc-moi", {**FORM, "tra-loi": "Phiên bản một: hồ sơ gồm tờ trình của xã."})
        await publish()
        await farmer.say(NEW_Q)
        await farmer.expect("Phiên bản một")
        # the edit form is pre-filled with the published version
        _, body = await author.get("/canbo/tri-thuc")
        entry_id = re.search(r'<li class="card curated" data-entry="([^"]+)"', body).group(1)
        assert "Phiên bản một: hồ sơ gồm tờ trình của xã.</textarea>" in body
        await author.post("/canbo/tri-thuc/muc-moi", {**FORM, "muc": entry_id,
                                                      "tra-loi": "Phiên bản hai: hồ sơ gồm tờ trình và báo cáo của xã."})
        await farmer.say(NEW_Q)
        await farmer.expect("Phiên bản một")  # not approved yet: the bot still answers with version 1
        await publish()
        await farmer.say(NEW_Q)
        await farmer.expect("Phiên bản hai")
    finally:
        await author.close()
        await approver.close()
    rows = app.db.call(lambda s: [(r.version, r.status, r.created_by, r.decided_by) for r in
                                  s.exec(sa.select(KbDraft).order_by(KbDraft.id)).scalars()])
    assert rows == [(1, "replaced", "canbo:soan.thao", "canbo:duyet.bai"),
                    (2, "published", "canbo:soan.thao", "canbo:duyet.bai")]
