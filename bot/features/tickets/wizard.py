# Over 400 lines: the report wizard, one conversation read top to bottom (its steps in order).
"""/phananh: the guided report. What the citizen sees, in order:

    ask_category     buttons with the configured categories (numbers on channels without buttons)
    ask_description  what happened, in words; photos and documents are kept by reference (several allowed)
    ask_location     the xã/phường/đặc khu of today's An Giang; old commune names are found too
    ask_hamlet       ấp/khóm, free text, may be skipped
    ask_contact      anonymous, or name and phone after an explicit consent step (Luật 91/2025/QH15, NĐ 356/2025/NĐ-CP)
    confirm          a summary; send, edit any part, or cancel

The draft lives in the chat row (`ctx.set_state/update_data`), so a restart mid-report continues where the
citizen was. Each draft has an id; the ticket remembers it, so pressing "Gửi" twice files one ticket.
Anything missing is asked next (`ask_next`), which is also how editing works: clear a part, ask again.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlmodel import Session, select

from bot.features.tickets import service as ticketing
from bot.features.tickets import texts as T
from bot.features.tickets.question import question_button, question_to_officer
from bot.kernel import texts
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.messages import Attachment, Button, clip
from bot.kernel.registry import Ctx, Services, StatesGroup, callback, command, menu_item, steps, text_handler
from knowledge.communes import default_finder, outside_an_giang
from knowledge.complaint import Complaint, hamlet_in
from knowledge.normalize import fold

FB_CB = CallbackPrefix("fb")  # fb:<action>[:<argument>]

class Report(StatesGroup, prefix="feedback"):
    """The report wizard's states, in the order a citizen usually goes through them (handlers: `STEPS` below)."""

    category = "ask_category"
    description = "ask_description"
    location = "ask_location"
    hamlet = "ask_hamlet"
    contact = "ask_contact"
    name = "ask_name"
    phone = "ask_phone"
    confirm = "confirm"


S_CATEGORY, S_DESCRIPTION, S_LOCATION, S_HAMLET, S_CONTACT, S_NAME, S_PHONE, S_CONFIRM = Report.states()
PREFIX = "feedback."  # every Report state starts with it
MIN_DESCRIPTION = 8  # characters (after trimming): "abc" is refused
FEW_WORDS = 4  # a description of fewer words ("đường hư") gets one gentle prompt for what, where exactly, since when
KEEPABLE = ("photo", "document", "video", "voice", "audio", "location")


# ------------------------------------------------------------------ starting
@command("phananh", description=T.CMD_REPORT)
def start_report(ctx: Ctx) -> None:
    """A new draft. Text after the command ("/phananh đường ấp 3 sạt lở") is taken as the description."""
    begin(ctx, description=ctx.args.strip())


def begin(ctx: Ctx, description: str = "", attachments: list[Attachment] | None = None,
          prefill: dict | None = None) -> None:
    """`prefill`: parts already known (category, commune_code, commune_name), e.g. guessed from a complaint."""
    data: dict = {"draft": uuid.uuid4().hex[:16], "attachments": [a.to_dict() for a in attachments or []]}
    if len(description) >= MIN_DESCRIPTION:
        data["description"] = description[:4000]
    data.update({k: v for k, v in (prefill or {}).items() if v})
    ctx.clear_options()
    ctx.set_state(S_CATEGORY, data)
    ask_next(ctx)


@menu_item(40)
def _menu_report(ctx: Ctx) -> Button:
    return Button(T.BTN_REPORT, FB_CB.pack("start"))


