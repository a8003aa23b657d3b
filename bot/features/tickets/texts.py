# Over 400 lines: every Vietnamese text of the ticket feature in one place, for the editors who review wording.
"""What citizens and officers read about reports (phản ánh). `**bold**` is the only markup.

Where a text tells people to press a button, `by_caps` gives the words for channels with buttons and for
channels where choices are typed (numbered options): "bấm «Bỏ qua»" / "gõ «bỏ qua»".
"""
from bot.kernel.channel import by_caps

# ---------------------------------------------------------------- commands (Telegram menu, /help)
CMD_REPORT = "Gửi phản ánh, kiến nghị"
CMD_TRACK = "Tra cứu phản ánh đã gửi"
USAGE_TRACK = "/tracuu [mã phản ánh, ví dụ PA-000123]"
BTN_REPORT = "📝 Gửi phản ánh"
BTN_TRACK = "🔎 Tra cứu phản ánh"
BTN_ASK_OFFICER = "🙋 Gửi câu hỏi cho cán bộ"

# ---------------------------------------------------------------- the report conversation
ASK_CATEGORY = (
    "📝 **Gửi phản ánh, kiến nghị** tới {agency}.\n"
    "Bước 1/5: Bạn muốn phản ánh về việc gì? Chọn một loại bên dưới.\n"
    "(Gõ /huy bất cứ lúc nào để hủy.)"
)
ASK_CATEGORY_AGAIN = "Tôi chưa nhận ra loại việc này. Bạn chọn một loại trong danh sách bên dưới nhé:"
ASK_DESCRIPTION = (
    "Bước 2/5: Bạn mô tả **sự việc** giúp tôi: chuyện gì, từ khi nào, ảnh hưởng ra sao.\n"
    "Có ảnh hoặc tệp thì gửi kèm luôn (không bắt buộc)."
)
DESCRIPTION_MORE = (
    "«{text}»: bạn nói rõ thêm một chút giúp cán bộ nhé: **chuyện gì** (hư thế nào), **ở chỗ nào cụ thể** (gần đâu), "
    "**từ khi nào**? Gõ thêm vài chữ, hoặc " + by_caps("bấm «Giữ nguyên, đi tiếp»", "gõ «giữ nguyên»") + "."
)
BTN_KEEP_SHORT = "➡️ Giữ nguyên, đi tiếp"
DESCRIPTION_TOO_SHORT = "Nội dung ngắn quá, tôi chưa hiểu rõ. Bạn mô tả cụ thể hơn một chút nhé (ít nhất vài từ)."
MEDIA_RECEIVED = "📎 Đã nhận {n} tệp/ảnh. Bạn mô tả sự việc bằng chữ giúp tôi nhé."
MEDIA_ADDED = "📎 Đã thêm tệp/ảnh vào phản ánh (tổng cộng {n})."
MEDIA_LIMIT = "Mỗi phản ánh kèm được tối đa {n} tệp/ảnh; tôi giữ {n} tệp đầu tiên."
MEDIA_UNSUPPORTED = "Tôi chưa nhận được loại tệp này. Bạn gửi ảnh hoặc tệp tài liệu giúp tôi nhé."
ASK_LOCATION = (
    "Bước 3/5: Việc này xảy ra ở **xã, phường, đặc khu** nào của tỉnh An Giang?\n"
    "Ghi tên mới hay tên xã cũ đều được, ví dụ «Phường Bình Đức» hoặc «xã Mỹ Khánh»."
)
LOCATION_FOUND = "📍 Đã ghi nhận: **{name}**."
LOCATION_CHOICES = "Có phải bạn muốn nói một trong các nơi sau? Chọn nơi đúng:"
LOCATION_IS_IT = "Có phải **{name}**?"
BTN_YES_PLACE = "✅ Đúng, {name}"
BTN_RETYPE = "✏️ Không, tôi gõ lại"
LOCATION_OUTSIDE = (
    "📍 «{typed}» không thuộc tỉnh An Giang{where}. Tôi chỉ tiếp nhận phản ánh ở 102 xã, phường, đặc khu của tỉnh "
    "An Giang; việc ở tỉnh khác, bạn liên hệ UBND xã, phường nơi đó.\n"
    "Nếu việc xảy ra ở An Giang, bạn chọn nơi đúng (nếu có) hoặc gõ lại tên xã, phường."
)
LOCATION_OUTSIDE_WAS = " (trước 01/7/2025 thuộc {province})"
LOCATION_NOT_FOUND = (
    "Tôi chưa tìm thấy «{text}» trong danh sách 102 xã, phường, đặc khu của tỉnh An Giang. "
    "Bạn gõ lại tên xã/phường (có thể gõ tên xã cũ), hoặc giữ nguyên như bạn đã ghi."
)
BTN_KEEP_AS_TYPED = "Giữ nguyên như tôi ghi"
BTN_NONE_OF_THESE = "Không phải các nơi trên"
LOCATION_SHARED = (
    "📍 Đã giữ vị trí bạn gửi{place} kèm phản ánh, cán bộ sẽ xem trên bản đồ. Tôi chưa biết vị trí này thuộc xã nào: "
    "bạn gõ tên xã, phường hoặc đặc khu giúp tôi nhé (ví dụ «xã Mỹ Khánh»)."
)
LOCATION_SHARED_NAME = " («{name}»)"
LOCATION_SHARED_IS_IT = "📍 Đã giữ vị trí bạn gửi{place} kèm phản ánh. Nơi này thuộc **{name}** phải không?"
LOCATION_RETYPE = "Bạn gõ lại tên xã, phường, đặc khu giúp tôi nhé (ví dụ «xã Mỹ Khánh»)."
ASK_HAMLET = (
    "Bước 4/5: Ở **ấp, khóm** hay địa chỉ cụ thể nào? (Không rõ thì " + by_caps("bấm «Bỏ qua»", "gõ «bỏ qua»") + ".)"
)
BTN_SKIP = "Bỏ qua"
ASK_CONTACT = (
    "Bước 5/5: Bạn muốn gửi **ẩn danh**, hay để lại **họ tên và số điện thoại** để cán bộ liên hệ khi cần?\n"
    "Dù chọn cách nào, câu trả lời vẫn được gửi cho bạn tại đây."
)
BTN_ANONYMOUS = "🙈 Gửi ẩn danh"
BTN_GIVE_CONTACT = "📇 Để lại họ tên, số điện thoại"
# Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15 Điều 9 (from 01/01/2026, with Nghị định 356/2025/NĐ-CP, which replaces
# NĐ 13/2023): consent counts only if free and informed of the kind of data and purpose, who controls the data and
# the person's rights; silence or a pre-set choice is not consent (ntm-ocop-facts-2.md §3).
LEGAL_BASIS = "Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15, Nghị định 356/2025/NĐ-CP"
CONSENT = (
    "🔒 **Đồng ý cho xử lý dữ liệu cá nhân** (" + LEGAL_BASIS + ")\n"
    "• **Dữ liệu:** họ tên và số điện thoại bạn sắp nhập, gắn với phản ánh này.\n"
    "• **Để làm gì:** chỉ để cán bộ liên hệ với bạn về phản ánh này.\n"
    "• **Bên kiểm soát dữ liệu:** {agency}.\n"
    "• **Ai được xem:** cán bộ tiếp nhận phản ánh; số điện thoại được che bớt, chỉ hiện đầy đủ khi cán bộ cần gọi "
    "(và việc xem được ghi lại).\n"
    "• **Giữ bao lâu:** {months} tháng kể từ khi phản ánh được đóng, sau đó họ tên và số điện thoại bị xóa.\n"
    "• **Quyền của bạn:** đồng ý hoặc không đồng ý; rút lại sự đồng ý và xóa dữ liệu bất cứ lúc nào bằng lệnh "
    "/xoadulieu; hỏi «bot lưu dữ liệu gì» để biết thêm.\n"
    "• Bạn có thể không đồng ý và gửi ẩn danh; phản ánh vẫn được tiếp nhận như nhau. Chỉ khi bạn "
    + by_caps("bấm «Tôi đồng ý»", "gõ «đồng ý»") + " thì mới là đồng ý.\n"
    "Bạn có đồng ý không?"
)
BTN_CONSENT_YES = "✅ Tôi đồng ý"
ASK_NAME = "Bạn cho biết **họ và tên** nhé:"
NAME_INVALID = "Họ tên cần từ 2 đến 80 ký tự chữ. Bạn gõ lại giúp tôi nhé."
ASK_PHONE = "Số **điện thoại** để cán bộ liên hệ (ví dụ 0912 345 678):"
PHONE_INVALID = ("Số điện thoại chưa đúng. Cần số di động hoặc số máy bàn ở Việt Nam, ví dụ 0912 345 678 hoặc "
                 "0296 3123 456. Bạn gõ lại giúp tôi nhé.")
