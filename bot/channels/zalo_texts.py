"""Why a message could not reach a Zalo citizen: stored as the outbox row's last_error and shown to the officers
(Vietnamese, self-explanatory). Citizens' texts stay in the kernel's and the features' texts.py."""

REASON_WINDOW = (
    "đã quá {days} ngày kể từ tin nhắn cuối của người dân; theo quy định của Zalo, OA chỉ được trả lời "
    "(tin tư vấn) trong vòng 7 ngày kể từ lần cuối người dân nhắn tin hay quan tâm OA"
)
REASON_WINDOW_API = (
    "đã quá 7 ngày kể từ tin nhắn cuối của người dân (Zalo từ chối, mã -230); theo quy định của Zalo, OA không "
    "được trả lời nữa cho tới khi người dân nhắn lại"
)
REASON_NO_INTERACTION = "người dân chưa từng nhắn hay quan tâm Zalo OA nên OA không thể nhắn cho họ"
REASON_NOT_FOLLOWER = "người dân đã bỏ quan tâm hoặc chặn Zalo OA"
REASON_PERMANENT = "Zalo từ chối tin nhắn ({detail})"
REASON_OVER_LIMIT = (
    "Zalo từ chối hẳn tin nhắn này vì một tham số vượt giới hạn cho phép (mã -210), gửi lại cũng không được; "
    "cán bộ rút gọn nội dung hoặc bỏ bớt tệp kèm rồi gửi lại ({detail})"
)
REASON_VIOLATION = (
    "Zalo từ chối hẳn tin nhắn này vì cho rằng nội dung vi phạm tiêu chuẩn của nền tảng (mã -248), gửi lại cũng "
    "không được; cán bộ sửa lời lẽ (bỏ đường dẫn lạ, số điện thoại, chữ dễ bị coi là quảng cáo) rồi gửi lại ({detail})"
)
