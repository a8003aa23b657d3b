"""ntm-bot command line: run | chat | ask | kb … | db … | telegram …"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import uuid
from typing import Any, Callable

from bot.config import get_settings

# Feature modules add subcommands here: (name, help, add_arguments, handler(args) -> exit code).
SUBCOMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = []


def subcommand(name: str, help_: str, add_arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        SUBCOMMANDS.append((name, help_, add_arguments, fn))
        return fn

    return register


def setup_logging(level: str = "INFO", json_logs: bool = False, access_log: bool = False) -> None:
    from bot.logs import configure

    configure(level, json_logs, access_log)


# ------------------------------------------------------------------ ask
def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions as a citizen would see them: each question goes through the same router and handlers
    as a chat message, in a private chat of its own, in a throw-away in-memory database (nothing is stored)."""
    from bot.asking import OneShot

    settings = get_settings()
    shot = OneShot(settings)
    if args.json:
        questions = args.question and [" ".join(args.question)] or None
        lines = questions if questions is not None else (line.rstrip("\n") for line in sys.stdin)
        for q in lines:
            print(json.dumps(shot.ask(q), ensure_ascii=False), flush=False)
        sys.stdout.flush()
        return 0
    if not args.question:
        print("Cần một câu hỏi, ví dụ: ntm-bot ask \"tiêu chí nông thôn mới là gì\"", file=sys.stderr)
        return 2
    print(shot.ask(" ".join(args.question))["answer"])
    return 0


# ------------------------------------------------------------------ chat / run
async def _terminal_chat(app: Any, chat_id: str = "local", user: str = "Người dân", staff: bool = False) -> None:
    from bot.messages import TERMINAL, TERMINAL_STAFF, Inbound

    channel = TERMINAL_STAFF if staff else TERMINAL
    if staff:
        chat_id, user = "staff", "Cán bộ (terminal)"
    key = f"{channel}:{chat_id}"
    interactive = sys.stdin.isatty()
    loop = asyncio.get_running_loop()
    if interactive and staff:
        print("🏛 Phòng cán bộ (thử tại máy). Phản ánh mới hiện ở đây; /inbox, /reply MÃ nội dung, /help_staff. "
              "Ctrl+D để thoát.\n")
    elif interactive:
        print("💬 Trò chuyện thử với ntm-bot. Gõ câu hỏi rồi Enter; /start xem menu; Ctrl+D để thoát.\n")
    first = "/inbox" if staff else "/start"
    await app.submit(Inbound(channel, chat_id, "local", text=first, display_name=user, event_key=uuid.uuid4().hex))
    await app.wait_quiet(key)
    while True:
        try:
            line = await loop.run_in_executor(None, lambda: input("👤 ") if interactive else sys.stdin.readline())
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive:
            if line == "":
                break
            line = line.rstrip("\n")
            print(f"👤 {line}")
        if line.strip().lower() in ("/quit", "/exit", "thoat"):
            break
        await app.submit(Inbound(channel, chat_id, "local", text=line, display_name=user, event_key=uuid.uuid4().hex))
        await app.wait_quiet(key)


async def _run_app(with_terminal: bool, serve_http: bool, staff: bool = False) -> None:
    from bot.app import App
    from bot.channels.terminal import TerminalChannel
    from bot.channels.terminal_staff import StaffTerminalChannel

    app = App(get_settings())
    app.configure_channels()
    if with_terminal:
        # Two terminals share the database: the citizen's delivers the citizen's messages, the officers' theirs.
        app.add_adapter(StaffTerminalChannel(app.settings.data_dir / "exports") if staff else TerminalChannel())
    await app.start(serve_http=serve_http)
    # What is loaded by now (modules, knowledge base, ORM mappers) lives as long as the process: keep it out
    # of the garbage collector's full passes, which otherwise scan it and stop the event loop for ~100 ms
    # each, several times a minute under load.
    gc.collect()
    gc.freeze()
    try:
        if with_terminal:
            await _terminal_chat(app, staff=staff)
        else:
            stop = asyncio.Event()
            app.install_signal_handlers(stop)
            logging.getLogger("bot").info("ntm-bot chạy với kênh: %s", ", ".join(sorted(app.adapters)))
            await stop.wait()
    finally:
        await app.stop()


def cmd_chat(args: argparse.Namespace) -> int:
    setup_logging("WARNING")
    asyncio.run(_run_app(with_terminal=True, serve_http=False, staff=getattr(args, "staff", False)))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.telegram_enabled and not _other_channels_configured(settings):
        print("Chưa cấu hình kênh nào (TELEGRAM_BOT_TOKEN, …): mở trò chuyện trong terminal.\n")
        return cmd_chat(args)
    setup_logging(settings.log_level, settings.log_json, settings.http_access_log)
    asyncio.run(_run_app(with_terminal=False, serve_http=True))
    return 0


def _other_channels_configured(settings: Any) -> bool:
    return any(getattr(settings, name, "") for name in ("zalo_bot_token", "zalo_oa_app_id"))