@callback(FB_CB)
def on_button(ctx: Ctx) -> None:
    cb = ctx.callback_data  # fb:<action>[:<argument>]
    action, arg = cb.arg(0), cb.rest(1)
    if action == "start":
        begin(ctx)
        return
    if action == "ask":
        question_to_officer(ctx, arg)
        return
    if action in ("qsend", "qedit", "qcancel"):
        question_button(ctx, action, arg)
        return
    if action == "offer":
        accept_offer(ctx, arg)
        return
    if action == "send":
        send(ctx, arg)
        return
    if not ctx.state or not ctx.state.startswith(PREFIX):
        ctx.reply(T.DRAFT_GONE)
        return
    if action == "cat":
        cat = ticketing.category_by_slug(ctx.settings, arg)
        if cat is None:
            ask_category(ctx)
            return
        ctx.update_data(category=cat.slug)
    elif action == "commune":
        if arg == "raw":
            ctx.update_data(commune_code=None, commune_name=ctx.data.get("commune_input", ""))
        elif arg == "retype":
            ctx.set_state(S_LOCATION)
            ctx.reply(T.LOCATION_RETYPE)
            return
        else:
            commune = default_finder().by_code.get(arg)
            if commune is None:
                ctx.reply(T.LOCATION_RETYPE)
                return
            ctx.update_data(commune_code=commune.code, commune_name=commune.name)
            ctx.reply(T.LOCATION_FOUND.format(name=commune.name))
    elif action == "desc":  # "Giữ nguyên, đi tiếp" after the prompt for details
        if ctx.data.get("short_description") and not ctx.data.get("description"):
            _set_description(ctx, ctx.data["short_description"])
            return
    elif action == "hamlet":
        ctx.update_data(hamlet="")
    elif action == "contact":
        if arg == "anon":
            ctx.update_data(contact="anonymous", name=None, phone=None, consent_at=None)
        else:
            ctx.update_data(contact=None)
            ctx.set_state(S_CONTACT)
            ctx.reply(T.CONSENT.format(agency=ctx.settings.agency_name, months=ctx.settings.contact_retention_months),
                      buttons=[Button(T.BTN_CONSENT_YES, FB_CB.pack("consent", "yes")), Button(T.BTN_ANONYMOUS, FB_CB.pack("contact", "anon"))])
            return
    elif action == "consent":
        ctx.update_data(contact="consented", consent_at=ctx.now.isoformat())
    elif action == "edit":
        clear = {"category": ["category"], "description": ["description", "short_description"],
                 "location": ["commune_name", "commune_code", "commune_input", "hamlet"],
                 "contact": ["contact", "name", "phone", "consent_at"]}.get(arg, [])
        data = {k: v for k, v in ctx.data.items() if k not in clear}
        ctx.set_state(ctx.state, data)
    elif action == "cancel":
        ctx.clear_state()
        ctx.clear_options()
        ctx.reply(T.REPORT_CANCELLED)
        return
    elif action == "resume":
        pass
    ask_next(ctx)


# ------------------------------------------------------------------ asking what is missing
def ask_next(ctx: Ctx) -> None:
    d = ctx.data
    if not d.get("category"):
        ask_category(ctx)
    elif not d.get("description"):
        ctx.set_state(S_DESCRIPTION)
        ctx.reply(T.ASK_DESCRIPTION)
    elif "commune_name" not in d:
        ctx.set_state(S_LOCATION)
        ctx.reply(T.ASK_LOCATION)
    elif "hamlet" not in d:
        ctx.set_state(S_HAMLET)
        ctx.reply(T.ASK_HAMLET, buttons=[Button(T.BTN_SKIP, FB_CB.pack("hamlet", "skip"))])
    elif not d.get("contact"):
        ctx.set_state(S_CONTACT)
        ctx.reply(T.ASK_CONTACT, buttons=[Button(T.BTN_ANONYMOUS, FB_CB.pack("contact", "anon")), Button(T.BTN_GIVE_CONTACT, FB_CB.pack("contact", "give"))])
    elif d.get("contact") == "consented" and not d.get("name"):
        ctx.set_state(S_NAME)
        ctx.reply(T.ASK_NAME)
    elif d.get("contact") == "consented" and not d.get("phone"):
        ctx.set_state(S_PHONE)
        ctx.reply(T.ASK_PHONE)
    else:
        ctx.set_state(S_CONFIRM)
        show_summary(ctx)


def ask_category(ctx: Ctx, again: bool = False) -> None:
    ctx.set_state(S_CATEGORY)
    buttons = [Button(c.label, FB_CB.pack("cat", c.slug)) for c in ticketing.categories(ctx.settings)]
    text = T.ASK_CATEGORY_AGAIN if again else T.ASK_CATEGORY.format(agency=ctx.settings.agency_name)
    ctx.reply(text, buttons=buttons, per_row=2)


