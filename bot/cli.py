# Over 400 lines: every subcommand of one command line, each a few lines, with its parser at the end.
"""ntm-bot command line: run | chat | ask | kb … | db … | telegram …"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import logging
import sys
import uuid
from typing import Any

from bot.config import get_settings


# Feature modules add subcommands here: (name, help, add_arguments, handler(args) -> exit code).
def setup_logging(level: str = "INFO", json_logs: bool = False, access_log: bool = False, path: str | None = None) -> None:
    from bot.kernel.logs import configure

    configure(level, json_logs, access_log, path)


# ------------------------------------------------------------------ ask
def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions as a citizen would see them: each question goes through the same router and handlers
    as a chat message, in a private chat of its own, in a throw-away in-memory database (nothing is stored)."""
    gc.disable()  # building the one-shot bot allocates much and frees almost nothing: collect once it is built
    from bot.asking import OneShot

    settings = get_settings()
    shot = OneShot(settings)
    gc.freeze()  # what is built stays; later collections scan only what each question makes
    gc.enable()
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


def _exit_now(code: int) -> None:
    """A one-shot process ends without tearing down its heap: freeing the indexed knowledge base object by object
    at exit took a quarter of `ask`'s start-up. Nothing is left to write (the database is in memory)."""
    import os

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# ------------------------------------------------------------------ chat / run
async def _terminal_chat(app: Any, chat_id: str = "local", user: str = "", staff: bool = False) -> None:
    """The person at the terminal has no name (the bot greets "Xin chào!"); the officers' room has one, which
    the audit log and the tickets' history show."""
    from bot.kernel.messages import TERMINAL, TERMINAL_STAFF, Inbound

    channel = TERMINAL_STAFF if staff else TERMINAL
    if staff:
        chat_id, user = "staff", "Cán bộ (terminal)"
    key = f"{channel}:{chat_id}"
    interactive = sys.stdin.isatty()
    loop = asyncio.get_running_loop()
    log_file = app.settings.data_dir / CHAT_LOG
    if interactive and staff:
        print("🏛 Phòng cán bộ (thử tại máy). Phản ánh mới hiện ở đây; gõ nội dung để trả lời thẻ mới nhất, "
              "«PA-000001 nội dung» để trả lời một phản ánh; /inbox, /help_staff; /staff add @ten để thêm cán bộ thử. "
              f"Ctrl+D để thoát. (Nhật ký kỹ thuật: {log_file})\n")
    elif interactive:
        print("💬 Trò chuyện thử với ntm-bot. Gõ câu hỏi rồi Enter; /start xem menu; Ctrl+D để thoát. "
              f"(Nhật ký kỹ thuật: {log_file})\n")
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


def _web_chat_port_free(settings: Any) -> bool:
    """Can the terminal chat also serve the web chat? (Another process may hold the port.)"""
    import socket

    if not settings.web_chat_enabled:
        return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((settings.http_host, settings.http_port))
        except OSError:
            return False
    return True


def _web_chat_banner(settings: Any, served: bool) -> str:
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if served:
        return f"🌐 Trò chuyện trên trình duyệt: http://{host}:{settings.http_port}/chat\n"
    return (f"🌐 Cổng {settings.http_port} đang bận nên trang trò chuyện web không mở được "
            "(đặt HTTP_PORT khác trong .env để mở).\n")


async def _run_app(with_terminal: bool, serve_http: bool, staff: bool = False) -> None:
    from bot.app import App
    from bot.channels.terminal import TerminalChannel
    from bot.channels.terminal_staff import StaffTerminalChannel

    app = App(get_settings())
    app.configure_channels()
    if with_terminal and staff:
        # The citizens of this machine are the other terminal (`ntm-bot chat`, same database): broadcasts count
        # them, and that process sends to them (it holds the sender lease; this room sends to nobody).
        from bot.kernel.messages import TERMINAL

        app.send_broadcasts = False
        app.services.extras["broadcast_channels"] = lambda: sorted(set(app.adapters) | {TERMINAL})
    if with_terminal:
        # Two terminals share the database: the citizen's delivers the citizen's messages, the officers' theirs.
        app.add_adapter(StaffTerminalChannel(app.settings.data_dir / "exports") if staff else TerminalChannel())
    await app.start(serve_http=serve_http, http_optional=with_terminal)
    if with_terminal and serve_http and not app.http_served:  # taken between the check and the start
        print(_web_chat_banner(app.settings, False), flush=True)
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


