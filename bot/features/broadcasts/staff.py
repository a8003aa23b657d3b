# Over 400 lines: one officer conversation (compose, target, confirm, approve) read top to bottom; the target picker could move out.
"""Staff: /broadcast (compose → target → preview → confirm → optional second officer's approval),
/broadcast_status, /broadcast_cancel, /broadcast_approve, /broadcast_reject.

Commands are staff-only through the router; buttons are checked here (anyone can press a button).
"""
from __future__ import annotations

import dataclasses
import logging

import sqlalchemy as sa
from sqlmodel import select

from bot.features.broadcasts import delivery, parsing
from bot.features.broadcasts import service as bc
from bot.features.broadcasts import texts as T
from bot.kernel import texts
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.channel import CHANNELS
from bot.kernel.messages import TELEGRAM, TERMINAL_STAFF, Button, Reply, clip
from bot.kernel.registry import Ctx, callback, canceller, command, step
from bot.kernel.router import is_staff
from bot.storage.broadcast import Broadcast

BCT_CB = CallbackPrefix("bct")  # the target of a draft: bct:<id>:<what>[:<arg>]
BC_CB = CallbackPrefix("bc")  # bc:<action>:<id>

log = logging.getLogger(__name__)

COMPOSE_STEP = "broadcast.compose"
COMMUNE_STEP = "broadcast.commune"
RECENT = 8


# ------------------------------------------------------------------ helpers
def _channels(ctx: Ctx) -> list[str] | None:
    fn = ctx.services.extras.get("broadcast_channels")
    return fn() if fn else None


def _photo(ctx: Ctx) -> str | None:
    for a in (*ctx.inbound.attachments, *ctx.inbound.reply_attachments):
        if a.kind == "photo":
            return a.ref
    return None


def _load(ctx: Ctx, raw: str, command_name: str) -> Broadcast | None:
    raw = raw.strip().lstrip("#")
    if not raw.isdigit() or len(raw) > 12:
        ctx.reply(T.BC_NEED_ID.format(command=command_name))
        return None
    b = ctx.session.get(Broadcast, int(raw))
    if b is None:
        ctx.reply(T.BC_NOT_FOUND.format(id=raw))
    return b


def _button_broadcast(ctx: Ctx, raw_id: str) -> Broadcast | None:
    if not raw_id.isdigit() or len(raw_id) > 12:
        ctx.reply(texts.STALE_BUTTON)
        return None
    b = ctx.session.get(Broadcast, int(raw_id))
    if b is None:
        ctx.reply(T.BC_NOT_FOUND.format(id=raw_id))
    return b


def _role(role: str) -> str:
    from bot.features.tickets.texts import ROLE_LABELS

    return ROLE_LABELS.get(role, role)


def _wrong_state(ctx: Ctx, b: Broadcast, action: str) -> None:
    ctx.reply(T.BC_WRONG_STATE.format(id=b.id, status=T.STATUS_NAMES.get(b.status, b.status), action=action))


def _creator_only(ctx: Ctx, b: Broadcast) -> bool:
    if b.created_by != ctx.actor:
        ctx.reply(T.BC_NOT_CREATOR.format(id=b.id))
        return False
    return True


def _here(ctx: Ctx, reply: Reply) -> Reply:
    """A reply aimed at the chat (and forum topic) the officer wrote from."""
    return dataclasses.replace(reply, channel=ctx.inbound.channel, chat_id=ctx.inbound.chat_id, thread_id=ctx.inbound.thread_id)


# ------------------------------------------------------------------ compose
@command("broadcast", description=T.CMD_BROADCAST, staff=True, usage=T.USAGE_BROADCAST)
def broadcast_command(ctx: Ctx) -> None:
    photo = _photo(ctx)
    if not ctx.args.strip() and not photo:
        ctx.set_state(COMPOSE_STEP)
        ctx.reply(T.BC_USAGE.format(max_text=parsing.number(bc.MAX_TEXT), max_caption=parsing.number(bc.MAX_CAPTION)) + "\n\n" + T.BC_COMPOSE)
        return
    compose(ctx, ctx.args, photo)


@step(COMPOSE_STEP)
def compose_step(ctx: Ctx) -> None:
    ctx.clear_state()
    if not is_staff(ctx):  # staff status may have been revoked meanwhile
        ctx.reply(texts.NOT_STAFF)
        return
    compose(ctx, ctx.inbound.text, _photo(ctx))