def show_summary(ctx: Ctx) -> None:
    d = ctx.data
    cat = ticketing.category_by_slug(ctx.settings, d.get("category", ""))
    place = d.get("commune_name") or T.PLACE_UNKNOWN
    if d.get("hamlet"):
        place = f"{d['hamlet']}, {place}"
    contact = T.CONTACT_ANONYMOUS if d.get("contact") == "anonymous" else f"{d.get('name')} · {d.get('phone')}"
    n = len(d.get("attachments") or [])
    ctx.reply(
        T.SUMMARY.format(category=cat.label if cat else "?", place=place, description=ticketing.short(d.get("description", ""), 600),
                         media=T.SUMMARY_MEDIA.format(n=n) if n else "", contact=contact),
        buttons=summary_buttons(d),
    )


def summary_buttons(d: dict) -> list[Button]:
    return [
        Button(T.BTN_SEND, FB_CB.pack("send", d['draft'])),
        Button(T.BTN_EDIT_CATEGORY, FB_CB.pack("edit", "category")),
        Button(T.BTN_EDIT_DESCRIPTION, FB_CB.pack("edit", "description")),
        Button(T.BTN_EDIT_LOCATION, FB_CB.pack("edit", "location")),
        Button(T.BTN_EDIT_CONTACT, FB_CB.pack("edit", "contact")),
        Button(T.BTN_CANCEL, FB_CB.pack("cancel")),
    ]


# ------------------------------------------------------------------ steps (the next message of the citizen)
def _keep_attachments(ctx: Ctx) -> int:
    """Add what came with this message to the draft; returns how many the draft has."""
    kept = list(ctx.data.get("attachments") or [])
    new = [a.to_dict() for a in ctx.inbound.attachments if a.kind in KEEPABLE]
    if new:
        room = ticketing.MAX_ATTACHMENTS - len(kept)
        if room < len(new):
            ctx.reply(T.MEDIA_LIMIT.format(n=ticketing.MAX_ATTACHMENTS))
        kept += new[: max(room, 0)]
        ctx.update_data(attachments=kept)
    elif ctx.inbound.attachments and not ctx.inbound.text.strip():
        ctx.reply(T.MEDIA_UNSUPPORTED)
    return len(kept)


def _media_only(ctx: Ctx) -> bool:
    """A photo without words in a step that wants words: keep it, say so, stay on the step."""
    if ctx.inbound.text.strip() or not ctx.inbound.attachments:
        return False
    n = _keep_attachments(ctx)
    ctx.reply(T.MEDIA_ADDED.format(n=n))
    return True


def on_category(ctx: Ctx) -> None:
    if _media_only(ctx):
        return
    text = fold(ctx.inbound.text)
    cats = ticketing.categories(ctx.settings)
    chosen = None
    if text.isdigit() and 1 <= int(text) <= len(cats):
        chosen = cats[int(text) - 1]
    else:
        from rapidfuzz import fuzz

        scored = sorted(((fuzz.WRatio(text, fold(c.label)), c) for c in cats), key=lambda x: -x[0])
        if text and scored and scored[0][0] >= 85:
            chosen = scored[0][1]
    if chosen is None:
        ask_category(ctx, again=True)
        return
    ctx.update_data(category=chosen.slug)
    ask_next(ctx)


_KEEP_SHORT = {"giu nguyen", "giu", "tiep", "di tiep", "tiep tuc", "vay thoi", "khong", "ko", "khong co", "thoi", "het",
               "du roi", "vay du roi", "bo qua"}


def on_description(ctx: Ctx) -> None:
    text = ctx.inbound.text.strip()
    n = _keep_attachments(ctx)
    short = ctx.data.get("short_description")
    if not text:
        ctx.reply(T.MEDIA_RECEIVED.format(n=n) if n else T.DESCRIPTION_TOO_SHORT)
        return
    if short:  # the answer to the one prompt for details: added to what was said, or "giữ nguyên"
        said = fold(text)
        text = short if said in _KEEP_SHORT else (text if fold(short) in said else f"{short}. {text}")
        _set_description(ctx, text)
        return
    if len(text) < MIN_DESCRIPTION or not fold(text):
        ctx.reply(T.DESCRIPTION_TOO_SHORT)
        return
    if len(fold(text).split()) < FEW_WORDS:
        ctx.update_data(short_description=text[:4000])
        ctx.reply(T.DESCRIPTION_MORE.format(text=ticketing.short(text, 60)), buttons=[Button(T.BTN_KEEP_SHORT, FB_CB.pack("desc", "keep"))])
        return
    _set_description(ctx, text)


