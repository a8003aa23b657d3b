"""The optional e-mail copy of each new ticket, through the outbox, to a real local SMTP server (aiosmtpd)."""
from __future__ import annotations

import asyncio
import email
from email import policy

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.storage.models import OutboxMessage
from tests.conftest import eventually, free_port
from tests.tickets_helpers import Driver, Person, file_report, ticket_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler API
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"bot", b"mat-khau")
    return AuthResult(success=ok)


async def test_new_ticket_is_mailed_and_a_mail_outage_only_delays_it(tmp_path, fake_tg, make_app):
    port = free_port()
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                        auth_require_tls=False, auth_exclude_mechanism=["CRAM-MD5"])
    app = await make_app(ticket_settings(
        tmp_path, fake_tg, agency_email="vpdp@angiang.example, tiepnhan@angiang.example", smtp_host="127.0.0.1",
        smtp_port=port, smtp_user="bot", smtp_password="mat-khau", smtp_starttls=False,
        smtp_from="ntm-bot@angiang.example", smtp_timeout=3))
    assert "email" in app.adapters
    d = Driver(fake_tg, app)
    # The mail server is down when the first report comes in.
    code = await file_report(Person(d, 5901), contact=("Đặng Văn Sáu", "0933444555"))
    rows = lambda: app.db.call(lambda s: s.execute(sa.select(OutboxMessage.status, OutboxMessage.attempts).where(
        OutboxMessage.channel == "email")).all())
    await eventually(lambda: (r := rows()) and all(a >= 1 for _, a in r))
    assert all(status == "pending" for status, _ in rows())  # failed, kept for a retry
    server.start()
    try:
        await eventually(lambda: len(inbox.messages) == 2, timeout=20)
    finally:
        server.stop()
    msg = inbox.messages[0]
    assert msg["Subject"] == f"[{code}] Phản ánh mới: Giao thông - Phường Bình Đức"
    assert msg["From"] == "ntm-bot@angiang.example"
    body = msg.get_content()
    assert code in body and "Đường ấp 3 bị sạt lở" in body and "Phường Bình Đức" in body
    assert "09xx xxx 555" in body and "0933444555" not in body
    assert sorted(to for _, tos in inbox.envelopes for to in tos) == ["tiepnhan@angiang.example", "vpdp@angiang.example"]
    await eventually(lambda: all(status == "sent" for status, _ in rows()))


async def test_no_email_adapter_without_settings(tmp_path, fake_tg, make_app):
    app = await make_app(ticket_settings(tmp_path, fake_tg))
    assert "email" not in app.adapters
    await file_report(Person(Driver(fake_tg, app), 5902))
    await asyncio.sleep(0.2)
    assert not app.db.call(lambda s: s.execute(sa.select(OutboxMessage.id).where(OutboxMessage.channel == "email")).all())
