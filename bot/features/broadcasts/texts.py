"""What the bot says about subscriptions, slogans and broadcasts (citizens and staff), for review in one place.

`**bold**` is the only markup; channels render or strip it. Words about pressing buttons are marked with
`by_caps(with buttons, typed)` (the terminal and Zalo have numbered choices instead).
"""
from bot.kernel.channel import by_caps

# ------------------------------------------------------------------ every broadcast message
BROADCAST_HEADER = "📢 **Tin từ {agency}**"
UNSUBSCRIBE_FOOTER = "Gõ /huydangky để ngừng nhận tin."
BTN_UNSUBSCRIBE = "🔕 Ngừng nhận tin"

# ------------------------------------------------------------------ citizens
CMD_SUBSCRIBE = "Đăng ký nhận tin nông thôn mới, OCOP"
CMD_UNSUBSCRIBE = "Ngừng nhận tin"
CMD_SLOGAN = "Khẩu hiệu nông thôn mới"
BTN_MENU_SUBSCRIBE = "🔔 Đăng ký nhận tin"
SUB_ASK_TOPICS = (
    "🔔 **Nhận tin nông thôn mới và OCOP**\n"
    "Tôi sẽ gửi cho bạn tin do cơ quan phụ trách soạn (không quảng cáo, không gửi từ 21 giờ đến 7 giờ sáng). "
    "Bạn có thể ngừng bất cứ lúc nào bằng lệnh /huydangky.\n\n"
    "Bạn muốn nhận tin gì?"
)
SUB_ASK_TOPICS_AGAIN = "Bạn đang nhận: {topics}{commune}.\nChọn lại nếu muốn đổi, hoặc ngừng nhận tin:"
BTN_SUB_ALL = "Tất cả các tin"
BTN_SUB_ONLY = "Chỉ: {label}"
SUB_ASK_COMMUNE = (
    "Bạn ở xã, phường nào? Gõ tên (ví dụ «Mỹ Hòa Hưng») để nhận cả thông báo riêng của xã, phường mình, "
    "hoặc " + by_caps("bấm «Bỏ qua»", "gõ «bỏ qua»") + "."
)
BTN_SKIP = "Bỏ qua"
SUB_COMMUNE_CHOOSE = "Có mấy xã, phường gần giống. Bạn chọn đúng nơi của mình:"
SUB_COMMUNE_NONE = (
    "Tôi chưa tìm thấy xã, phường «{text}» trong 102 xã, phường, đặc khu của An Giang. "
    "Bạn gõ lại tên (ví dụ «Mỹ Hòa Hưng»), hoặc " + by_caps("bấm «Bỏ qua»", "gõ «bỏ qua»") + "."
)
SUB_DONE = "✅ Đã đăng ký nhận tin: {topics}{commune}.\nKhi muốn ngừng, gõ /huydangky."
SUB_COMMUNE_PART = "; xã, phường: {name}"
UNSUB_DONE = "Đã ngừng gửi tin cho bạn. Khi nào muốn nhận lại, gõ /dangky."
UNSUB_NOT_SUBSCRIBED = "Bạn chưa đăng ký nhận tin. Nếu muốn nhận tin nông thôn mới, OCOP và thông báo của xã, gõ /dangky."
SUB_ELSEWHERE = ("Trên trang web này bạn hỏi đáp và gửi phản ánh. Để nhận tin tức, thông báo của chương trình, bạn "
                 "nhắn «/dangky» cho bot trên Zalo hoặc Telegram nhé.")
SUB_PRIVATE_ONLY = "Việc đăng ký nhận tin làm trong tin nhắn riêng với bot. Bạn nhắn riêng cho tôi nhé."
SLOGAN_UNAVAILABLE = "Xin lỗi, thư viện khẩu hiệu đang được cập nhật. Bạn thử lại sau nhé."
BTN_NEXT_SLOGAN = "📣 Khẩu hiệu khác"

