"""Everything the bot says that is not knowledge-base content, in one place for review.

`**bold**` is the only markup; channels render or strip it. Words about pressing buttons are marked with
`by_caps(with buttons, typed)`: the core keeps the ones for the channel a message goes to.
"""
from bot.kernel.channel import by_caps

WELCOME = (
    "Xin chào{name}! 👋 Tôi là trợ lý tự động của **{agency}** về Chương trình xây dựng nông thôn mới "
    "và Chương trình OCOP (Mỗi xã một sản phẩm).\n\n"
    "Bạn có thể hỏi tôi bằng lời của mình, có dấu hay không dấu đều được, ví dụ:\n"
    "• «Xã nông thôn mới cần đạt bao nhiêu tiêu chí?»\n"
    "• «ocop 4 sao la bao nhieu diem»\n\n"
    "Câu trả lời lấy từ văn bản chính thức và luôn ghi nguồn. Tôi là máy trả lời tự động, không phải cán bộ.\n"
    "Chọn một mục bên dưới hoặc gõ câu hỏi:"
)
HELP = (
    "**Tôi có thể giúp gì?**\n"
    "Bạn gõ câu hỏi về nông thôn mới, OCOP, An Giang bằng lời của mình, có dấu hay không dấu đều được; câu trả lời "
    "luôn ghi nguồn.\n\n"
    "**Các lệnh:**\n{commands}\n\n"
    + by_caps("", "Gõ lệnh có hay không có «/» đều được, ví dụ «phan anh», «tra cuu PA-000123».\n")
    + "Tôi là máy trả lời tự động; phản ánh, câu hỏi bạn gửi được chuyển tới cán bộ của {agency}."
)
CANCELLED = "Đã hủy. Bạn cần gì cứ gõ câu hỏi hoặc /start để xem menu."
NOTHING_TO_CANCEL = "Hiện không có việc gì đang làm dở. Bạn cứ gõ câu hỏi hoặc /start để xem menu."
UNKNOWN_COMMAND = "Xin lỗi, tôi không có lệnh này. Gõ /help để xem các lệnh, hoặc gõ câu hỏi của bạn."
NOT_STAFF = "Xin lỗi, lệnh này chỉ dành cho cán bộ tiếp nhận phản ánh. Bạn cần gì cứ gõ câu hỏi hoặc /help."
STAFF_WRONG_PLACE = ("Lệnh của cán bộ chỉ dùng trong nhóm cán bộ hoặc trong cuộc trò chuyện riêng với bot, "
                     "không dùng trong nhóm này.")
EMPTY_MESSAGE = "Tôi chưa đọc được nội dung. Bạn gõ câu hỏi bằng chữ giúp tôi nhé, hoặc gõ /help để xem hướng dẫn."
MEDIA_OUTSIDE_REPORT = (
    "Tôi đã nhận được tệp/ảnh nhưng chỉ xem được ảnh khi bạn gửi kèm một phản ánh. "
    "Bạn gõ câu hỏi bằng chữ, hoặc gõ /help để xem hướng dẫn."
)
VOICE_OUTSIDE_REPORT = (
    "🎙️ Xin lỗi, tôi chưa nghe được tin nhắn thoại. Bạn gõ câu hỏi bằng chữ giúp tôi nhé; "
    "nếu muốn phản ánh, gõ «phản ánh» rồi gửi kèm tin nhắn thoại trong phản ánh, cán bộ sẽ nghe."
)
LOCATION_OUTSIDE_REPORT = (
    "📍 Tôi đã nhận được vị trí{name} nhưng chỉ giữ vị trí khi bạn gửi kèm một phản ánh: gõ «phản ánh» để bắt đầu. "
    "Cần hỏi gì, bạn gõ câu hỏi bằng chữ nhé."
)
TOO_LONG = "Tin nhắn dài quá nên tôi chỉ đọc phần đầu (khoảng 4.000 ký tự)."
STALE_BUTTON = by_caps("Nút này", "Lựa chọn này") + " đã cũ, không còn dùng được. Bạn gõ /start để xem menu mới nhé."
UNSUPPORTED_CONTENT = (
    "Xin lỗi, tôi không đọc được tin nhắn này (nền tảng không chuyển nội dung cho tôi). "
    "Bạn vui lòng liên hệ trực tiếp: {contact}."
)
INTERNAL_ERROR = (
    "Xin lỗi, tôi gặp trục trặc khi xử lý tin nhắn này. Bạn thử lại sau ít phút nhé; "
    "nếu đang gửi phản ánh, phần đã nhập vẫn được giữ."
)
STICKER_REPLY = "😊 Bạn cần hỏi gì cứ gõ câu hỏi, hoặc gõ «menu» để xem các mục nhé."
SLOW_DOWN = "Bạn gửi nhanh quá, tôi xin phép trả lời chậm lại một chút nhé. 🙏"