SUMMARY = (
    "📋 **Xem lại phản ánh trước khi gửi**\n"
    "• Loại việc: {category}\n"
    "• Nơi xảy ra: {place}\n"
    "• Nội dung: {description}{media}\n"
    "• Liên hệ: {contact}\n\n"
    "Nếu đúng, " + by_caps("bấm **Gửi phản ánh**", "gõ «gửi»") + ". "
    "Muốn sửa phần nào thì " + by_caps("bấm nút tương ứng", "gõ số của mục đó") + "."
)
SUMMARY_MEDIA = "\n• Tệp/ảnh kèm theo: {n}"
CONTACT_ANONYMOUS = "ẩn danh"
PLACE_UNKNOWN = "(chưa rõ)"  # a ticket without a commune, wherever officers or citizens see one
BTN_SEND = "✅ Gửi phản ánh"
BTN_EDIT_CATEGORY = "✏️ Sửa loại việc"
BTN_EDIT_DESCRIPTION = "✏️ Sửa nội dung"
BTN_EDIT_LOCATION = "✏️ Sửa nơi xảy ra"
BTN_EDIT_CONTACT = "✏️ Sửa cách liên hệ"
BTN_CANCEL = "❌ Hủy phản ánh"
CONFIRM_HINT = (
    "Bạn " + by_caps("bấm **Gửi phản ánh** để gửi, chọn một mục để sửa", "gõ «gửi» để gửi, gõ số của mục cần sửa")
    + ", hoặc gõ /huy để hủy."
)
REPORT_CANCELLED = "Đã hủy phản ánh, không có gì được gửi đi. Khi cần, gõ /phananh để gửi lại."
RECEIPT = (
    "✅ **Đã tiếp nhận phản ánh của bạn.**\n"
    "Mã phản ánh: **{code}**\n"
    "Hạn trả lời: **{due}** ({days} ngày làm việc)\n"
    "Cơ quan tiếp nhận: {agency}\n\n"
    "Bạn giữ mã này để tra cứu: gõ /tracuu {code}. Khi có trả lời hoặc thay đổi, tôi sẽ nhắn bạn ngay tại đây."
)
ALREADY_SENT = "Phản ánh này đã được gửi rồi, mã **{code}**. Gõ /tracuu {code} để xem tình trạng."
DRAFT_GONE = "Phản ánh đang soạn không còn nữa (đã gửi, đã hủy hoặc đã hết hạn). Gõ /phananh để bắt đầu lại."
DRAFT_REMINDER = (
    "⏰ Bạn còn một phản ánh **chưa gửi xong**. Bạn trả lời tiếp câu hỏi trước, "
    + by_caps("bấm «Tiếp tục»", "gõ «tiếp tục»") + ", hoặc gõ /huy để bỏ.\n"
    "Phản ánh chưa gửi sẽ tự hủy sau {hours} giờ."
)
BTN_RESUME = "▶️ Tiếp tục"
DRAFT_EXPIRED = "Phản ánh bạn soạn dở đã quá {hours} giờ nên đã được hủy. Khi cần, gõ /phananh để gửi lại."
QUESTION_GONE = "Không tìm thấy câu hỏi này nữa. Bạn gõ lại câu hỏi, rồi chọn «Gửi câu hỏi cho cán bộ» nếu tôi chưa trả lời được."
QUESTION_CATEGORY = "Câu hỏi cho cán bộ"
QUESTION_ASK_TEXT = (
    "🙋 Bạn gõ **câu hỏi** muốn gửi cho cán bộ giúp tôi, đầy đủ một câu, ví dụ «Xã tôi khi nào được hỗ trợ làm "
    "kho lạnh bảo quản cá?». (Gõ /huy để thôi.)"
)
QUESTION_TOO_SHORT = "Câu hỏi ngắn quá, cán bộ sẽ khó trả lời. Bạn gõ đầy đủ hơn một chút nhé (ví dụ hỏi về việc gì, ở đâu)."
QUESTION_CONFIRM = (
    "🙋 **Gửi câu hỏi này cho cán bộ** của {agency}?\n"
    "«{question}»\n\n"
    "Cán bộ trả lời trong {days} ngày làm việc; câu trả lời được gửi cho bạn ngay tại đây. Câu hỏi gửi **ẩn danh** "
    "(không cần họ tên, số điện thoại)."
)
QUESTION_CONFIRM_HINT = "Bạn " + by_caps("chọn một nút bên dưới", "gõ «gửi», «sửa» hoặc «không»") + " nhé:"
BTN_QUESTION_SEND = "✅ Gửi câu hỏi"
BTN_QUESTION_EDIT = "✏️ Sửa câu hỏi"
BTN_QUESTION_CANCEL = "❌ Không gửi"
QUESTION_NOT_SENT = "Chưa gửi gì cả. Bạn cứ hỏi tiếp, hoặc gõ /start để xem menu."
QUESTION_RECEIPT = (
    "✅ **Đã gửi câu hỏi của bạn tới cán bộ.**\n"
    "Câu hỏi: «{question}»\n"
    "Mã câu hỏi: **{code}**\n"
    "Hạn trả lời: **{due}** ({days} ngày làm việc)\n"
    "Cơ quan trả lời: {agency}\n\n"
    "Khi cán bộ trả lời, tôi nhắn bạn ngay tại đây; xem lại: gõ /tracuu {code}."
)
QUESTION_ALREADY_SENT = "Câu hỏi này đã được gửi cho cán bộ rồi, mã **{code}**. Gõ /tracuu {code} để xem."