def _set_description(ctx: Ctx, text: str) -> None:
    d = {k: v for k, v in ctx.data.items() if k != "short_description"}
    d["description"] = text[:4000]
    ctx.set_state(ctx.state or S_DESCRIPTION, d)
    ask_next(ctx)


def _shared_location(ctx: Ctx) -> bool:
    """A location shared from the map (Zalo OA, Telegram) at the commune step: kept with the report, the place's
    name with it; the name is not a commune typed by the citizen. Which commune the coordinates fall in cannot be
    known here (no boundaries or coordinates of the 102 communes are available), so the commune is asked, the
    place's name shown; a name that is itself certainly a commune ("Phường Long Xuyên") is offered, never taken."""
    places = [a for a in ctx.inbound.attachments if a.kind == "location"]
    if not places or ctx.inbound.text.strip():
        return False
    before = len(ctx.data.get("attachments") or [])
    if _keep_attachments(ctx) == before:  # the draft is full (the citizen was told): the commune still in words
        ctx.reply(T.LOCATION_RETYPE)
        return True
    name = next((a.name for a in places if a.name), "")
    shown = T.LOCATION_SHARED_NAME.format(name=clip(name)) if name else ""
    found = default_finder().find(name[:200]) if name and outside_an_giang(name) is None else None
    if found is not None and found.kind == "one" and found.best is not None and found.certain:
        ctx.reply(T.LOCATION_SHARED_IS_IT.format(place=shown, name=found.best.label),
                  buttons=[Button(clip(T.BTN_YES_PLACE.format(name=found.best.commune.name)), FB_CB.pack("commune", found.best.commune.code)),
                           Button(T.BTN_RETYPE, FB_CB.pack("commune", "retype"))])
        return True
    ctx.reply(T.LOCATION_SHARED.format(place=shown))
    return True


def on_location(ctx: Ctx) -> None:
    if _shared_location(ctx) or _media_only(ctx):
        return
    text = ctx.inbound.text.strip()[:200]
    if not fold(text):
        ctx.reply(T.ASK_LOCATION)
        return
    found = default_finder().find(text)
    ctx.update_data(commune_input=text)
    outside = outside_an_giang(text)
    candidates = [Button(clip(c.label), FB_CB.pack("commune", c.commune.code)) for c in found.candidates]
    if outside is not None:  # another province: said so; a place of An Giang can still be chosen or typed
        where = T.LOCATION_OUTSIDE_WAS.format(province=outside.province) if outside.province else ""
        ctx.reply(T.LOCATION_OUTSIDE.format(typed=outside.typed, where=where),
                  buttons=candidates + [Button(T.BTN_RETYPE, FB_CB.pack("commune", "retype")), Button(T.BTN_KEEP_AS_TYPED, FB_CB.pack("commune", "raw"))])
        return
    if found.kind == "one" and found.best is not None and found.certain:
        ctx.update_data(commune_code=found.best.commune.code, commune_name=found.best.commune.name)
        ctx.reply(T.LOCATION_FOUND.format(name=found.best.label))
        ask_next(ctx)
        return
    if found.kind == "one" and found.best is not None:  # likely, not certain ("xa vin trach"): asked, not taken
        ctx.reply(T.LOCATION_IS_IT.format(name=found.best.label),
                  buttons=[Button(clip(T.BTN_YES_PLACE.format(name=found.best.commune.name)), FB_CB.pack("commune", found.best.commune.code)),
                           Button(T.BTN_RETYPE, FB_CB.pack("commune", "retype")), Button(T.BTN_KEEP_AS_TYPED, FB_CB.pack("commune", "raw"))])
        return
    if found.kind == "choices":
        ctx.reply(T.LOCATION_CHOICES, buttons=candidates + [Button(T.BTN_NONE_OF_THESE, FB_CB.pack("commune", "retype"))])
        return
    ctx.reply(T.LOCATION_NOT_FOUND.format(text=ticketing.short(text, 60)), buttons=[Button(T.BTN_KEEP_AS_TYPED, FB_CB.pack("commune", "raw"))])


