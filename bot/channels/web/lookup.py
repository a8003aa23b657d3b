"""Looking a report up from any device: its code and the lookup secret the web chat showed with the receipt.

The secret is not stored anywhere: it is an HMAC of the ticket (id, filing time, the browser it came from) under the
web chat's key, so nobody can derive it from the code, and erasing the citizen's data (which unlinks the ticket
from the browser) ends it. The page answers the same for a wrong code and a wrong secret, and is rate-limited.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from typing import Any

import sqlalchemy as sa

from bot.kernel.messages import WEB
from bot.storage.tickets import STATUS_LABELS, Ticket, TicketMessage, format_code, parse_code

_SECRET_RE = re.compile(r"[^A-Z2-7]")


def lookup_secret(key: str, ticket_id: int, created_at: Any, chat_id: str) -> str:
    stamp = created_at.isoformat() if hasattr(created_at, "isoformat") else str(created_at)
    mac = hmac.new(key.encode(), f"ntm-web-lookup:{ticket_id}:{stamp[:19]}:{chat_id}".encode(), hashlib.sha256).digest()
    raw = base64.b32encode(mac).decode()[:10]
    return f"{raw[:5]}-{raw[5:]}"


def normalise_secret(typed: str) -> str:
    raw = _SECRET_RE.sub("", (typed or "").upper().replace("0", "O").replace("1", "I").replace("8", "B"))
    return f"{raw[:5]}-{raw[5:10]}" if len(raw) == 10 else ""


def receipt_secret(session: Any, key: str, sid: str, text: str) -> dict[str, str] | None:
    """For the receipt of a report filed from this browser: its code and lookup secret (shown with it)."""
    if "tiếp nhận" not in text:
        return None
    ticket_id = parse_code(text)
    if ticket_id is None:
        return None
    t = Ticket.__table__
    row = session.execute(sa.select(t.c.id, t.c.created_at, t.c.chat_id).where(
        t.c.id == ticket_id, t.c.channel == WEB, t.c.chat_id == sid)).first()
    if row is None:
        return None
    return {"code": format_code(row.id), "secret": lookup_secret(key, row.id, row.created_at, row.chat_id)}


def find(session: Any, key: str, code: str, secret: str) -> dict[str, Any] | None:
    """The public view of a ticket, if the code and the secret match; None otherwise (same answer for both)."""
    ticket_id = parse_code(code)
    wanted = normalise_secret(secret)
    if ticket_id is None or not wanted:
        return None
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.channel != WEB:
        return None
    if not hmac.compare_digest(lookup_secret(key, ticket.id, ticket.created_at, ticket.chat_id), wanted):
        return None
    m = TicketMessage.__table__
    answers = session.execute(sa.select(m.c.text, m.c.created_at).where(m.c.ticket_id == ticket.id, m.c.kind == "answer")
                              .order_by(m.c.id)).all()
    return {"code": ticket.code, "category": ticket.category_label, "commune": ticket.commune_name,
            "status": STATUS_LABELS.get(ticket.status, ticket.status), "created": ticket.created_at,
            "due": ticket.due_date, "answers": [(a.text, a.created_at) for a in answers]}


def _date(value: Any) -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value or "")


def result_html(found: dict[str, Any] | None, asked: bool) -> str:
    from bot.channels.web import texts as W

    if not asked:
        return ""
    if found is None:
        return f'<p class="status error" role="alert">{html.escape(W.LOOKUP_NOT_FOUND)}</p>'
    e = html.escape
    rows = [(W.LOOKUP_CODE, found["code"]), (W.LOOKUP_CATEGORY, found["category"]),
            (W.LOOKUP_COMMUNE, found["commune"] or "—"), (W.LOOKUP_STATUS, found["status"]),
            (W.LOOKUP_CREATED, _date(found["created"])), (W.LOOKUP_DUE, _date(found["due"]))]
    out = ['<section class="result" aria-labelledby="result-title">',
           f'<h2 id="result-title">{e(W.LOOKUP_RESULT)}</h2><dl>']
    out += [f"<dt>{e(k)}</dt><dd>{e(str(v))}</dd>" for k, v in rows]
    out.append("</dl>")
    if found["answers"]:
        out.append(f"<h3>{e(W.LOOKUP_ANSWERS)}</h3><ol class=\"answers\">")
        out += [f'<li><p class="answer">{e(text)}</p><p class="meta">{e(_date(at))}</p></li>' for text, at in found["answers"]]
        out.append("</ol>")
    else:
        out.append(f"<p>{e(W.LOOKUP_NO_ANSWER)}</p>")
    out.append("</section>")
    return "".join(out)