# ---------------------------------------------------------------- citizen: tracking, updates, rating
NOT_FOUND = "Không tìm thấy phản ánh {code} trong các phản ánh bạn đã gửi từ tài khoản này. Bạn kiểm tra lại mã nhé."
NO_TICKETS = "Bạn chưa gửi phản ánh nào từ tài khoản này. Gõ /phananh để gửi phản ánh."
NO_TICKETS_SINCE_ERASED = "Từ khi xóa dữ liệu, bạn chưa gửi phản ánh mới nào. Gõ /phananh để gửi phản ánh."
TICKETS_ERASED = (
    "\n\n🗑 {n} phản ánh bạn gửi trước đó đã được xóa ngày {date} theo yêu cầu xóa dữ liệu cá nhân của bạn "
    "(/xoadulieu): chúng chỉ còn ở dạng ẩn danh để thống kê, không tra cứu được nữa."
)
MY_TICKETS = "**Các phản ánh bạn đã gửi** (mới nhất trước):"
BTN_MY_REPORTS = "🔎 Xem {n} phản ánh bạn đã gửi"
MY_TICKETS_HINT = "Gõ /tracuu kèm mã để xem chi tiết, ví dụ /tracuu {code}."
TRACK = (
    "📄 **Phản ánh {code}**\n"
    "• Loại việc: {category}\n"
    "• Nơi xảy ra: {place}\n"
    "• Ngày gửi: {created}\n"
    "• Hạn trả lời: {due}\n"
    "• Trạng thái: **{status}**"
)
TRACK_QUESTION = (
    "📄 **Câu hỏi {code}**\n"
    "• Câu hỏi: «{question}»\n"
    "• Ngày gửi: {created}\n"
    "• Hạn trả lời: {due}\n"
    "• Trạng thái: **{status}**"
)
TRACK_ANSWERS = "\n\n**Trả lời của {agency}:**"
TRACK_NO_ANSWER = "\n\nChưa có trả lời. Khi có, tôi sẽ nhắn bạn ngay."
TRACK_CLOSE_REASON = "\n\n**Kết quả:** {reason}"
TRACK_RATING = "\nBạn đã đánh giá: {stars}"
TRACK_EARLIER_RESULT = "\n\n**Kết quả đã báo trước đó:** {reason}"
TRACK_REOPENED_LOW = (
    "\nBạn đã đánh giá kết quả này {stars}: phản ánh được **mở lại** để lãnh đạo xem xét, tôi sẽ báo bạn kết quả mới."
)
TRACK_REOPENED_RATED = "\nBạn đã đánh giá kết quả này {stars}; phản ánh được **mở lại** để xem xét thêm."
INBOX_REOPENED_LOW = " · ⚠️ mở lại sau đánh giá {stars}"
INBOX_REOPENED = " · 🔁 mở lại"
BTN_ADD_INFO = "✍️ Bổ sung thông tin"
ASK_ADD_INFO = "Bạn gõ thông tin bổ sung cho phản ánh **{code}** (có thể gửi kèm ảnh):"
INFO_ADDED = "✅ Đã gửi thông tin bổ sung cho phản ánh **{code}** tới cán bộ."
ADD_INFO_OR_QUESTION = (
    "Cán bộ đang chờ bạn bổ sung thông tin cho phản ánh **{code}**. Tin vừa rồi («{text}») là thông tin bổ sung, "
    "hay một câu hỏi cho bot?"
)
BTN_IS_ADDITION = "✍️ Là thông tin bổ sung"
BTN_IS_QUESTION = "❓ Là câu hỏi khác"
CLOSED_NO_ADD = "Phản ánh {code} đã đóng. Nếu còn vấn đề, bạn gõ /phananh để gửi phản ánh mới."
ANSWER_TO_CITIZEN = "📩 **Trả lời phản ánh {code}** từ {agency}:\n\n{text}"
ANSWER_MEDIA_ELSEWHERE = "\n\n(Kèm {n} tệp/ảnh; bạn liên hệ {contact} để nhận.)"
ANSWER_FOOTER = (
    "\n\nGõ /tracuu {code} để xem lại. Cần bổ sung thông tin thì "
    + by_caps("bấm nút bên dưới", "gõ «bổ sung thông tin»") + "."
)
STATUS_TO_CITIZEN = "🔔 Phản ánh **{code}** đã chuyển sang trạng thái: **{status}**."
NEED_INFO_TO_CITIZEN = (
    "🔔 Phản ánh **{code}**: cán bộ cần bạn **bổ sung thông tin** để xử lý tiếp.{reason}\n"
    "Bạn gõ ngay thông tin đó vào đây: tin nhắn tiếp theo của bạn được chuyển cho cán bộ. Muốn gửi kèm ảnh, "
    + by_caps("bấm «Bổ sung thông tin»", "gõ «bổ sung thông tin»") + " rồi gửi ảnh."
)
CLOSED_TO_CITIZEN = (
    "✅ Phản ánh **{code}** đã được **đóng** bởi {agency}.\n**Kết quả:** {reason}\n\n"
    "Bạn đánh giá việc giải quyết phản ánh này thế nào? (1 = rất không hài lòng, 5 = rất hài lòng)"
)
REOPENED_TO_CITIZEN = "🔔 Phản ánh **{code}** đã được **mở lại** để xem xét thêm. Tôi sẽ báo bạn khi có kết quả."
RATE_THANKS = "Cảm ơn bạn đã đánh giá {stars} cho phản ánh {code}. 🌾"
RATE_LOW_THANKS = (
    "Cảm ơn bạn đã đánh giá {stars}. Rất tiếc bạn chưa hài lòng: phản ánh **{code}** đã được **mở lại** và chuyển "
    "lãnh đạo xem xét. Bạn có thể " + by_caps("bấm «Bổ sung thông tin»", "gõ «bổ sung thông tin»")
    + " để nói rõ điều chưa ổn."
)
RATE_ALREADY = "Bạn đã đánh giá phản ánh {code} rồi ({stars}). Cảm ơn bạn!"
RATE_NOT_CLOSED = "Phản ánh {code} chưa đóng nên chưa đánh giá được."
# Posted in the ticket's place in the staff inbox when a message to the citizen will never arrive. The reason is
# the one the channel gave (e.g. the Zalo OA 7-day reply window), in Vietnamese.
DELIVERY_FAILED_STAFF = (
    "⚠️ **Không gửi được tin tới người dân** (phản ánh {code}, kênh {channel}).\n"
    "Lý do: {reason}.\n"
    "Nội dung chưa gửi ({parts} tin nhắn):\n«{text}»\n\n"
    "Vui lòng liên hệ người dân bằng cách khác, hoặc chờ người dân nhắn lại rồi gửi lại.{phone}"
)
DELIVERY_FAILED_PHONE = "\nNgười dân có để lại số điện thoại: /ticket {code} hien-sdt"
REASON_GAVE_UP = "{channel} không nhận tin sau nhiều lần thử ({detail})"