def compose(ctx: Ctx, text: str, photo: str | None) -> None:
    text, when, error = parsing.parse_schedule(text, ctx.now)
    if error is None:
        error = bc.check_text(text, bool(photo))
    if error:
        ctx.reply(error)
        return
    b = bc.create_draft(ctx.session, text, photo, ctx.actor, ctx.inbound.channel, ctx.inbound.chat_id, when, ctx.now)
    ctx.audit("broadcast.draft", target=f"#{b.id}", detail=text[:300])
    ask_target(ctx, b)


def _count(ctx: Ctx, **target: str | None) -> int:
    probe = Broadcast(text="", target_topic=target.get("topic"), target_commune=target.get("commune"), target_channel=target.get("channel"))
    return sum(bc.count_recipients(ctx.session, probe, _channels(ctx)).values())


def ask_target(ctx: Ctx, b: Broadcast, intro: str | None = None) -> None:
    bid = b.id
    buttons = [Button(T.BTN_T_ALL.format(n=parsing.number(_count(ctx))), BCT_CB.pack(bid, "all"))]
    for key, label in parsing.topics(ctx.settings).items():
        buttons.append(Button(clip(T.BTN_T_TOPIC.format(label=label, n=parsing.number(_count(ctx, topic=key)))), BCT_CB.pack(bid, "t", key)))
    buttons.append(Button(T.BTN_T_COMMUNE, BCT_CB.pack(bid, "commune")))
    channels = _channels(ctx)
    if channels is None or len(channels) > 1:
        for ch in channels or CHANNELS.audiences():
            n = _count(ctx, channel=ch)
            if n:
                buttons.append(Button(clip(T.BTN_T_CHANNEL.format(channel=CHANNELS.title(ch), n=parsing.number(n))), BCT_CB.pack(bid, "c", ch)))
    ctx.reply(intro or T.BC_ASK_TARGET.format(id=bid), buttons=buttons)


@callback(BCT_CB, staff=True)
def target_button(ctx: Ctx) -> None:
    cb = ctx.callback_data  # bct:<id>:<what>[:<arg>]
    b = _button_broadcast(ctx, cb.arg(0))
    if b is None or not _creator_only(ctx, b):
        return
    if b.status != "draft":
        _wrong_state(ctx, b, "đổi người nhận")
        return
    what, arg = cb.arg(1), cb.arg(2)
    if what == "all":
        b.target_topic = b.target_commune = b.target_channel = None
    elif what == "t" and arg in parsing.topics(ctx.settings):
        b.target_topic, b.target_commune, b.target_channel = arg, None, None
    elif what == "c" and arg in (_channels(ctx) or CHANNELS.audiences()):
        b.target_topic, b.target_commune, b.target_channel = None, None, arg
    elif what == "commune":
        ctx.set_state(COMMUNE_STEP, {"id": b.id})
        ctx.reply(T.BC_ASK_COMMUNE)
        return
    elif what == "x" and parsing.commune_name(arg):
        set_commune_target(ctx, b, arg)
        return
    elif what == "change":
        ask_target(ctx, b)
        return
    else:
        ctx.reply(texts.STALE_BUTTON)
        return
    ctx.session.add(b)
    preview(ctx, b)


def set_commune_target(ctx: Ctx, b: Broadcast, code: str) -> None:
    ctx.clear_state()
    b.target_channel = None
    b.target_commune = code
    b.target_topic = ctx.settings.broadcast_commune_topic or None  # commune notices: "Thông báo của xã" subscribers there
    ctx.session.add(b)
    preview(ctx, b)


@step(COMMUNE_STEP)
def commune_step(ctx: Ctx) -> None:
    b = ctx.session.get(Broadcast, int(ctx.data.get("id") or 0))
    if b is None or b.status != "draft" or not is_staff(ctx):
        ctx.clear_state()
        ctx.reply(texts.STALE_BUTTON)
        return
    text = ctx.inbound.text.strip()
    sure, places = parsing.find_commune(text)
    if sure:
        set_commune_target(ctx, b, places[0].code)
    elif places:
        ctx.reply(T.BC_COMMUNE_CHOOSE, buttons=[Button(clip(p.label), BCT_CB.pack(b.id, "x", p.code)) for p in places])
    else:
        ctx.reply(T.BC_COMMUNE_NONE.format(text=text[:60]))


