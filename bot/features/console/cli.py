"""`ntm-bot staff …`: console accounts from the command line (the first admin, password resets).

    ntm-bot staff add LOGIN --name "Nguyễn Văn An" [--role officer|supervisor|admin] [--communes 30292,30307]
                      [--telegram-id 123456789]     (the password is read from the terminal, or --password-stdin)
    ntm-bot staff password LOGIN                    a new password (every session of the account ends)
    ntm-bot staff list
    ntm-bot staff totp LOGIN [--off]               the optional second factor (RFC 6238, any authenticator app)
Every change is audit-logged (actor "cli")."""
from __future__ import annotations

import argparse
import getpass
import sys

from bot.config import get_settings


def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="việc")
    q = sub.add_parser("add", help="tạo hoặc sửa tài khoản bảng điều khiển cán bộ (/canbo)")
    q.add_argument("login", help="tên đăng nhập: chữ thường không dấu, số, . - _")
    q.add_argument("--name", default="", help="họ tên cán bộ")
    q.add_argument("--role", default="officer", choices=("officer", "supervisor", "admin"),
                   help="officer (cán bộ), supervisor (lãnh đạo), admin (quản trị)")
    q.add_argument("--communes", default="", help="mã các xã, phường phụ trách, cách nhau dấu phẩy; trống: toàn tỉnh")
    q.add_argument("--telegram-id", default="", help="ID Telegram của cán bộ (cùng tài khoản với lệnh trong nhóm)")
    q.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ dòng đầu của stdin")
    q = sub.add_parser("password", help="đặt mật khẩu mới (mọi phiên đang mở của tài khoản kết thúc)")
    q.add_argument("login")
    q.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ dòng đầu của stdin")
    sub.add_parser("list", help="liệt kê tài khoản bảng điều khiển")
    q = sub.add_parser("totp", help="bật (hoặc --off: tắt) mã xác thực 6 số từ ứng dụng xác thực cho một tài khoản")
    q.add_argument("login")
    q.add_argument("--off", action="store_true", help="tắt mã xác thực")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        raise SystemExit("Hai lần nhập mật khẩu không giống nhau.")
    return first


def cmd_staff(args: argparse.Namespace) -> int:
    from bot.features.console import accounts
    from bot.kernel.messages import utcnow
    from bot.storage.db import Database

    db = Database(get_settings().effective_database_url)
    db.migrate()
    try:
        if args.action == "list":
            for row, staff in db.call(accounts.accounts):
                communes = ", ".join(row.communes or []) or "toàn tỉnh"
                state = "" if staff.active else " (đã ngừng)"
                print(f"{row.login}\t{staff.display_name}\t{staff.role}\t{communes}{state}")
            return 0
        if args.action == "add":
            password = _password(args)
            db.call(accounts.save_account, utcnow(), login=args.login, name=args.name, role=args.role,
                    communes=args.communes.split(","), password=password, user_id=args.telegram_id)
            print(f"Đã lưu tài khoản {args.login.lower()}.")
            return 0
        if args.action == "totp":
            secret = db.call(accounts.set_totp, utcnow(), args.login, not args.off)
            if args.off:
                print(f"Đã tắt mã xác thực của {args.login.lower()}.")
            else:
                print(f"Mã bí mật (nhập vào ứng dụng xác thực, loại «dựa trên thời gian»): {secret}")
                print(f"otpauth://totp/ntm-bot:{args.login.lower()}?secret={secret}&issuer=ntm-bot")
                print("Các phiên đang mở của tài khoản đã kết thúc; lần đăng nhập sau cần mã 6 số.")
            return 0
        login = args.login.strip().lower()
        found = [r for r, s in db.call(accounts.accounts) if r.login == login]
        if not found:
            print(f"Không có tài khoản {login}.", file=sys.stderr)
            return 2
        row = found[0]
        staff_role = next(s.role for r, s in db.call(accounts.accounts) if r.login == login)
        name = next(s.display_name for r, s in db.call(accounts.accounts) if r.login == login)
        db.call(accounts.save_account, utcnow(), login=login, name=name, role=staff_role,
                communes=list(row.communes or []), password=_password(args))
        print(f"Đã đặt mật khẩu mới cho {login}; các phiên đang mở đã kết thúc.")
        return 0
    except accounts.AccountError as err:
        print(str(err), file=sys.stderr)
        return 2
    finally:
        db.dispose()


SUBCOMMAND = ("staff", "tài khoản bảng điều khiển cán bộ (/canbo): add | password | list | totp", _args, cmd_staff)