# ---------------------------------------------------------------- staff: the inbox
CARD = (
    "🆕 **{code}** · {category}{source}\n"
    "💬 Người dân gửi qua **{channel}**\n"
    "📍 {place}\n"
    "⏰ Hạn trả lời: {due}\n"
    "👤 {contact}\n"
    "📝 {description}{media}\n\n"
    "Trả lời người dân: trả lời (reply) tin này, hoặc /reply {code} nội dung"
)
CARD_QUESTION = (
    "🆕 **{code}** · {category}{source}\n"
    "💬 Người dân gửi qua **{channel}**\n"
    "⏰ Hạn trả lời: {due}\n"
    "👤 {contact}\n"
    "❓ Câu hỏi: {description}{media}\n\n"
    "Trả lời người dân: trả lời (reply) tin này, hoặc /reply {code} nội dung"
)
CARD_TERMINAL_HINT = (
    "Trả lời người dân: gõ nội dung ngay (trả lời thẻ mới nhất), hoặc «{code} nội dung», hoặc /reply {code} nội dung"
)
CARD_TOPIC_HINT = "Trả lời người dân: gõ thẳng vào chủ đề này (tin không bắt đầu bằng /), hoặc /reply {code} nội dung"
CARD_SOURCE_FAQ = " · câu hỏi bot chưa trả lời được"
CARD_MEDIA = "\n📎 {n} tệp/ảnh kèm theo (bên dưới)"
MEDIA_LINK = "\n🔗 {url}"
MEDIA_PLACE = "\n📍 Vị trí người dân gửi{name}: {lat}; {lon} — https://www.openstreetmap.org/?mlat={lat_}&mlon={lon_}#map=18/{lat_}/{lon_}"
CARD_MEDIA_CAPTION = "📎 {code}: tệp/ảnh người dân gửi"
BTN_TAKE = "🙋 Tôi nhận xử lý"
CITIZEN_ADDED_INFO = "✍️ **{code}**: người dân bổ sung thông tin:\n{text}{media}"
TOPIC_GONE_FALLBACK = ("⚠️ Chủ đề của phản ánh **{code}** không còn trong nhóm (đã bị xóa), nên tin này gửi vào nhóm "
                       "chung. Bot tạo lại chủ đề cho phản ánh.")