# ------------------------------------------------------------------ preview and confirm
def preview(ctx: Ctx, b: Broadcast) -> None:
    channels = _channels(ctx)
    counts = bc.count_recipients(ctx.session, b, channels)
    n = sum(counts.values())
    label = bc.target_label(ctx.settings, b)
    if n == 0:
        ask_target(ctx, b, T.BC_NO_RECIPIENTS.format(target=label))
        return
    ctx.send(_here(ctx, bc.citizen_reply(ctx.settings, b, ctx.inbound.channel, ctx.inbound.chat_id)))
    by_channel = ""
    if len(counts) > 1:
        by_channel = " (" + ", ".join(f"{CHANNELS.title(ch)} {parsing.number(k)}" for ch, k in sorted(counts.items())) + ")"
    notes = ""
    if _approval_role(ctx):
        notes += T.BC_NOTE_APPROVAL.format(role=_role(_approval_role(ctx)))
    text_only = [CHANNELS.title(ch) for ch in sorted(counts) if b.photo and not bc.photo_for(b, ch)]
    if text_only:
        notes += T.BC_NOTE_PHOTO_TEXT_ONLY.format(channels=", ".join(text_only))
    if channels is not None:
        for ch, k in sorted(bc.count_recipients(ctx.session, b, None).items()):
            if ch not in channels and k:
                notes += T.BC_NOTE_CHANNEL_OFF.format(n=parsing.number(k), channel=CHANNELS.title(ch))
    seconds = max(counts.get(ch, 0) / max(0.1, parsing.channel_rate(ctx.settings, ch)) for ch in counts)
    ctx.reply(
        T.BC_SUMMARY.format(id=b.id, target=label, n=parsing.number(n), by_channel=by_channel, start=bc.start_label(ctx.settings, b, ctx.now),
                            duration=parsing.duration(seconds), notes=notes),
        buttons=[Button(T.BTN_CONFIRM, BC_CB.pack("ok", b.id)), Button(T.BTN_CHANGE_TARGET, BCT_CB.pack(b.id, "change")), Button(T.BTN_DISCARD, BC_CB.pack("no", b.id))],
    )


@callback(BC_CB, staff=True)
def broadcast_button(ctx: Ctx) -> None:
    cb = ctx.callback_data  # bc:<action>:<id>
    b = _button_broadcast(ctx, cb.arg(1))
    if b is None:
        return
    action = cb.arg(0)
    if action == "ok":
        confirm(ctx, b)
    elif action == "no":
        discard(ctx, b)
    elif action == "ap":
        decide(ctx, b, approve=True)
    elif action == "rj":
        decide(ctx, b, approve=False)
    else:
        ctx.reply(texts.STALE_BUTTON)


def confirm(ctx: Ctx, b: Broadcast) -> None:
    if not _creator_only(ctx, b):
        return
    if b.status != "draft":
        _wrong_state(ctx, b, "xác nhận lại")
        return
    counts = bc.count_recipients(ctx.session, b, _channels(ctx))
    if not sum(counts.values()):
        ask_target(ctx, b, T.BC_NO_RECIPIENTS.format(target=bc.target_label(ctx.settings, b)))
        return
    role = _approval_role(ctx)
    status = bc.confirm(ctx.session, b, ctx.now, role)
    ctx.audit("broadcast.confirm", target=f"#{b.id}", detail=f"{bc.target_label(ctx.settings, b)}; {sum(counts.values())} recipients")
    if status == "awaiting_approval":
        staff_chat = ctx.settings.staff_chat_id
        if staff_chat:
            ctx.send(bc.citizen_reply(ctx.settings, b, TELEGRAM, staff_chat))
            creator = ctx.inbound.display_name or ctx.inbound.username or ctx.actor
            ctx.send(Reply(
                T.BC_APPROVAL_REQUEST.format(id=b.id, creator=creator, target=bc.target_label(ctx.settings, b),
                                             n=parsing.number(sum(counts.values())), start=bc.start_label(ctx.settings, b, ctx.now), role=_role(role)),
                buttons=((Button(T.BTN_APPROVE, BC_CB.pack("ap", b.id)), Button(T.BTN_REJECT, BC_CB.pack("rj", b.id))),),
                channel=TELEGRAM, chat_id=staff_chat, kind="staff",
            ))
        ctx.reply(T.BC_AWAITING.format(id=b.id, role=_role(role), where=T.BC_AWAITING_WHERE if staff_chat else ""))
        return
    ctx.reply(T.BC_CONFIRMED.format(id=b.id, start=bc.start_label(ctx.settings, b, ctx.now, confirmed=True)))