# FAQ
NOT_SURE = (
    "Xin lỗi, tôi chưa chắc hiểu đúng câu hỏi này nên không muốn trả lời sai. 🙏\n"
    "Bạn thử hỏi lại ngắn gọn hơn (ví dụ «tiêu chí nông thôn mới hiện nay», «đăng ký OCOP ở đâu»), "
    + by_caps("chọn một mục bên dưới", "chọn một mục trong danh sách") + ", hoặc gửi câu hỏi cho cán bộ."
)
OFF_TOPIC = (
    "Câu này nằm ngoài những gì tôi biết. 🙏 Tôi chỉ trả lời về **nông thôn mới**, **OCOP** (Mỗi xã một sản phẩm) "
    "và giúp bạn **gửi phản ánh** tới xã, phường ở An Giang."
)
UNDERSTOOD_AS = "Tôi hiểu bạn hỏi: «{title}»"
DID_YOU_MEAN = "Có phải bạn muốn hỏi một trong các câu sau? Chọn câu đúng ý bạn:"
DID_YOU_MEAN_ONE = ("Có phải bạn muốn hỏi: «{title}»? "
                    + by_caps("Bấm vào câu hỏi bên dưới để xem câu trả lời.", "Gõ 1 để xem câu trả lời."))
SEE_ALSO = "Xem thêm:"
MENU_NTM = "Một số câu hỏi thường gặp về **nông thôn mới**. Chọn một câu hoặc gõ câu hỏi của bạn:"
MENU_OCOP = "Một số câu hỏi thường gặp về **OCOP** (Mỗi xã một sản phẩm). Chọn một câu hoặc gõ câu hỏi của bạn:"
MENU_AG = "Thông tin về **nông thôn mới và OCOP ở An Giang**. Chọn một câu hoặc gõ câu hỏi của bạn:"
BTN_ASK_NTM = "🏡 Hỏi về nông thôn mới"
BTN_ASK_OCOP = "⭐ Hỏi về OCOP"
BTN_ASK_AG = "📍 An Giang"
BTN_HELP = "❓ Hướng dẫn"
HELP_STAFF_HINT = "👮 Bạn là cán bộ: gõ /help_staff để xem các lệnh xử lý phản ánh (/inbox, /reply …)."

# Small talk: short and human, never the knowledge base
THANKS_REPLY = "Dạ không có gì ạ! Bạn cần hỏi thêm gì cứ nhắn nhé. 🌾"
GREETING_REPLY = "Xin chào! Bạn muốn hỏi gì về nông thôn mới hay OCOP? Gõ câu hỏi, hoặc /start để xem menu."
BYE_REPLY = "Chúc bạn một ngày tốt lành! Khi cần cứ nhắn cho tôi nhé. 🌾"
ACK_REPLY = "👍 Bạn cần hỏi gì thêm cứ nhắn nhé."
CONFUSED_REPLY = (
    "Xin lỗi bạn, tôi nói chưa rõ. 🙏 Bạn hỏi lại bằng lời của mình, từng ý một (ví dụ «ocop 4 sao là bao nhiêu "
    "điểm», «tiêu chí số 5 là gì»), hoặc gõ /start để chọn trong menu."
)
WRONG_REPLY = (
    "Xin lỗi bạn, tôi hiểu chưa đúng. 🙏 Bạn gõ lại câu hỏi bằng lời khác, nói rõ hơn một chút (chương trình nào, "
    "giai đoạn nào); nếu tôi vẫn chưa trả lời được, " + by_caps("bấm", "chọn") + " «🙋 Gửi câu hỏi cho cán bộ» ở câu trả "
    "lời để cán bộ trả lời."
)
HUMAN_REPLY = (
    "Tôi là máy trả lời tự động của **{agency}**. Để cán bộ trả lời bạn: gõ câu hỏi, rồi " + by_caps("bấm", "chọn") +
    " «🙋 Gửi câu hỏi cho cán bộ» dưới câu trả lời; muốn báo một việc ở địa phương thì gõ /phananh. Câu trả lời của "
    "cán bộ đến ngay tại đây."
)
LAUGH_REPLY = "😄 Bạn cần hỏi gì về nông thôn mới, OCOP cứ nhắn nhé."
INSULT_REPLY = (
    "Xin lỗi nếu tôi chưa giúp được bạn. 🙏 Bạn thử hỏi lại ngắn gọn hơn, hoặc gửi câu hỏi cho cán bộ "
    "(gõ /phananh) để được trả lời trực tiếp."
)
WHO_REPLY = (
    "Tôi là trợ lý **tự động** (máy, không phải người) của **{agency}**: trả lời về nông thôn mới, OCOP từ văn bản "
    "chính thức và chuyển phản ánh của bạn tới cán bộ. Câu trả lời của cán bộ đến ngay trong cuộc trò chuyện này."
)
# A local problem written as plain text: offer a report, pre-filled
REPORT_OFFER = (
    "Có vẻ bạn đang báo một việc ở địa phương. 🙏 Bạn có muốn **gửi phản ánh** để cán bộ xã, phường xem và trả lời "
    "không? Nội dung bạn vừa gõ sẽ được ghi sẵn{details}."
)
REPORT_OFFER_CATEGORY = "; loại việc: {category}"
REPORT_OFFER_COMMUNE = "; nơi: {commune}"
BTN_REPORT_THIS = "📝 Gửi phản ánh này"
BTN_REPORT_ISSUE = "📝 Phản ánh việc này"
BTN_NO_THANKS = "Không, cảm ơn"
OFFER_DECLINED = "Dạ. Bạn cần hỏi gì cứ nhắn nhé."
OFFER_GONE = "Lời mời này đã cũ. Bạn gõ /phananh để gửi phản ánh mới nhé."