# ------------------------------------------------------------------ staff
CMD_BROADCAST = "Soạn tin gửi người đăng ký"
CMD_BROADCAST_STATUS = "Tiến độ gửi tin"
CMD_BROADCAST_CANCEL = "Hủy một tin"
CMD_BROADCAST_APPROVE = "Duyệt một tin"
CMD_BROADCAST_REJECT = "Từ chối một tin"
USAGE_BROADCAST = "/broadcast nội dung [lúc 2026-12-01 07:30]"
USAGE_BROADCAST_STATUS = "/broadcast_status [số tin]"
USAGE_BROADCAST_CANCEL = "/broadcast_cancel số tin"
USAGE_BROADCAST_APPROVE = "/broadcast_approve số tin"
USAGE_BROADCAST_REJECT = "/broadcast_reject số tin"
BC_USAGE = (
    "**Gửi tin cho người đăng ký**\n"
    "• «/broadcast nội dung»: tin chữ, tối đa {max_text} ký tự (**chữ đậm** viết giữa hai cặp dấu sao).\n"
    "• Tin có ảnh: gửi ảnh kèm chú thích «/broadcast nội dung», hoặc trả lời (reply) một ảnh bằng «/broadcast nội dung»; "
    "chú thích tối đa {max_caption} ký tự.\n"
    "• Hẹn giờ: thêm «lúc 2026-12-01 07:30» ở cuối (giờ Việt Nam).\n"
    "Sau đó chọn người nhận, xem trước và " + by_caps("bấm", "chọn") + " «Xác nhận gửi». Tiến độ: /broadcast_status; hủy: /broadcast_cancel số_tin."
)
BC_COMPOSE = "Bạn gửi nội dung tin ngay bây giờ (chữ, hoặc ảnh kèm chú thích), hoặc /huy để thôi."
BC_EMPTY = "Tin chưa có nội dung chữ. Bạn gõ nội dung sau lệnh, ví dụ «/broadcast Mời bà con dự họp ấp…»."
BC_TOO_LONG = "Tin dài {n} ký tự, quá mức {max} ký tự{photo}. Bạn rút gọn rồi gửi lại nhé."
BC_TOO_LONG_PHOTO = " (chú thích ảnh)"
BC_SCHEDULE_BAD = "Tôi không hiểu thời điểm hẹn «{text}». Viết theo mẫu «lúc 2026-12-01 07:30» (giờ Việt Nam)."
BC_SCHEDULE_PAST = "Thời điểm hẹn {when} đã qua. Bạn gõ lại với thời điểm sắp tới."
BC_SCHEDULE_FAR = "Chỉ hẹn giờ được trong vòng 1 năm tới."
BC_ASK_TARGET = "Tin #{id}: gửi cho ai? (Số người tính đến lúc này.)"
BTN_T_ALL = "Tất cả người đăng ký ({n})"
BTN_T_TOPIC = "Chủ đề «{label}» ({n})"
BTN_T_COMMUNE = "📍 Một xã, phường…"
BTN_T_CHANNEL = "Chỉ người dùng {channel} ({n})"
BC_ASK_COMMUNE = "Gõ tên xã, phường nhận thông báo (ví dụ «Mỹ Hòa Hưng»), hoặc /huy để thôi."
BC_COMMUNE_CHOOSE = "Có mấy xã, phường gần giống, chọn đúng nơi nhận:"
BC_COMMUNE_NONE = "Không tìm thấy xã, phường «{text}». Gõ lại tên (ví dụ «Mỹ Hòa Hưng»), hoặc /huy để thôi."
BC_NO_RECIPIENTS = "Chưa có ai đăng ký nhận tin theo lựa chọn «{target}». Chọn nhóm người nhận khác:"
BC_SUMMARY = (
    "☝️ Đó là bản xem trước **tin #{id}**, đúng như người dân sẽ nhận.\n"
    "• Người nhận: **{target}**: {n} người{by_channel}\n"
    "• Bắt đầu gửi: {start}\n"
    "• Thời gian gửi ước tính: {duration}\n"
    "{notes}"
    + by_caps("Bấm «Xác nhận gửi» để gửi, hoặc «Hủy».", "Gõ số của «Xác nhận gửi» để gửi, hoặc của «Hủy».")
)
BC_NOTE_APPROVAL = "• Sau khi bạn xác nhận, cần một cán bộ vai trò «{role}» khác duyệt.\n"
BC_NOTE_PHOTO_TEXT_ONLY = "• Người nhận trên {channels} chỉ nhận phần chữ (ảnh Telegram không gửi sang kênh khác được).\n"
BC_NOTE_CHANNEL_OFF = "• {n} người đăng ký trên {channel} sẽ không nhận: kênh này chưa bật.\n"
BTN_CONFIRM = "✅ Xác nhận gửi"
BTN_CHANGE_TARGET = "🎯 Đổi người nhận"
BTN_DISCARD = "❌ Hủy"
BC_CONFIRMED = "✅ Đã xác nhận tin #{id}. Bắt đầu gửi {start}.\nTiến độ: /broadcast_status {id} · Hủy: /broadcast_cancel {id}"
BC_AWAITING = (
    "📝 Đã xác nhận tin #{id}. Tin cần một cán bộ vai trò «{role}» khác duyệt trước khi gửi{where}. "
    "Người duyệt gõ /broadcast_approve {id} (hoặc bấm «Duyệt»)."
)
BC_AWAITING_WHERE = " (đã gửi yêu cầu vào nhóm cán bộ)"
BC_APPROVAL_REQUEST = (
    "📝 **Tin #{id} chờ duyệt** (người soạn: {creator}).\n"
    "Người nhận: {target}, {n} người. Bắt đầu gửi: {start}.\n"
    "Nội dung ở tin nhắn ngay trên. Cán bộ vai trò «{role}» bấm «Duyệt» hoặc «Từ chối»."
)
BTN_APPROVE = "✅ Duyệt"
BTN_REJECT = "❌ Từ chối"
BC_APPROVED = "✅ Đã duyệt tin #{id}. Bắt đầu gửi {start}."
BC_APPROVED_CREATOR = "✅ Tin #{id} của bạn đã được duyệt ({approver}). Bắt đầu gửi {start}."
BC_REJECTED = "Đã từ chối tin #{id}; tin sẽ không được gửi."
BC_REJECTED_CREATOR = "Tin #{id} của bạn bị từ chối ({approver}), sẽ không được gửi."
BC_APPROVE_SELF = "Bạn là người soạn tin #{id}; cần một cán bộ khác duyệt."
BC_APPROVE_ROLE = "Chỉ cán bộ vai trò «{role}» (hoặc cao hơn) mới duyệt được tin. Vai trò của bạn: «{mine}»."
BC_NO_APPROVAL_NEEDED = "Tin không cần duyệt (BROADCAST_APPROVAL=false)."
BC_DISCARDED = "Đã hủy bản nháp tin #{id}."
BC_NOT_FOUND = "Không có tin #{id}."
BC_NEED_ID = "Bạn ghi số tin, ví dụ «/{command} 12»."
BC_WRONG_STATE = "Tin #{id} đang ở trạng thái «{status}», không {action} được."
BC_NOT_CREATOR = "Chỉ người soạn tin #{id} mới xác nhận hoặc đổi được."
BC_CANCELLED = (
    "🛑 Đã hủy tin #{id}. Đã gửi: {sent}; {skipped} người sẽ không nhận. "
    "Tối đa {window} tin đang gửi dở lúc hủy vẫn có thể đến."
)
BC_CANCELLED_BEFORE = "🛑 Đã hủy tin #{id}; tin chưa gửi cho ai và sẽ không được gửi."
BC_DONE_NOTICE = (
    "✅ Tin #{id} đã gửi xong: {sent}/{total} người nhận.\n"
    "Lỗi: {failed} · Đã chặn bot: {blocked} · Bỏ qua: {skipped} · Không rõ: {unknown}. Chi tiết: /broadcast_status {id}"
)
STATUS_NAMES = {
    "draft": "bản nháp",
    "awaiting_approval": "chờ duyệt",
    "scheduled": "đã hẹn giờ",
    "sending": "đang gửi",
    "done": "đã gửi xong",
    "cancelled": "đã hủy",
}
BC_STATUS = (
    "📊 **Tin #{id}**: {status}\n"
    "Người nhận: {target}. Bắt đầu: {start}\n"
    "• Tổng: {total}\n"
    "• Đã gửi: {sent}\n"
    "• Đang chờ: {queued}{inflight}\n"
    "• Lỗi: {failed}\n"
    "• Đã chặn bot: {blocked}\n"
    "• Bỏ qua (ngừng nhận tin, hủy): {skipped}\n"
    "• Không rõ (đang gửi lúc máy dừng đột ngột): {unknown}\n"
    "• Bị nền tảng giới hạn tốc độ (429): {rate_limited} lần\n"
    "Tiến độ: {pct}%{eta}"
)
BC_STATUS_INFLIGHT = " (đang gửi dở: {n})"
BC_STATUS_ETA = ", còn khoảng {eta}"
BC_STATUS_QUIET = " (tạm dừng trong khung giờ yên lặng, gửi tiếp lúc {until})"
BC_STATUS_NOT_MATERIALIZED = "Đang lập danh sách người nhận…"
BC_LIST_HEAD = "📊 Các tin gần đây (xem chi tiết: /broadcast_status số_tin):"
BC_LIST_LINE = "#{id} · {status} · {sent}/{total} · {when} · «{text}»"
BC_LIST_EMPTY = "Chưa có tin nào. Soạn tin: /broadcast nội dung."
TARGET_ALL = "tất cả người đăng ký"
TARGET_TOPIC = "chủ đề «{label}»"
TARGET_COMMUNE = "{name}"
TARGET_CHANNEL = "người dùng {channel}"
START_NOW = "ngay sau khi xác nhận"
START_NOT_CONFIRMED = "chưa, bản nháp chưa được xác nhận (chưa gửi cho ai)"
START_NEVER = "không (đã hủy trước khi gửi)"
START_NOW_CONFIRMED = "ngay"
START_AT = "lúc {at}"
START_AFTER_QUIET = "lúc {at} (hết khung giờ yên lặng {window})"