def discard(ctx: Ctx, b: Broadcast) -> None:
    if not _creator_only(ctx, b):
        return
    if b.status != "draft":
        _wrong_state(ctx, b, "hủy bản nháp")
        return
    if ctx.state in (COMMUNE_STEP, COMPOSE_STEP):
        ctx.clear_state()
    bc.cancel(ctx.session, b, ctx.actor, ctx.now)
    ctx.audit("broadcast.discard", target=f"#{b.id}")
    ctx.reply(T.BC_DISCARDED.format(id=b.id))


@canceller
def discard_drafts_on_cancel(ctx: Ctx) -> str | None:
    """/huy in the middle of the wizard: the officer's unconfirmed drafts of this chat are discarded."""
    drafts = ctx.session.exec(select(Broadcast).where(
        Broadcast.status == "draft", Broadcast.created_by == ctx.actor, Broadcast.creator_channel == ctx.inbound.channel,
        Broadcast.creator_chat_id == ctx.inbound.chat_id)).all()
    for b in drafts:
        bc.cancel(ctx.session, b, ctx.actor, ctx.now)
        ctx.audit("broadcast.discard", target=f"#{b.id}", detail="/huy")
    return "\n".join(T.BC_DISCARDED.format(id=b.id) for b in drafts) or None


def _approval_role(ctx: Ctx) -> str:
    """The role a second officer needs to approve; none in the local officers' room (`ntm-bot chat --staff`),
    where one person tries the bot on one machine and no second officer can be asked."""
    return "" if ctx.inbound.channel == TERMINAL_STAFF else bc.approval_role(ctx.settings)


def decide(ctx: Ctx, b: Broadcast, approve: bool) -> None:
    required = _approval_role(ctx)
    if b.status != "awaiting_approval":
        if not required and b.status == "draft":
            ctx.reply(T.BC_NO_APPROVAL_NEEDED)
        else:
            _wrong_state(ctx, b, "duyệt" if approve else "từ chối")
        return
    if b.created_by == ctx.actor:
        ctx.audit("refused", target=f"#{b.id}", detail="approve own broadcast")
        ctx.reply(T.BC_APPROVE_SELF.format(id=b.id))
        return
    role = bc.staff_role(ctx.session, ctx.settings, ctx.inbound.user_id)
    if required and not bc.may_approve(role, required):
        ctx.audit("refused", target=f"#{b.id}", detail=f"approve with role {role}")
        ctx.reply(T.BC_APPROVE_ROLE.format(role=_role(required), mine=_role(role) if role else "?"))
        return
    who = ctx.inbound.display_name or ctx.inbound.username or ctx.actor
    if approve:
        bc.approve(ctx.session, b, ctx.actor, ctx.now)
        ctx.audit("broadcast.approve", target=f"#{b.id}")
        start = bc.start_label(ctx.settings, b, ctx.now, confirmed=True)
        ctx.reply(T.BC_APPROVED.format(id=b.id, start=start))
        if (b.creator_channel, b.creator_chat_id) != (ctx.inbound.channel, ctx.inbound.chat_id):
            delivery.notify_creator(ctx.session, b, T.BC_APPROVED_CREATOR.format(id=b.id, approver=who, start=start))
    else:
        bc.cancel(ctx.session, b, ctx.actor, ctx.now)
        ctx.audit("broadcast.reject", target=f"#{b.id}")
        ctx.reply(T.BC_REJECTED.format(id=b.id))
        if (b.creator_channel, b.creator_chat_id) != (ctx.inbound.channel, ctx.inbound.chat_id):
            delivery.notify_creator(ctx.session, b, T.BC_REJECTED_CREATOR.format(id=b.id, approver=who))


@command("broadcast_approve", description=T.CMD_BROADCAST_APPROVE, staff=True, usage=T.USAGE_BROADCAST_APPROVE)
def approve_command(ctx: Ctx) -> None:
    b = _load(ctx, ctx.args, "broadcast_approve")
    if b is not None:
        decide(ctx, b, approve=True)


@command("broadcast_reject", description=T.CMD_BROADCAST_REJECT, staff=True, usage=T.USAGE_BROADCAST_REJECT)
def reject_command(ctx: Ctx) -> None:
    b = _load(ctx, ctx.args, "broadcast_reject")
    if b is not None:
        decide(ctx, b, approve=False)