# ------------------------------------------------------------------ kb
def cmd_kb(args: argparse.Namespace) -> int:
    from bot.app import load_kb
    from knowledge.kb import DATA_DIR, check_entries, read_entries

    settings = get_settings()
    if args.action == "check":
        entries, files, problems = read_entries(settings.kb_dir or DATA_DIR)
        problems += check_entries(entries)
        for p in problems:
            print(p)
        errors = sum(p.level == "error" for p in problems)
        warnings = len(problems) - errors
        print(f"{len(entries)} mục trong {len(files)} tệp: {errors} lỗi, {warnings} cảnh báo.")
        return 1 if errors else 0
    if args.action == "reload":
        from bot.app import request_kb_reload
        from bot.storage.db import Database

        load_kb(settings)  # refuse early if the content does not validate
        db = Database(settings.effective_database_url)
        db.migrate()
        db.call(request_kb_reload)
        print("Đã yêu cầu nạp lại cơ sở tri thức; bot đang chạy sẽ nạp trong vài giây.")
        return 0
    if args.action == "quality":
        from knowledge.quality import leave_one_out

        report = leave_one_out(load_kb(settings), settings.faq_answer_threshold, settings.faq_suggest_threshold)
        print(report.summary())
        if args.json:
            print(report.details())
        return 0
    if args.action == "unanswered":
        from bot.unanswered import print_unanswered

        return print_unanswered(args.days, args.limit)
    kb = load_kb(settings)
    if args.action == "list":
        for e in kb.entries.values():
            if args.json:
                print(json.dumps({"id": e.id, "topic": e.topic, "title": e.title, "period": e.period}, ensure_ascii=False))
            else:
                print(f"{e.id:48s} {e.topic:9s} {e.period:10s} {e.title}")
        return 0
    if args.action == "export":
        data = [json.loads(e.model_dump_json()) for e in kb.entries.values()]
        print(json.dumps(data, ensure_ascii=False, indent=None if args.json else 2))
        return 0
    return 2


# ------------------------------------------------------------------ db / telegram
def cmd_db(args: argparse.Namespace) -> int:
    from bot.storage.db import Database

    db = Database(get_settings().effective_database_url)
    db.migrate()
    print("Cơ sở dữ liệu đã ở phiên bản mới nhất.")
    return 0


def cmd_telegram(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.telegram_enabled:
        print("Chưa có TELEGRAM_BOT_TOKEN.", file=sys.stderr)
        return 2

    async def go() -> None:
        from bot.app import App
        from bot.channels.telegram import TelegramChannel

        import aiohttp

        app = App(settings)
        app.http = aiohttp.ClientSession()
        tg = TelegramChannel(app)
        try:
            await tg.bot.initialize()
            if args.action == "set-webhook":
                if not settings.telegram_webhook_url or not settings.telegram_webhook_secret:
                    raise SystemExit("Cần TELEGRAM_WEBHOOK_URL và TELEGRAM_WEBHOOK_SECRET.")
                await tg.set_webhook(settings.telegram_webhook_url, settings.telegram_webhook_secret)
                print(f"Đã đăng ký webhook: {settings.telegram_webhook_url}")
            elif args.action == "delete-webhook":
                await tg.bot.delete_webhook()
                print("Đã xóa webhook.")
            elif args.action == "set-commands":
                await tg.set_commands()
                print("Đã cập nhật menu lệnh.")
        finally:
            await app.http.close()

    asyncio.run(go())
    return 0


# ------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ntm-bot", description="Chatbot nông thôn mới và OCOP tỉnh An Giang")
    sub = ap.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="chạy mọi kênh đã cấu hình (không có kênh nào: trò chuyện trong terminal)").set_defaults(fn=cmd_run)
    p = sub.add_parser("chat", help="trò chuyện với bot trong terminal")
    p.add_argument("--staff", action="store_true", help="mở phòng cán bộ: nhận phản ánh, trả lời bằng lệnh cán bộ")
    p.set_defaults(fn=cmd_chat)

    p = sub.add_parser("ask", help="hỏi một câu (--json: đọc từng dòng từ stdin, in JSON)")
    p.add_argument("question", nargs="*")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_ask)

    p = sub.add_parser("kb", help="cơ sở tri thức: check | list | export | reload | unanswered | quality")
    p.add_argument("action", choices=["check", "list", "export", "reload", "unanswered", "quality"])
    p.add_argument("--json", action="store_true")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--limit", type=int, default=30)
    p.set_defaults(fn=cmd_kb)

    p = sub.add_parser("db", help="cơ sở dữ liệu: migrate")
    p.add_argument("action", choices=["migrate"])
    p.set_defaults(fn=cmd_db)

    p = sub.add_parser("telegram", help="Telegram: set-webhook | delete-webhook | set-commands")
    p.add_argument("action", choices=["set-webhook", "delete-webhook", "set-commands"])
    p.set_defaults(fn=cmd_telegram)

    # Plugins register into the imported `bot.cli`, which is not this module under `python -m bot.cli`.
    import importlib

    for name, help_, add_arguments, fn in importlib.import_module("bot.cli").SUBCOMMANDS:
        p = sub.add_parser(name, help=help_)
        add_arguments(p)
        p.set_defaults(fn=fn)
    return ap


def main(argv: list[str] | None = None) -> int:
    import bot.plugins  # noqa: F401  (feature modules register their subcommands)

    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