_SKIP_WORDS = {"bo qua", "khong", "ko", "k", "khong ro", "khong biet", "skip", "bo", "qua"}


def on_hamlet(ctx: Ctx) -> None:
    if _media_only(ctx):
        return
    text = ctx.inbound.text.strip()
    ctx.update_data(hamlet="" if fold(text) in _SKIP_WORDS or not fold(text) else text[:200])
    ask_next(ctx)


def on_contact(ctx: Ctx) -> None:
    """Typed instead of pressed: "ẩn danh" / "đồng ý"; anything else asks again."""
    if _media_only(ctx):
        return
    text = fold(ctx.inbound.text)
    if text in ("an danh", "1", "khong", "ko"):
        ctx.update_data(contact="anonymous", name=None, phone=None, consent_at=None)
    elif text in ("dong y", "toi dong y", "co", "ok", "dong y a"):
        ctx.update_data(contact="consented", consent_at=ctx.now.isoformat())
    ask_next(ctx)


def on_name(ctx: Ctx) -> None:
    name = " ".join(ctx.inbound.text.split())
    letters = sum(ch.isalpha() for ch in name)
    if not 2 <= len(name) <= 80 or letters < 2 or any(ch.isdigit() for ch in name):
        ctx.reply(T.NAME_INVALID)
        return
    ctx.update_data(name=name)
    ask_next(ctx)


_PHONE_TYPES = None  # filled on first use: the phonenumbers types a citizen can be called on


def normalize_phone(text: str) -> str | None:
    """A Vietnamese mobile or fixed-line number (An Giang landlines: 0296 …) in national digits ("0912345678",
    "02963123456"), read by `phonenumbers` with the VN numbering plan; None if it is not one."""
    import phonenumbers as pn

    global _PHONE_TYPES
    if _PHONE_TYPES is None:
        t = pn.PhoneNumberType
        _PHONE_TYPES = {t.MOBILE, t.FIXED_LINE, t.FIXED_LINE_OR_MOBILE}
    text = text.strip()
    if not 6 <= len(text) <= 32:
        return None
    try:
        number = pn.parse(text, "VN")
    except pn.NumberParseException:
        return None
    if pn.region_code_for_number(number) != "VN" or not pn.is_valid_number(number) or pn.number_type(number) not in _PHONE_TYPES:
        return None
    return "0" + str(number.national_number)


def on_phone(ctx: Ctx) -> None:
    phone = normalize_phone(ctx.inbound.text)
    if phone is None:
        ctx.reply(T.PHONE_INVALID)
        return
    ctx.update_data(phone=phone)
    ask_next(ctx)


_SEND_WORDS = {"gui", "gui di", "gui phan anh", "dong y", "ok", "xac nhan", "dung roi", "dung"}


def on_confirm_text(ctx: Ctx) -> None:
    if ctx.inbound.attachments:
        n = _keep_attachments(ctx)
        ctx.reply(T.MEDIA_ADDED.format(n=n))
        show_summary(ctx)
        return
    if fold(ctx.inbound.text) in _SEND_WORDS:
        send(ctx, ctx.data.get("draft", ""))
        return
    ctx.reply(T.CONFIRM_HINT, buttons=summary_buttons(ctx.data))  # the choices again (typed numbers need them)


# ------------------------------------------------------------------ filing
def send(ctx: Ctx, draft: str) -> None:
    """Commit the ticket and the receipt together. A second press finds the ticket of that draft."""
    inbound = ctx.inbound
    draft_key = f"{inbound.channel}:{inbound.chat_id}:{draft}"
    d = ctx.data
    if not draft or d.get("draft") != draft or ctx.state != S_CONFIRM:
        existing = ticketing.find_by_draft(ctx.session, draft_key) if draft else None
        ctx.reply(T.ALREADY_SENT.format(code=existing.code) if existing else T.DRAFT_GONE)
        return
    cat = ticketing.category_by_slug(ctx.settings, d.get("category", "")) or ticketing.category_by_slug(ctx.settings, "khac")
    assert cat is not None
    consent = dt.datetime.fromisoformat(d["consent_at"]) if d.get("consent_at") else None
    ticket, created = ticketing.create_ticket(
        ctx.session, ctx.settings, ctx.now,
        channel=inbound.channel, chat_id=inbound.chat_id, user_id=inbound.user_id, draft_key=draft_key,
        category=cat, description=d.get("description", ""),
        attachments=[Attachment(**a) for a in d.get("attachments") or []],
        commune_code=d.get("commune_code"), commune_name=d.get("commune_name") or "", commune_input=d.get("commune_input") or "",
        hamlet=d.get("hamlet") or "",
        contact_name=d.get("name") if d.get("contact") == "consented" else None,
        contact_phone=d.get("phone") if d.get("contact") == "consented" else None,
        consent_at=consent,
    )
    ctx.clear_state()
    ctx.clear_options()
    ctx.reply(ticketing.receipt_text(ticket, ctx.settings) if created else T.ALREADY_SENT.format(code=ticket.code))