# ------------------------------------------------------------------ status and cancel
@command("broadcast_status", description=T.CMD_BROADCAST_STATUS, staff=True, usage=T.USAGE_BROADCAST_STATUS)
def status_command(ctx: Ctx) -> None:
    if not ctx.args.strip():
        recent = ctx.session.exec(select(Broadcast).where(Broadcast.status != "draft").order_by(sa.desc(Broadcast.id)).limit(RECENT)).all()
        if not recent:
            ctx.reply(T.BC_LIST_EMPTY)
            return
        lines = [T.BC_LIST_HEAD]
        for b in recent:
            p = bc.progress(ctx.session, b.id)  # type: ignore[arg-type]  # a stored row's id is set
            lines.append(T.BC_LIST_LINE.format(
                id=b.id, status=T.STATUS_NAMES.get(b.status, b.status), sent=parsing.number(p.counts.get("sent", 0)),
                total=parsing.number(max(b.total, p.total)), when=parsing.local_str(b.scheduled_at or b.confirmed_at or b.created_at),
                text=" ".join(b.text.split())[:40],
            ))
        ctx.reply("\n".join(lines))
        return
    b = _load(ctx, ctx.args, "broadcast_status")
    if b is not None:
        ctx.reply(status_text(ctx, b))


def status_text(ctx: Ctx, b: Broadcast) -> str:
    from bot.kernel.messages import utcnow

    p = bc.progress(ctx.session, b.id)  # type: ignore[arg-type]  # a stored row's id is set
    c = p.counts
    total = max(b.total, p.total)
    sending = c.get("sending", 0)
    pct = int(100 * p.done / total) if total else (100 if b.status == "done" else 0)
    eta = ""
    if b.status == "sending":
        if not b.materialized:
            eta = " · " + T.BC_STATUS_NOT_MATERIALIZED
        elif parsing.in_quiet(ctx.settings, ctx.now):
            eta = T.BC_STATUS_QUIET.format(until=parsing.local_str(parsing.quiet_ends(ctx.settings, ctx.now)))
        elif p.remaining:
            rate = bc.recent_rate(ctx.session, b.id, utcnow()) or parsing.channel_rate(ctx.settings, TELEGRAM)  # type: ignore[arg-type]  # a stored row's id is set
            eta = T.BC_STATUS_ETA.format(eta=parsing.duration(p.remaining / rate))
    elif b.status in ("scheduled", "awaiting_approval"):
        eta = " · " + bc.start_label(ctx.settings, b, ctx.now)
    if b.started_at:
        start = parsing.local_str(b.started_at)
    elif b.status == "draft":  # nothing is sent before the officer confirms
        start = T.START_NOT_CONFIRMED
    elif b.status == "cancelled":
        start = T.START_NEVER
    else:
        start = bc.start_label(ctx.settings, b, ctx.now)
    return T.BC_STATUS.format(
        id=b.id, status=T.STATUS_NAMES.get(b.status, b.status), target=bc.target_label(ctx.settings, b), start=start,
        total=parsing.number(total), sent=parsing.number(c.get("sent", 0)), queued=parsing.number(c.get("queued", 0) + sending),
        inflight=T.BC_STATUS_INFLIGHT.format(n=sending) if sending else "", failed=parsing.number(c.get("failed", 0)),
        blocked=parsing.number(c.get("blocked", 0)), skipped=parsing.number(c.get("skipped", 0)), unknown=parsing.number(c.get("unknown", 0)),
        rate_limited=parsing.number(b.rate_limited), pct=pct, eta=eta,
    )


@command("broadcast_cancel", description=T.CMD_BROADCAST_CANCEL, staff=True, usage=T.USAGE_BROADCAST_CANCEL)
def cancel_command(ctx: Ctx) -> None:
    b = _load(ctx, ctx.args, "broadcast_cancel")
    if b is None:
        return
    if b.status in ("done", "cancelled"):
        _wrong_state(ctx, b, "hủy")
        return
    started = b.status == "sending"
    skipped = bc.cancel(ctx.session, b, ctx.actor, ctx.now)
    p = delivery.store_counts(ctx.session, b)
    ctx.audit("broadcast.cancel", target=f"#{b.id}", detail=f"skipped {skipped}")
    if not started:
        ctx.reply(T.BC_CANCELLED_BEFORE.format(id=b.id))
        return
    ctx.reply(T.BC_CANCELLED.format(id=b.id, sent=parsing.number(p.counts.get("sent", 0)), skipped=parsing.number(skipped),
                                    window=ctx.services.extras.get("broadcast_window", ctx.settings.broadcast_concurrency)))
