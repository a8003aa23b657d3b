"""E-mail as an outbox channel: the optional copy of each new ticket to AGENCY_EMAIL.

Going through the outbox makes the copy as durable as any other message: written with the ticket, retried
with back-off while the mail server is down, never sent twice except in the in-flight window. aiosmtplib
is the asyncio SMTP client (STARTTLS, implicit TLS, AUTH) and runs on the bot's event loop, so a slow mail
server costs no thread.
"""
from __future__ import annotations

import email.utils
import logging
import socket
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import aiosmtplib

from bot.kernel.channel import CHANNELS, Caps, ChannelAdapter, ChannelSpec, SendResult
from bot.kernel.outbox import Limit

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
EMAIL = "email"


class EmailChannel(ChannelAdapter):
    name = EMAIL

    def __init__(self, settings: "Settings"):
        self.s = settings

    def limits(self, msg: dict[str, Any]) -> list[Limit]:
        return [Limit("email", 30, 60.0)]  # a polite pace for a shared mail server

    def build(self, to: str, payload: dict[str, Any]) -> EmailMessage:
        s = self.s
        msg = EmailMessage()
        msg["From"] = s.smtp_from or s.smtp_user or f"ntm-bot@{socket.gethostname()}"
        msg["To"] = to
        msg["Subject"] = (payload.get("extra") or {}).get("subject") or "ntm-bot"
        msg["Date"] = email.utils.formatdate(localtime=True)
        msg["Message-ID"] = email.utils.make_msgid(domain="ntm-bot")
        msg.set_content(payload.get("text") or "", charset="utf-8")
        return msg

    async def send(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        s = self.s
        try:
            await aiosmtplib.send(
                self.build(chat_id, payload),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password or None,
                start_tls=bool(s.smtp_starttls and not s.smtp_ssl),
                use_tls=s.smtp_ssl,
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            return SendResult(False, permanent=True, error=f"recipient refused: {err}")
        except aiosmtplib.SMTPResponseException as err:
            if 500 <= err.code < 600 and err.code not in (530, 535):  # 5xx is final; auth problems may be fixed
                return SendResult(False, permanent=True, error=f"SMTP {err.code}: {err.message}")
            return SendResult(False, error=f"SMTP {err.code}: {err.message}")
        except (aiosmtplib.SMTPException, OSError) as err:
            return SendResult(False, error=f"{type(err).__name__}: {err}")
        return SendResult(True)


CHANNELS.register(ChannelSpec(EMAIL, Caps(buttons=False, max_len=200_000, markup=False),  # one message, however long
                              title="e-mail", configured=lambda s: bool(s.agency_email and s.smtp_host),  # the ticket copy
                              factory=lambda host: EmailChannel(host.settings)))
