"""`ntm-bot zalo set-webhook | delete-webhook | info | oa-tokens`: the operator's side of the Zalo channels."""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.config import get_settings

ACTIONS = ["set-webhook", "delete-webhook", "info", "oa-tokens"]


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=ACTIONS, help="set-webhook, delete-webhook: webhook của Zalo Bot; info: thông tin "
                   "bot và token OA; oa-tokens: lưu ZALO_OA_ACCESS_TOKEN/ZALO_OA_REFRESH_TOKEN mới sau khi quản trị "
                   "viên OA cấp quyền lại")


def cmd_zalo(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.action == "oa-tokens":
        return _oa_tokens(settings)
    if args.action == "info":
        code = _bot_command(settings, "info") if settings.zalo_bot_token else 0
        if settings.zalo_oa_app_id:
            _oa_info(settings)
        if not settings.zalo_bot_token and not settings.zalo_oa_app_id:
            print("Chưa cấu hình Zalo (ZALO_BOT_TOKEN hoặc ZALO_OA_APP_ID).", file=sys.stderr)
            return 2
        return code
    if not settings.zalo_bot_token:
        print("Chưa có ZALO_BOT_TOKEN.", file=sys.stderr)
        return 2
    return _bot_command(settings, args.action)


def _bot_command(settings: Any, action: str) -> int:
    import aiohttp

    from bot.channels.zalo_bot import ZaloBotClient, ZaloBotError

    if action == "set-webhook":
        url, secret = settings.zalo_bot_webhook_url, settings.zalo_bot_webhook_secret
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            print("Cần ZALO_BOT_WEBHOOK_URL dạng https://… trỏ tới /zalo/webhook.", file=sys.stderr)
            return 2
        if not 8 <= len(secret) <= 256:
            print("Cần ZALO_BOT_WEBHOOK_SECRET dài 8–256 ký tự.", file=sys.stderr)
            return 2

    async def go() -> int:
        async with aiohttp.ClientSession() as http:
            client = ZaloBotClient(lambda: http, settings.zalo_bot_api_base_url, settings.zalo_bot_token, 30.0)
            try:
                if action == "set-webhook":
                    await client.call("setWebhook", {"url": settings.zalo_bot_webhook_url,
                                                     "secret_token": settings.zalo_bot_webhook_secret})
                    print(f"Đã đăng ký webhook Zalo: {settings.zalo_bot_webhook_url}")
                elif action == "delete-webhook":
                    await client.call("deleteWebhook")
                    print("Đã xóa webhook Zalo (bot nhận tin bằng getUpdates khi ZALO_BOT_MODE=polling).")
                else:
                    me = await client.call("getMe") or {}
                    info = await client.call("getWebhookInfo") or {}
                    print(f"Bot Zalo: {me.get('account_name', '?')} (id {me.get('id', '?')}, "
                          f"vào nhóm: {'có' if me.get('can_join_groups') else 'không'})")
                    print(f"Webhook: {info.get('url') or '(chưa đặt: dùng getUpdates)'}")
                    print(f"Chế độ đang cấu hình: {settings.zalo_bot_effective_mode}")
            except ZaloBotError as err:
                print(f"Zalo báo lỗi: {err}", file=sys.stderr)  # already redacted
                return 1
        return 0

    return asyncio.run(go())


def _db(settings: Any) -> Any:
    from bot.storage.db import Database

    db = Database(settings.effective_database_url)
    db.migrate()
    return db


def _oa_info(settings: Any) -> None:
    from bot.channels.zalo_oa import load_token

    db = _db(settings)
    try:
        row = db.call(load_token, settings.zalo_oa_app_id)
    finally:
        db.dispose()
    if row is None:
        print("Zalo OA: chưa có token trong cơ sở dữ liệu (bot nạp từ ZALO_OA_ACCESS_TOKEN/ZALO_OA_REFRESH_TOKEN khi chạy).")
        return
    expires = row.expires_at.isoformat(timespec="minutes") if row.expires_at else "không rõ (làm mới khi Zalo báo hết hạn)"
    print(f"Zalo OA app {row.app_id}: token phiên bản {row.version}, hết hạn {expires}, "
          f"đã làm mới {row.refresh_count} lần" + (f", lỗi gần nhất: {row.last_error}" if row.last_error else ""))


def _oa_tokens(settings: Any) -> int:
    from bot.channels.zalo_oa import replace_tokens
    from bot.kernel.messages import utcnow

    if not settings.zalo_oa_app_id or not settings.zalo_oa_refresh_token:
        print("Cần ZALO_OA_APP_ID và ZALO_OA_REFRESH_TOKEN (cùng ZALO_OA_ACCESS_TOKEN) mới lấy từ OAuth.", file=sys.stderr)
        return 2
    db = _db(settings)
    try:
        db.call(replace_tokens, settings.zalo_oa_app_id, settings.zalo_oa_access_token, settings.zalo_oa_refresh_token, utcnow())
    finally:
        db.dispose()
    print("Đã lưu token Zalo OA mới vào cơ sở dữ liệu; bot đang chạy dùng ngay ở lần gửi sau. "
          "Hãy xóa chúng khỏi .env: từ nay bản trong cơ sở dữ liệu được tự làm mới.")
    return 0


SUBCOMMAND = ("zalo", "Zalo: set-webhook | delete-webhook | info | oa-tokens", _args, cmd_zalo)
