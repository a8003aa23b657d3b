"""What staff (and the operator) read about Zalo delivery. Citizens' texts stay in handlers/texts.py."""

# Reasons stored as the outbox row's last_error and shown to staff (Vietnamese, self-explanatory).
REASON_WINDOW = (
    "người dân đã không nhắn cho Zalo OA quá {days} ngày; theo quy định của Zalo, OA chỉ được trả lời "
    "(tin tư vấn) trong vòng 7 ngày kể từ tin nhắn cuối của người dân"
)
REASON_WINDOW_API = (
    "Zalo từ chối (mã -230): người dân không tương tác với OA trong 7 ngày qua nên OA không được trả lời nữa"
)
REASON_NO_INTERACTION = "người dân chưa từng nhắn hay quan tâm Zalo OA nên OA không thể nhắn cho họ"
REASON_NOT_FOLLOWER = "người dân đã bỏ quan tâm hoặc chặn Zalo OA"
REASON_PERMANENT = "Zalo từ chối tin nhắn ({detail})"
REASON_GAVE_UP = "Zalo không nhận tin sau nhiều lần thử ({detail})"

# Posted in the staff inbox (Telegram) when an officer's answer cannot reach a Zalo citizen.
UNDELIVERED = (
    "⚠️ **Không gửi được trả lời tới người dân** trên {channel}{ref}.\n"
    "Lý do: {reason}.\n"
    "Nội dung chưa gửi ({parts}):\n«{text}»\n\n"
    "Vui lòng liên hệ người dân bằng cách khác (điện thoại, địa chỉ nếu họ đã để lại), hoặc chờ người dân "
    "nhắn lại rồi trả lời lần nữa."
)
CHANNEL_NAMES = {"zalo": "Zalo", "zalo_oa": "Zalo OA"}