CHAT_LOG = "chat.log"  # in DATA_DIR: the terminal chat's log lines (English, for the operator)


def cmd_chat(args: argparse.Namespace, serve_http: bool = False) -> int:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging("WARNING", path=str(settings.data_dir / CHAT_LOG))  # not into the chat window
    asyncio.run(_run_app(with_terminal=True, serve_http=serve_http, staff=getattr(args, "staff", False)))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = get_settings()
    from bot import composition
    from bot.kernel.channel import CHANNELS

    composition.load_channels()
    if not CHANNELS.configured(settings):
        print("Chưa cấu hình kênh nào (TELEGRAM_BOT_TOKEN, …): mở trò chuyện trong terminal.")
        web = _web_chat_port_free(settings)  # and the web chat beside it, on the embedded default address
        if settings.web_chat_enabled:
            print(_web_chat_banner(settings, web), flush=True)
        return cmd_chat(args, serve_http=web)
    setup_logging(settings.log_level, settings.log_json, settings.http_access_log)
    asyncio.run(_run_app(with_terminal=False, serve_http=True))
    return 0


# ------------------------------------------------------------------ kb
def cmd_kb(args: argparse.Namespace) -> int:
    from bot.app import load_kb
    from knowledge.kb import DATA_DIR, check_entries, read_entries

    settings = get_settings()
    today = dt.date.fromisoformat(args.today) if args.today else None
    if args.action == "check":
        entries, files, problems = read_entries(settings.kb_dir or DATA_DIR)
        problems += check_entries(entries, today=today, strict=True)
        for p in problems:
            print(p)
        errors = sum(p.level == "error" for p in problems)
        warnings = len(problems) - errors
        print(f"{len(entries)} mục trong {len(files)} tệp: {errors} lỗi, {warnings} cảnh báo.")
        return 1 if errors else 0
    if args.action == "export-yaml":
        from bot.features.console.curation import export_yaml
        from bot.storage.db import Database

        db = Database(settings.effective_database_url)
        db.migrate()
        text = db.call(export_yaml)
        db.dispose()
        if args.out:
            from pathlib import Path

            Path(args.out).write_text(text, encoding="utf-8")
            print(f"Đã ghi {args.out}.")
        else:
            sys.stdout.write(text)
        return 0
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
        from knowledge.train import cv_summary

        kb = load_kb(settings)
        report = leave_one_out(kb)
        print(report.summary())
        print("Mô hình quyết định " + ("(đúng nội dung hiện tại)" if kb.model_is_current else
                                        "(huấn luyện trên nội dung cũ hơn: chạy ntm-bot kb train)") + ": " + cv_summary(kb.model))
        if args.json:
            print(report.details())
        return 0
    if args.action == "train":
        from pathlib import Path

        from knowledge.decision import MODEL_PATH
        from knowledge.train import train

        kb = load_kb(settings)
        model = train(kb, kb_hash=kb.content_hash)
        out = Path(args.out) if args.out else MODEL_PATH
        model.save(out)
        print(f"Đã ghi {out}")
        return 0
    if args.action == "freshness":
        from knowledge.kb import freshness_report

        entries, _, problems = read_entries(settings.kb_dir or DATA_DIR)
        print(freshness_report([e for _, e in entries], today=today, limit=args.limit, as_json=args.json))
        return 0
    if args.action == "unanswered":
        from bot.features.content.unanswered import print_unanswered

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
    if not settings.telegram_bot_token:
        print("Chưa có TELEGRAM_BOT_TOKEN.", file=sys.stderr)
        return 2

    async def go() -> None:
        import aiohttp

        from bot.app import App
        from bot.channels.telegram import TelegramChannel

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
# argparse's own words (usage, section titles, errors), as an operator or editor reads them: in Vietnamese.
_ARGPARSE_VI = {
    "usage: ": "cách dùng: ",
    "positional arguments": "tham số",
    "options": "tùy chọn",
    "show this help message and exit": "in hướng dẫn này rồi thoát",
    "%(prog)s: error: %(message)s\n": "%(prog)s: lỗi: %(message)s\n",
    "the following arguments are required: %s": "thiếu tham số: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "không có lựa chọn %(value)r (chọn một trong: %(choices)s)",
    "unrecognized arguments: %s": "không hiểu tham số: %s",
    "argument %(argument_name)s: %(message)s": "tham số %(argument_name)s: %(message)s",
    "expected one argument": "cần một giá trị",
    "invalid %(type)s value: %(value)r": "giá trị %(type)s không hợp lệ: %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "tùy chọn %(option)s chưa rõ, có thể là %(matches)s",
}


