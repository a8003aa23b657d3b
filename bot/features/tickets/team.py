"""The officers' team: shared reply templates (/templates), who is staff (/staff add|remove|list, officers of
the local terminal room included) and /help_staff, made from the command registry."""
from __future__ import annotations

import re

from sqlmodel import select

from bot.features.tickets import service as ticketing
from bot.features.tickets import texts as T
from bot.features.tickets.staff import staff_command
from bot.kernel.messages import TELEGRAM, TERMINAL_STAFF
from bot.kernel.registry import REGISTRY, Ctx
from bot.storage.models import Chat, Staff
from bot.storage.tickets import ReplyTemplate
from knowledge.normalize import fold


# ------------------------------------------------------------------ templates
@staff_command("templates")
def templates_cmd(ctx: Ctx) -> None:
    words = ctx.args.split(maxsplit=2)
    action = fold(words[0]) if words else ""
    if action in ("add", "them"):
        if len(words) < 3:
            ctx.reply(T.TEMPLATE_USAGE)
            return
        name = words[1].lstrip("#").lower()[:48]
        row = ctx.session.exec(select(ReplyTemplate).where(ReplyTemplate.name == name)).first() or ReplyTemplate(name=name, text="")
        row.text = words[2].strip()[:3000]
        row.created_by = ctx.actor
        row.created_at = ctx.now
        ctx.session.add(row)
        ctx.audit("template_add", target=name, detail=row.text)
        ctx.reply(T.TEMPLATE_SAVED.format(name=name))
        return
    if action in ("remove", "xoa", "rm"):
        if len(words) < 2:
            ctx.reply(T.TEMPLATE_USAGE)
            return
        name = words[1].lstrip("#").lower()
        row = ctx.session.exec(select(ReplyTemplate).where(ReplyTemplate.name == name)).first()
        if row is None:
            ctx.reply(T.TEMPLATE_SHIPPED.format(name=name) if name in ticketing.shipped_templates()
                      else T.TEMPLATE_UNKNOWN.format(name=name))
            return
        ctx.session.delete(row)
        ctx.audit("template_remove", target=name)
        ctx.reply(T.TEMPLATE_REMOVED.format(name=name))
        return
    if action:
        ctx.reply(T.TEMPLATE_USAGE)
        return
    templates = ticketing.all_templates(ctx.session)
    ctx.audit("template_list")
    if not templates:
        ctx.reply(T.TEMPLATES_EMPTY)
        return
    ctx.reply("\n".join([T.TEMPLATES_TITLE, *(f"• **#{k}**: {ticketing.short(v, 160)}" for k, v in sorted(templates.items()))]))


# ------------------------------------------------------------------ who is staff
def resolve_user(ctx: Ctx, who: str) -> tuple[str, str, str] | None:
    """(user id, username, display name) for "123456789" or "@username" (a username must be known to the bot)."""
    who = who.strip()
    if who.lstrip("-").isdigit():
        chat = ctx.session.exec(select(Chat).where(Chat.channel == TELEGRAM, Chat.user_id == who)).first()
        return who, chat.username if chat else "", chat.display_name if chat else ""
    handle = who.lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{3,32}", handle):
        return None
    row = ctx.session.exec(select(Staff).where(Staff.username == handle)).first()
    if row is not None:
        return row.user_id, handle, row.display_name
    chat = ctx.session.exec(select(Chat).where(Chat.channel == TELEGRAM, Chat.username == handle, Chat.chat_type == "private")).first()
    return (chat.user_id, handle, chat.display_name) if chat and chat.user_id else None


LOCAL_OFFICER = "local:"  # user ids of officers added in the terminal room (never a Telegram id)


def local_officer(who: str) -> tuple[str, str, str] | None:
    """(user id, username, name) of an officer of the local room: "@anhtu" -> ("local:anhtu", "anhtu", "anhtu")."""
    handle = who.strip().lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{3,32}", handle):
        return None
    return LOCAL_OFFICER + handle, handle, handle


@staff_command("staff")
def staff_cmd(ctx: Ctx) -> None:
    words = ctx.args.split()
    action = fold(words[0]) if words else "list"
    if action in ("list", "ds", "danh sach"):
        rows = ctx.session.exec(select(Staff).where(Staff.active == True).order_by(Staff.role, Staff.id)).all()
        ctx.audit("staff_list")
        lines = [T.STAFF_LIST_TITLE.format(n=len(rows))]
        for s in rows:
            handle = f" @{s.username}" if s.username else ""
            lines.append(f"• {s.display_name or '(chưa có tên)'}{handle} · ID {s.user_id} · {T.ROLE_LABELS.get(s.role, s.role)}")
        ctx.reply("\n".join(lines))
        return
    if action not in ("add", "them", "remove", "xoa", "rm"):
        ctx.reply(T.STAFF_USAGE)
        return
    if not ticketing.is_admin(ctx.session, ctx.settings, ctx.inbound):
        ctx.audit("refused", target="/staff", detail=ctx.inbound.text[:200])
        ctx.reply(T.STAFF_ADMIN_ONLY)
        return
    if len(words) < 2:
        ctx.reply(T.STAFF_USAGE)
        return
    who = words[1]
    found = resolve_user(ctx, who)
    local = False
    if found is None and ctx.inbound.channel == TERMINAL_STAFF and action in ("add", "them"):
        found, local = local_officer(who), True  # trying the officer side on one machine: a local officer
    if found is None:
        ctx.reply(T.STAFF_UNKNOWN_USER.format(who=who))
        return
    user_id, username, display = found
    row = ctx.session.exec(select(Staff).where(Staff.user_id == user_id)).first()
    if action in ("add", "them"):
        role = fold(words[2]) if len(words) > 2 else "officer"
        role = {"can bo": "officer", "lanh dao": "supervisor", "quan tri": "admin"}.get(role, role)
        if role not in T.ROLE_LABELS:
            ctx.reply(T.STAFF_USAGE)
            return
        if row is None:
            row = Staff(user_id=user_id, created_at=ctx.now)
        row.username = username or row.username
        row.display_name = display or row.display_name
        row.role = role if user_id not in ctx.settings.seed_admin_ids else "admin"
        row.active = True
        row.added_by = ctx.actor
        ctx.session.add(row)
        ctx.audit("staff_add", target=user_id, detail=f"{username} {row.role}")
        ctx.reply(T.STAFF_ADDED.format(who=f"@{username}" if username else user_id, role=T.ROLE_LABELS[row.role])
                  + (T.STAFF_ADDED_LOCAL if local else ""))
        return
    if user_id in ctx.settings.seed_admin_ids:
        ctx.reply(T.STAFF_SEED.format(who=who))
        return
    if row is None or not row.active:
        ctx.reply(T.STAFF_NOT_FOUND.format(who=who))
        return
    row.active = False
    ctx.session.add(row)
    ctx.audit("staff_remove", target=user_id)
    ctx.reply(T.STAFF_REMOVED.format(who=who))


@staff_command("help_staff")
def help_staff(ctx: Ctx) -> None:
    """Every staff command, from the command registry (tickets, broadcasts, content: nothing left out)."""
    ctx.reply(T.STAFF_HELP.format(commands="\n".join(ctx.registry.command_lines(staff=True))))


def registered_staff_commands() -> list[str]:
    return sorted(name for name, c in REGISTRY.commands.items() if c.staff)