TOPIC_CLOSED_FALLBACK = "⚠️ Chủ đề của phản ánh **{code}** đang đóng, nên tin này gửi vào nhóm chung."
TOPIC_FALLBACK_CARD = "Thẻ phản ánh:\n{card}"
INFO_NOT_DELIVERED = ("⚠️ Thông tin bổ sung cho phản ánh **{code}** chưa chuyển được tới cán bộ. Bạn vui lòng gửi lại "
                      "sau hoặc liên hệ {contact}.")
LOW_RATING_ALERT = (
    "⚠️ **{code}** bị người dân đánh giá {stars}: phản ánh đã được **mở lại** để lãnh đạo xem xét. {mentions}"
)
OVERDUE_TITLE = "⏰ **Phản ánh quá hạn hoặc sắp đến hạn** ({today}):"
OVERDUE_LINE = "• {code} · {category} · {place} · hạn {due}{late} · {status}{who}"
LATE_MARK = " (**quá hạn {days} ngày**)"
SOON_MARK = " (sắp đến hạn)"

# ---------------------------------------------------------------- staff: command replies
STAFF_HELP = (
    "**Lệnh cho cán bộ**\n{commands}\n\n"
    "Trong chủ đề của một phản ánh, hoặc khi trả lời (reply) thẻ phản ánh, có thể bỏ MÃ."
)
NEED_CODE = "Cần mã phản ánh, ví dụ: {example}"
UNKNOWN_TICKET = "Không có phản ánh {code}."
NEED_TEXT = "Thiếu nội dung. Ví dụ: {example}"
ANSWER_SENT = "✅ Đã gửi trả lời cho người dân ({code})."
ANSWER_CLOSED = "Phản ánh {code} đã đóng. Mở lại bằng /reopen {code} trước khi trả lời."
NOTE_SAVED = "📝 Đã lưu ghi chú nội bộ cho {code} (người dân không thấy)."
ASSIGNED = "👤 {code} đã giao cho {who}."
ASSIGN_UNKNOWN = "Không tìm thấy cán bộ «{who}». Xem danh sách: /staff list"
STATUS_SET = "🔄 {code}: {old} → **{new}**."
STATUS_SAME = "{code} đã ở trạng thái {status}."
STATUS_UNKNOWN = (
    "Trạng thái chưa đúng. Dùng một trong: mới, đang xử lý, chờ bổ sung, đã xử lý (đóng thì dùng /close).\n"
    "Ghi lý do sau dấu hai chấm, ví dụ: /status {code} đang xử lý: đã chuyển UBND xã; điều cần bổ sung ghi ngay sau: "
    "/status {code} chờ bổ sung ảnh chụp cột đèn"
)
CLOSED_OK = "✅ Đã đóng {code} và mời người dân đánh giá."
ALREADY_CLOSED = "{code} đã đóng rồi."
REOPENED_OK = "🔄 Đã mở lại {code}."
NOT_CLOSED = "{code} đang mở, không cần mở lại."
TAKEN = "🙋 {who} nhận xử lý {code}."
INBOX_TITLE = "📥 **Phản ánh {which}** ({n}):"
INBOX_EMPTY = "Không có phản ánh nào {which}. 👍"
INBOX_MORE = "… và {n} phản ánh khác."
INBOX_WHICH = {"open": "đang mở", "new": "mới", "overdue": "quá hạn", "mine": "giao cho bạn"}
TICKET_DETAIL = (
    "📄 **{code}** · {category}{source}\n"
    "• Trạng thái: **{status}** · Hạn: {due}{late}\n"
    "• Nơi xảy ra: {place}\n"
    "• Liên hệ: {contact}\n"
    "• Người xử lý: {assigned}\n"
    "• Gửi lúc: {created} qua {channel}"
)
TICKET_HISTORY = "\n**Diễn biến:**"
PHONE_HINT = " (xem đủ số: /ticket {code} hien-sdt)"
STATS = (
    "📊 **Thống kê phản ánh {period}**\n"
    "Tổng số: **{total}**\n\n"
    "**Theo trạng thái:**\n{by_status}\n\n"
    "**Theo loại việc:**\n{by_category}\n\n"
    "**Theo xã, phường (nhiều nhất):**\n{by_commune}\n\n"
    "Xử lý đúng hạn: {on_time}\n"
    "Đánh giá trung bình: {rating}"
)
STATS_ON_TIME = "{ok}/{n} ({pct}; trong số phản ánh đã xử lý xong hoặc đã quá hạn)"
STATS_NO_DATA = "chưa có số liệu"
STATS_RATING = "{avg}/5 ({n} lượt)"
STATS_NO_RATING = "chưa có đánh giá"
STATS_BAD_PERIOD = "Tháng chưa đúng. Ví dụ: /stats (tháng này), /stats 10/2026."
EXPORT_BAD_DATE = "Ngày chưa đúng. Ví dụ: /export 01/11/2026 30/11/2026 (ngày/tháng/năm)."
EXPORT_CAPTION = "📤 {n} phản ánh gửi từ {start} đến {end}."
EXPORT_EMPTY = "Không có phản ánh nào gửi từ {start} đến {end}."
TEMPLATES_TITLE = "**Câu trả lời mẫu** (dùng: /reply MÃ #tên):"
TEMPLATES_EMPTY = "Chưa có câu trả lời mẫu. Thêm: /templates add tên-mẫu nội dung"
TEMPLATE_UNKNOWN = "Không có mẫu «{name}». Xem danh sách: /templates"
TEMPLATE_SAVED = "✅ Đã lưu mẫu «{name}»."
TEMPLATE_REMOVED = "🗑 Đã xóa mẫu «{name}»."
TEMPLATE_SHIPPED = "Mẫu «{name}» có sẵn trong knowledge/templates.yaml, không xóa bằng lệnh được."
TEMPLATE_USAGE = "Dùng: /templates, /templates add tên-mẫu nội dung, /templates remove tên-mẫu"
STAFF_USAGE = "Dùng: /staff list, /staff add <ID hoặc @tên> [officer|supervisor|admin], /staff remove <ID hoặc @tên>"
STAFF_ADMIN_ONLY = "Chỉ quản trị viên mới dùng được /staff add và /staff remove."
STAFF_ADDED = "✅ Đã thêm {who} làm {role}."
STAFF_ADDED_LOCAL = (
    " (Cán bộ thử tại máy: dùng để thử giao việc và vai trò trong phòng cán bộ này; cán bộ thật được thêm trong nhóm "
    "Telegram.)"
)
STAFF_REMOVED = "🗑 {who} không còn là cán bộ."
STAFF_SEED = "{who} là quản trị viên khai báo trong STAFF_USER_IDS; bỏ khỏi cấu hình đó để gỡ."
STAFF_UNKNOWN_USER = (
    "Chưa biết «{who}». Nhờ người đó nhắn /start cho bot (tin nhắn riêng) rồi thử lại, hoặc dùng số ID Telegram."
)
STAFF_NOT_FOUND = "{who} không có trong danh sách cán bộ."
STAFF_LIST_TITLE = "**Cán bộ** ({n}):"
ROLE_LABELS = {"admin": "quản trị viên", "supervisor": "lãnh đạo", "officer": "cán bộ"}
STAFF_BUTTON_ONLY = "Xin lỗi, " + by_caps("nút này", "lựa chọn này") + " chỉ dành cho cán bộ tiếp nhận phản ánh."
NOT_STAFF_ANSWER = "Bạn chưa được đăng ký là cán bộ tiếp nhận nên tin này không được gửi cho người dân."
STAFF_ROOM_HINT = "Đây là phòng cán bộ. Gõ /inbox để xem phản ánh, /help_staff để xem các lệnh."

