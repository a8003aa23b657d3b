"""The whole loop on one machine without Telegram: a citizen's terminal and the officers' terminal
(`ntm-bot chat --staff`) sharing one database."""
import os

from tests.test_cli import ENV, run


def test_two_terminals_citizen_and_staff(tmp_path):
    env = {k: v for k, v in ENV.items() if not k.startswith(("TELEGRAM_", "ZALO_", "STAFF_", "SMTP_", "AGENCY_EMAIL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'loop.sqlite3'}", DATA_DIR=str(tmp_path))
    citizen = run(["chat"], stdin="/phananh\n1\nĐèn đường ấp Mỹ Hòa tắt cả tháng nay\nxa my khanh\nbo qua\n1\n1\n", env=env)
    assert citizen.returncode == 0, citizen.stderr
    assert "Mã phản ánh: PA-000001" in citizen.stdout

    staff = run(["chat", "--staff"], stdin="/reply PA-000001 Điện lực đã thay bóng đèn.\n/export\n/close PA-000001 Đã sửa\n", env=env)
    assert staff.returncode == 0, staff.stderr
    assert "🆕 PA-000001 · Giao thông" in staff.stdout  # the card waited in the outbox for the officers' room
    assert "Phường Bình Đức" in staff.stdout and "Đã gửi trả lời" in staff.stdout
    assert "Đã đóng PA-000001" in staff.stdout
    exported = list((tmp_path / "exports").glob("phan-anh_*.csv"))
    assert exported and "PA-000001" in exported[0].read_text(encoding="utf-8-sig")

    back = run(["chat"], stdin="5\n", env=env)  # the citizen comes back: the answer and the closing are waiting
    assert "Trả lời phản ánh PA-000001" in back.stdout and "Điện lực đã thay bóng đèn." in back.stdout
    assert "đã được đóng" in back.stdout
    assert os.path.exists(tmp_path / "loop.sqlite3")