def _vietnamese_argparse() -> None:
    argparse._ = lambda text: _ARGPARSE_VI.get(text, text)  # type: ignore[attr-defined]  # argparse has no hook for its messages but its module's gettext `_`


def build_parser() -> argparse.ArgumentParser:
    _vietnamese_argparse()
    ap = argparse.ArgumentParser(prog="ntm-bot", description="Chatbot nông thôn mới và OCOP tỉnh An Giang")
    sub = ap.add_subparsers(dest="command", required=True, metavar="lệnh")

    sub.add_parser("run", help="chạy mọi kênh đã cấu hình (không có kênh nào: trò chuyện trong terminal)").set_defaults(fn=cmd_run)
    p = sub.add_parser("chat", help="trò chuyện với bot trong terminal")
    p.add_argument("--staff", action="store_true", help="mở phòng cán bộ: nhận phản ánh, trả lời bằng lệnh cán bộ")
    p.set_defaults(fn=cmd_chat)

    p = sub.add_parser("ask", help="hỏi một câu (--json: đọc từng dòng từ stdin, in JSON)")
    p.add_argument("question", nargs="*", help="câu hỏi, như người dân gõ")
    p.add_argument("--json", action="store_true", help="in một dòng JSON mỗi câu; không ghi câu hỏi thì đọc từng dòng từ stdin")
    p.set_defaults(fn=cmd_ask)

    p = sub.add_parser("kb", help="cơ sở tri thức: check | freshness | list | export | export-yaml | reload | unanswered | quality",
                       description="Cơ sở tri thức: kiểm tra, liệt kê, xuất, nạp lại, đo chất lượng, xem câu hỏi chưa trả lời được.")
    p.set_defaults(fn=cmd_kb, json=False, days=30, limit=30, today=None, out=None)
    kb = p.add_subparsers(dest="action", required=True, metavar="việc")
    q = kb.add_parser("check", help="kiểm tra nội dung: lỗi (phải sửa) và cảnh báo")
    q.add_argument("--today", help="kiểm tra như vào ngày này (YYYY-MM-DD) thay cho hôm nay")
    q = kb.add_parser("freshness", help="số liệu và mục lâu chưa rà soát nhất, cho cán bộ giữ nội dung",
                      description="Các con số có mốc thời gian, cũ nhất trước, kèm ghi chú rà soát; rồi các mục lâu chưa rà soát nhất.")
    q.add_argument("--today", help="tính tuổi số liệu như vào ngày này (YYYY-MM-DD)")
    q.add_argument("--limit", type=int, default=30, metavar="N", help="in nhiều nhất N dòng (mặc định 30)")
    q.add_argument("--json", action="store_true", help="in JSON")
    q = kb.add_parser("list", help="liệt kê các mục: id, chủ đề, giai đoạn, tiêu đề")
    q.add_argument("--json", action="store_true", help="mỗi mục một dòng JSON")
    q = kb.add_parser("export", help="xuất toàn bộ nội dung ra JSON")
    q.add_argument("--json", action="store_true", help="JSON trên một dòng (không thụt lề)")
    kb.add_parser("reload", help="yêu cầu bot đang chạy nạp lại nội dung, không cần khởi động lại")
    q = kb.add_parser("export-yaml", help="xuất nội dung cán bộ đã duyệt trên /canbo ra YAML để xem lại trong git",
                      description="Các mục mới và cách hỏi thêm mà cán bộ đã soạn và duyệt trên bảng điều khiển (/canbo).")
    q.add_argument("--out", help="ghi vào tệp này (mặc định: in ra màn hình)")
    q = kb.add_parser("unanswered", help="câu hỏi bot chưa trả lời được, gom nhóm theo nội dung, nhiều nhất trước",
                      description="Câu hỏi người dân hỏi mà bot chưa trả lời được, gom nhóm các câu cùng ý: nội dung nên viết thêm.")
    q.add_argument("--days", type=int, default=30, metavar="N", help="xem N ngày gần đây (mặc định 30)")
    q.add_argument("--limit", type=int, default=30, metavar="N", help="in nhiều nhất N nhóm (mặc định 30)")
    q = kb.add_parser("quality", help="đo chất lượng: mỗi cách hỏi được ẩn khỏi mục của nó rồi hỏi lại",
                      description="Mỗi cách hỏi được ẩn khỏi mục của nó rồi hỏi lại; nó phải tìm về đúng mục. In tỉ lệ và "
                                  "các cặp mục dễ lẫn.")
    q.add_argument("--json", action="store_true", help="in thêm từng cách hỏi bị lạc sang mục khác")
    q = kb.add_parser("train", help="huấn luyện lại mô hình quyết định trả lời / gợi ý / không trả lời (20–60 giây)",
                      description="Huấn luyện mô hình quyết định từ chính các cách hỏi của cơ sở tri thức và bộ câu ngoài "
                                  "phạm vi, in kết quả kiểm định chéo. Bot đang chạy tự huấn luyện lại khi nội dung đổi.")
    q.add_argument("--out", help="tệp mô hình (mặc định knowledge/model.json, tệp đi kèm bot)")

    p = sub.add_parser("db", help="cơ sở dữ liệu: migrate")
    p.add_argument("action", choices=["migrate"], help="migrate: đưa lược đồ lên phiên bản mới nhất")
    p.set_defaults(fn=cmd_db)

    p = sub.add_parser("telegram", help="Telegram: set-webhook | delete-webhook | set-commands")
    p.add_argument("action", choices=["set-webhook", "delete-webhook", "set-commands"],
                   help="set-webhook: đăng ký TELEGRAM_WEBHOOK_URL; delete-webhook: xóa webhook; set-commands: cập nhật "
                        "menu lệnh (người dân, nhóm cán bộ)")
    p.set_defaults(fn=cmd_telegram)

    from bot import composition

    for name, help_, add_arguments, fn in composition.cli_commands():
        p = sub.add_parser(name, help=help_)
        add_arguments(p)
        p.set_defaults(fn=fn)
    return ap


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError

    from bot.config import settings_error

    args = build_parser().parse_args(argv)
    try:
        code = int(args.fn(args) or 0)
        if argv is None and args.fn is cmd_ask:
            _exit_now(code)
        return code
    except ValidationError as err:  # a typo in .env: say which key and why, no traceback
        print(settings_error(err), file=sys.stderr)
        return 2
    except Exception as err:  # one redacted line, never a raw traceback quoting a secret
        import os
        import traceback

        from bot.kernel import logs

        try:
            logs.add_settings_secrets(get_settings())
        except Exception:
            pass
        if os.environ.get("NTM_DEBUG") == "1":
            print(logs.redact("".join(traceback.format_exception(err))), file=sys.stderr)
        print(logs.redact(f"Lỗi / error: {type(err).__name__}: {err}"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