# Numbered options on channels without buttons
OPTIONS_HINT = "(Trả lời bằng số thứ tự, ví dụ «1».)"

# Telegram command menu (setMyCommands)
CMD_START = "Menu chính"
CMD_HELP = "Hướng dẫn sử dụng"
CMD_CANCEL = "Hủy việc đang làm"

# /xoadulieu (Luật 91/2025/QH15, Nghị định 356/2025/NĐ-CP): deleting one's personal data, i.e. withdrawing consent
CMD_ERASE = "Xóa dữ liệu cá nhân của tôi"
ERASE_ASK = (
    "🗑 **Xóa dữ liệu cá nhân của bạn**\n"
    "Nếu bạn đồng ý, tôi sẽ xóa:\n"
    "• tên, tên tài khoản và các tin nhắn bạn đã gửi cho bot;\n"
    "• các câu hỏi bot chưa trả lời được của bạn;\n"
    "{subscription}"
    "{tickets}"
    "{open_warning}"
    "\nBạn chắc chắn muốn xóa?"
)
ERASE_ASK_SUBSCRIPTION = "• đăng ký nhận tin của bạn (bạn sẽ không nhận tin nữa);\n"
ERASE_ASK_TICKETS = (
    "• họ tên, số điện thoại, nội dung và ảnh của **{n} phản ánh** bạn đã gửi.\n"
    "Phản ánh chỉ còn lại ở dạng **ẩn danh** (lĩnh vực, xã/phường, ngày gửi, tình trạng, trả lời của cán bộ) để "
    "thống kê; bạn sẽ không tra cứu được phản ánh cũ nữa.\n"
)
ERASE_ASK_OPEN = (
    "\n⚠️ **{n} phản ánh đang được xử lý** sẽ được **đóng**: cán bộ sẽ không gửi được kết quả cho bạn nữa. "
    "Nếu bạn còn chờ kết quả, hãy chọn «Không xóa» và xóa sau.\n"
)
BTN_ERASE_YES = "🗑 Xóa dữ liệu của tôi"
BTN_ERASE_NO = "Không xóa"
ERASE_DONE = (
    "✅ Đã xóa dữ liệu cá nhân của bạn{tickets}. Cảm ơn bạn đã dùng bot.\n{copies}"
    "Bạn vẫn có thể hỏi bot bình thường. Muốn biết bot lưu gì và trong bao lâu, bạn hỏi «bot lưu dữ liệu gì»."
)
ERASE_DONE_TICKETS = " ({n} phản ánh đã chuyển thành ẩn danh)"
ERASE_DONE_COPIES = ("Những bản sao đã gửi tới cán bộ (tin trong nhóm Telegram, e-mail) bot không tự xóa được; "
                     "cán bộ đã được đề nghị xóa.\n")
ERASE_KEPT = "Chưa xóa gì cả. Khi cần, bạn gõ /xoadulieu."
ERASE_EXPIRED = "Yêu cầu xóa này đã quá 30 phút nên chưa được thực hiện. Bạn gõ lại /xoadulieu nếu vẫn muốn xóa."
ERASE_PRIVATE_ONLY = "Lệnh /xoadulieu chỉ dùng trong cuộc trò chuyện riêng với bot."