# Telegram command menu in the staff chat (setMyCommands, scope chat)
CMD_STAFF = {
    "inbox": "Danh sách phản ánh đang mở",
    "ticket": "Xem chi tiết phản ánh",
    "reply": "Trả lời người dân",
    "note": "Ghi chú nội bộ",
    "assign": "Giao phản ánh cho cán bộ",
    "status": "Đổi trạng thái phản ánh",
    "close": "Đóng phản ánh",
    "reopen": "Mở lại phản ánh",
    "stats": "Thống kê phản ánh",
    "export": "Xuất danh sách phản ánh (CSV)",
    "templates": "Câu trả lời mẫu",
    "staff": "Quản lý cán bộ",
    "help_staff": "Hướng dẫn lệnh cán bộ",
}
# How each is typed, in /help_staff (MÃ may be left out in a ticket's topic or in a reply to its card)
CMD_STAFF_USAGE = {
    "inbox": "/inbox [mới | quá hạn | của tôi]",
    "ticket": "/ticket MÃ [hien-sdt]",
    "reply": "/reply MÃ nội dung (hoặc /reply MÃ #tên-mẫu)",
    "note": "/note MÃ nội dung",
    "assign": "/assign MÃ @cánbộ",
    "status": "/status MÃ mới | đang xử lý | chờ bổ sung điều cần bổ sung | đã xử lý (lý do sau dấu «:»)",
    "close": "/close MÃ kết quả",
    "reopen": "/reopen MÃ",
    "stats": "/stats [tháng/năm]",
    "export": "/export [từ ngày] [đến ngày]",
    "templates": "/templates [add tên nội dung | remove tên]",
    "staff": "/staff list | add @tên [officer | supervisor | admin] | remove @tên",
    "help_staff": "/help_staff",
}