# ------------------------------------------------------------------ from the FAQ: a complaint typed as plain text
def offer_report(ctx: Ctx, text: str, complaint: Complaint) -> tuple[str, str]:
    """FAQ hook: the message describes a local problem. The offer (the text and what was guessed from it) is kept
    in the chat's context; the button carries only a fingerprint, checked against it."""
    from bot.features.faq import answers as faq

    cat = ticketing.category_by_slug(ctx.settings, complaint.category) if complaint.category else None
    d = faq.digest(text)
    context = dict(ctx.chat.context or {})
    context["offer"] = {"digest": d, "text": text[:4000], "category": cat.slug if cat else None,
                        "commune_code": complaint.commune_code, "commune_name": complaint.commune_name,
                        "at": ctx.now.isoformat()}
    ctx.chat.context = context
    details = ""
    if cat is not None:
        details += texts.REPORT_OFFER_CATEGORY.format(category=cat.label)
    if complaint.commune_name:
        details += texts.REPORT_OFFER_COMMUNE.format(commune=complaint.commune_name)
    return details, FB_CB.pack("offer", d)


def accept_offer(ctx: Ctx, arg: str) -> None:
    context = dict(ctx.chat.context or {})
    offer = context.pop("offer", None)
    ctx.chat.context = context or None
    if arg == "no":
        ctx.reply(texts.OFFER_DECLINED)
        return
    if not offer or offer.get("digest") != arg:
        ctx.reply(texts.OFFER_GONE)
        return
    prefill = {"category": offer.get("category"), "hamlet": hamlet_in(offer.get("text", ""))}
    if offer.get("commune_code"):
        prefill.update(commune_code=offer["commune_code"], commune_name=offer.get("commune_name"))
    begin(ctx, description=offer.get("text", ""), prefill=prefill)


# ------------------------------------------------------------------ plain words: "phản ánh", "góp ý", "tôi muốn báo…"
_WHO = r"(?:(?:toi|em|minh|chau|con|tui|bac|co|chu) )?"
_INTENT = re.compile(
    rf"^(?:cho )?{_WHO}(?:(?:muon|can|xin|dang|se) )?(?:gui )?(?:phan anh|gop y|kien nghi)\b"
    rf"|^{_WHO}(?:muon|can|xin) (?:bao|bao cao|to cao|khieu nai)\b"
)
_QUESTION = re.compile(
    r"\b(?:la gi|cai gi|gi vay|gi khong|nao|the nao|ra sao|bao nhieu|bao gio|bao lau|o dau|lam sao|cach|co phai|"
    r"duoc khong|co duoc|hay khong|nhu nao|tai sao|vi sao|la ai|hoi ai|co ai|ai tra loi|toi dau|den dau|"
    r"may (?:ngay|hom|tuan|thang|lan) (?:thi|moi|la|se|duoc))\b"  # not "… hư mấy tháng nay"
    r"|\b(?:khong|ko|k|chua|ha|hong|hok|sao)$"
    # "… có ai trả lời hông ad hay gửi cho vui": the particle of a question before an address or an "or"
    r"|\b(?:khong|ko|hong|hok|chua) (?:ad|bot|ban|anh|chi|a|ah|vay|v|z|ha|hay)\b"
)
# What may stand before the wish ("bot ơi", "dạ", "cho em hỏi") and after it: asking leave ("… được không") is not
# asking about reports ("bot ơi em muốn góp ý về hồ sơ OCOP ở xã được ko" wants to give feedback).
_LEAD = re.compile(r"^(?:(?:(?:bot|ad|admin|anh|chi|em|ban|alo) oi|da|alo|xin chao|chao (?:bot|ad)|"
                   r"cho (?:toi|em|minh|chau|con|tui|bac|chu|co) hoi),? )+")