# /xoadulieu: what staff see of a ticket whose citizen deleted their data
CONTACT_ERASED = "Thông tin liên hệ đã được xóa"
ERASED_CLOSE_REASON = "Người dân yêu cầu xóa dữ liệu cá nhân (Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15)"
ERASED_STAFF = (
    "🗑 **{code}**: người dân đã yêu cầu xóa dữ liệu cá nhân (Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15). Nội dung phản ánh và "
    "thông tin liên hệ đã được xóa; phản ánh được **đóng** và giữ ẩn danh để thống kê. Không thể gửi trả lời cho "
    "người dân qua phản ánh này nữa. Bot đã xóa các bản sao nó còn giữ; những tin đã đăng trong nhóm (thẻ, ảnh, "
    "kết quả /ticket, /inbox, tệp /export) và e-mail đã gửi thì bot không xóa được: cán bộ vui lòng tự xóa."
)
ERASED_NO_ANSWER = (
    "Phản ánh {code} đã đóng vì người dân yêu cầu xóa dữ liệu cá nhân: bot không còn biết gửi tin cho ai, nên "
    "không trả lời, không đổi trạng thái, không mở lại được. Thống kê vẫn tính phản ánh này (ẩn danh)."
)
ERASED_NO_REOPEN = (
    "Phản ánh {code} không mở lại được: người dân đã xóa dữ liệu cá nhân, bot không còn biết gửi trả lời cho ai."
)