_LEAVE = re.compile(r"(?:,? (?:(?:co )?(?:duoc|dc) (?:khong|ko|k|hong|hok|kg)|duoc chu|nha|nhe|nghen|a|ad)\W*)+$")
# "em gửi phản ánh hôm bữa rồi…": about a report already sent (look it up), not a new one
_EARLIER = re.compile(r"^(?:(?:hom|bua|tuan|thang) (?:bua|qua|truoc|kia|roi)|(?:tu )?lau roi|roi|da|hoi (?:hom|bua))\b")
# … or one's own, asked after ("phản ánh của tui gửi bữa trước giờ sao rồi"; not "phản ánh của em về việc …", a new one)
_MINE = re.compile(r"^cua (?:toi|em|tui|minh|con|chau|bac|chu|co|nha)\b")
_AFTER = re.compile(r"\b(?:gui|hom|bua|tuan truoc|thang truoc|toi dau|den dau|sao roi|xu ly|giai quyet|tra loi|chua)\b")


def looks_like_question(text: str) -> bool:
    return "?" in text or bool(_QUESTION.search(fold(text)))


@text_handler(50)
def report_in_plain_words(ctx: Ctx) -> bool:
    """ "phản ánh", "góp ý", "tôi muốn báo đường ấp 3 sạt lở" start a report; a question about them
    ("góp ý về tiêu chí nông thôn mới là gì", "phản ánh có cần ghi tên không") goes on to the FAQ."""
    if ctx.inbound.chat_type != "private":
        return False
    text = ctx.inbound.text.strip()
    folded = _LEAD.sub("", fold(text))
    m = _INTENT.match(folded)
    if not m:
        return False
    rest = _LEAVE.sub("", folded) if m.group(0).split()[-1] in ("y", "nghi", "anh") else folded
    after = folded[m.end():].strip()
    if looks_like_question(rest) or _EARLIER.match(after) or (_MINE.match(after) and _AFTER.search(after)):
        return False
    words_after = folded[m.end():].split()
    begin(ctx, description=text if len(words_after) >= 3 else "",
          attachments=[a for a in ctx.inbound.attachments if a.kind in KEEPABLE])
    return True


# ------------------------------------------------------------------ abandoned drafts
def remind_and_expire_drafts(session: Session, services: Services) -> None:
    """Remind once after DRAFT_REMIND_MINUTES, drop after DRAFT_EXPIRE_HOURS."""

    from bot.kernel.inbox import deliver
    from bot.kernel.messages import Reply, button_rows
    from bot.storage.models import Chat

    settings = services.settings
    now = services.clock()
    remind_before = now - dt.timedelta(minutes=settings.draft_remind_minutes)
    expire_before = now - dt.timedelta(hours=settings.draft_expire_hours)
    chats = session.exec(select(Chat).where(Chat.state.like(PREFIX + "%"), Chat.state_at < remind_before)).all()
    for chat in chats:
        data = dict(chat.state_data or {})
        if chat.state_at is not None and chat.state_at < expire_before:
            chat.state = chat.state_data = chat.state_at = None
            chat.options = None
            deliver(session, Reply(T.DRAFT_EXPIRED.format(hours=settings.draft_expire_hours), kind="notice"), default=chat, now=now)
        elif not data.get("reminded"):
            data["reminded"] = True
            chat.state_data = data  # state_at unchanged: the expiry still counts from the last answer
            deliver(session, Reply(T.DRAFT_REMINDER.format(hours=settings.draft_expire_hours), kind="notice",
                                   buttons=button_rows([Button(T.BTN_RESUME, FB_CB.pack("resume"))])), default=chat, now=now)
        session.add(chat)


# ------------------------------------------------------------------ the steps, in one table
steps({
    Report.category: on_category,
    Report.description: on_description,
    Report.location: on_location,
    Report.hamlet: on_hamlet,
    Report.contact: on_contact,
    Report.name: on_name,
    Report.phone: on_phone,
    Report.confirm: on_confirm_text,
})
