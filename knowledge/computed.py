"""Answers no paraphrase can give: computed from the knowledge base's facts (`facts:` in knowledge/data/).

- an OCOP score -> its star band, whether it is certified, how many points to the next band
  ("sp nhà em được 68 điểm là mấy sao"); a part's score against the part's maximum ("phần C 38 điểm");
- a recognition date -> until when the certificate is valid, against today ("công nhận tháng 3/2023 còn hạn ko");
- a criterion number or star rating that does not exist -> how many there are ("tiêu chí 25", "ocop 6 sao");
- several criterion numbers at once -> what each one is ("tc 18 vs tc 19 là gì");
- a former commune or town -> the unit it belongs to since 01/7/2025, and a unit -> what it was formed from;
- two figures of an entry and "còn bao nhiêu / chênh lệch / bao nhiêu phần trăm" -> the difference or the share
  ("cả nước 7.669 xã mà 6.084 xã đạt thì còn bao nhiêu xã chưa đạt").

Each answer names the entry that states the rule in words: the citizen sees that entry's source line and a
button to it. Nothing here holds a number of its own.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knowledge.normalize import fold, strip_accents, tokens
from knowledge.numbers import vn_number, vn_percent

if TYPE_CHECKING:
    from knowledge.communes import CommuneFinder
    from knowledge.kb import KnowledgeBase
    from knowledge.reading import Reading
    from knowledge.schema import OcopScale, StarBand, Validity


@dataclass
class Computed:
    kind: str  # star-band | part-score | validity | criteria | no-criterion | criteria-count | no-stars | former-unit |
    # unit-formed-from | arithmetic
    text: str  # what the citizen reads, before the source line
    cite: list[str] = field(default_factory=list)  # entries whose sources are cited
    see: list[str] = field(default_factory=list)  # entries offered as buttons


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def _fmt(x: float) -> str:
    return (f"{x:g}").replace(".", ",")


def _lower(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


# -------------------------------------------------------------- OCOP scores
# "sao" as stars ("4 sao", "mấy sao", "hạng sao"), not the question word ("thì sao", "làm sao", "tại sao")
_OCOP_CONTEXT = re.compile(r"\b(ocop|\d\s*sao|(?:may|bao nhieu|hang|len|duoc|dc|dat) sao|sao ocop|san pham|sp|cham|"
                           r"danh gia|hoi dong|phan hang|hang)\b")
# Stars and points that are a hotel's, a shop's or an app's, or a licence's, an exam's, not a product's OCOP rating.
_OTHER_STARS = re.compile(r"\b(?:khach san|resort|homestay|nha hang|shopee|tiki|lazada|app|ung dung|grab|booking|agoda|"
                          r"traveloka|tripadvisor|google map|bang lai|giay phep lai xe|tru diem|ky thi|thi tot nghiep|"
                          r"thi dai hoc|thi vao lop|hoc ky|diem chuan|hoc sinh|hoc ba)\b")
_SCORE = re.compile(r"(?<![\d/])(\d{1,3}(?:[.,]\d{1,2})?)\s*(?:điểm|diem|đ\b|d\b|đ\.)")
_PART = re.compile(r"\bph[aầ]n\s*([abc])\b[^\d]{0,25}?(\d{1,3}(?:[.,]\d{1,2})?)\s*(?:điểm|diem|đ\b|d\b)")


def ocop_score(kb: "KnowledgeBase", text: str) -> Computed | None:
    scale = kb.facts.ocop_scale
    if scale is None:
        return None
    low = _lower(text)
    folded = fold(text)
    parts = _parts_given(folded, scale.parts)
    # "phần A được 32, phần B 18, phần C 26 thì tổng bao nhiêu": the three parts say it is an OCOP score
    if not _OCOP_CONTEXT.search(folded) and not (len(parts) >= 2 and len(_PART_WORD.findall(folded)) >= 2):
        return None
    if "ocop" not in folded and _OTHER_STARS.search(folded):
        return None
    if len(parts) >= 2:  # "phần A được 32, phần B 18, phần C 26": the total is computed, then its band
        over = [k for k, v in parts.items() if v > scale.parts[k]]
        if over:
            k = over[0]
            return Computed("part-score", f"Phần {k} được chấm **tối đa {scale.parts[k]} điểm**, nên {_fmt(parts[k])} điểm là "
                            f"vượt mức tối đa: bạn kiểm tra lại phiếu chấm.", [scale.parts_entry or scale.entry],
                            [scale.parts_entry or scale.entry])
        total = round(sum(parts.values()), 2)
        line = " + ".join(f"phần {k} {_fmt(v)}" for k, v in parts.items()) + f" = **{_fmt(total)} điểm**"
        if len(parts) < len(scale.parts):
            missing = ", ".join(k for k in scale.parts if k not in parts)
            return Computed("part-score", f"{line[:1].upper()}{line[1:]}, chưa tính phần {missing}: tổng điểm gồm cả "
                            f"{len(scale.parts)} phần ({', '.join(f'{k} {v}' for k, v in scale.parts.items())}).",
                            [scale.parts_entry or scale.entry], [scale.parts_entry or scale.entry])
        band = _band_answer(scale, total)
        return Computed("star-band", f"{line[:1].upper()}{line[1:]}.\n{band.text}", band.cite, band.see)
    part = _PART.search(low) or _PART.search(folded)
    if part and scale.parts:
        letter, value = part.group(1).upper(), _num(part.group(2))
        most = scale.parts.get(letter)
        if most is not None and _achieved(folded, part.group(2)) and value != most:
            if value > most:
                line = (f"Phần {letter} được chấm **tối đa {most} điểm**, nên {_fmt(value)} điểm là vượt mức tối đa: "
                        f"bạn kiểm tra lại phiếu chấm (có thể đó là tổng điểm, hoặc điểm của phần khác).")
            else:
                line = f"Phần {letter} được chấm tối đa {most} điểm: {_fmt(value)} điểm là hợp lệ."
            parts = ", ".join(f"phần {k} {v} điểm" for k, v in scale.parts.items())
            line += f"\nThang {scale.max_points} điểm gồm: {parts}."
            cite = [scale.parts_entry] if scale.parts_entry else [scale.entry]
            return Computed("part-score", line, cite, cite)
        return None  # a part's points are not a total
    m = _SCORE.search(low) or _SCORE.search(folded)
    if not m:
        return None
    if not _achieved(folded, m.group(1)):
        # "phần C là 40 điểm đúng không", "4 sao cần 70 điểm à": a question about the rule, checked when it asks
        # whether a rumour is true; otherwise the knowledge base answers it
        return _claim(scale, folded, m.group(1))
    value = _num(m.group(1))
    band = _band_answer(scale, value)
    claimed = {int(x) for x in _STARS.findall(folded)}
    if len(claimed) == 1 and _CHECK.search(folded) and claimed != {_band_of(scale, value).stars}:
        # "sp 60 điểm là 4 sao hả": the rating it says is not the one the score gives
        return Computed(band.kind, "Chưa đúng. " + band.text, band.cite, band.see)
    return band


# "… đúng không", "… phải không", "… hả": asks whether what it says is true
_CHECK = re.compile(r"\b(?:dung|phai|that|chinh xac)\s+(?:khong|ko|k|hong|hok|hk|chua|ha|a)\b|\b(?:co dung|co phai)\b|"
                    r"\b(?:ha|a|ak|hen|nhi|ha bot|ha ad|a ad)\s*$")
_THRESHOLD = re.compile(r"\b(?:can|chi can|phai|toi thieu|it nhat|tu|tren)\s+$")


def _claim(scale: OcopScale, folded: str, number: str) -> Computed | None:
    """"có người bảo chỉ cần 85 điểm là lên 5 sao, có đúng không": a rumour the scale says is wrong, corrected (the
    entry about 5 stars does not say 85, and would only be suggested)."""
    stars = [int(x) for x in _STARS.findall(folded)]
    bands = {b.stars: b for b in scale.bands}
    if len(set(stars)) != 1 or stars[0] not in bands or not _CHECK.search(folded):
        return None
    value, want = _num(number), bands[stars[0]]
    n = number.replace(",", " ").replace(".", " ").split()[0]
    at = re.search(rf"\b{re.escape(n)}\b", folded)
    threshold = at is not None and bool(_THRESHOLD.search(folded[: at.start()][-14:]))
    got = _band_of(scale, value).stars if value <= scale.max_points else None
    _, rng = _band_range(scale, want)
    if (value == want.from_points) if threshold else (got == want.stars):
        return None  # right: the entry about that rating answers it, and says more
    line = f"Chưa đúng: hạng **{want.stars} sao** là {rng} (tổng điểm, thang {scale.max_points} điểm)."
    if got is not None and got != want.stars:
        line += f" {_fmt(value)} điểm là hạng **{got} sao**."
    see = [e for e in (want.entry, scale.entry) if e]
    return Computed("star-band", line, [scale.entry], list(dict.fromkeys(see)))


# A score the person got ("sp em được 68 điểm", "chấm có 25 điểm", "68 điểm là mấy sao", "45 điểm có được giấy
# chứng nhận không"), not a number in a question about the rule ("phần C là 40 điểm đúng không").
_GOT_BEFORE = re.compile(r"\b(?:duoc|dc|dat|cham|co|chi|moi|tong|tong cong|em|tui|minh|toi|nha|tren|khoang|gan|"
                         r"roi|xong)\s+(?:\w+\s+){0,2}$")
_GOT_AFTER = re.compile(r"^\s*(?:diem|d)\s+(?:(?:\w+\s+){0,3}?(?:la|thi|duoc|dc|dat|du|co|xep|vay|ha|thoi|ma|nen|"
                        r"roi|tron)\s+(?:\w+\s+){0,3}?(?:may|bao nhieu|hang|ocop|giay|chung nhan|\d+\s*sao|sao|"
                        r"cong nhan|dat|duoc|chua|khong|ko|k|luon|ha|a|nua)\b|"
                        # "sp 100 điểm mấy sao", "75 điểm hạng mấy": the band asked right after the score
                        r"(?:may sao|bao nhieu sao|hang may|hang gi|xep hang|may sao vay)\b)")
_RULE_Q = re.compile(r"\b(?:la|co phai|phai|can|toi thieu|it nhat|tu)\s+\d+(?:[.,]\d+)?\s*(?:diem|d)\b")


def _achieved(folded: str, number: str) -> bool:
    n = number.replace(",", " ").replace(".", " ").split()[0]
    for m in re.finditer(rf"\b{re.escape(n)}\b", folded):
        before, after = folded[: m.start()], folded[m.end():]
        if _RULE_Q.search(folded[max(0, m.start() - 12): m.end() + 5]):
            continue
        if _GOT_BEFORE.search(before) or _GOT_AFTER.match(after):
            return True
    return False


def _band_of(scale: OcopScale, value: float) -> StarBand:
    """The star band a total score falls in (the lowest one below every threshold)."""
    bands = sorted(scale.bands, key=lambda b: -b.from_points)
    return next(b for b in bands if value >= b.from_points or b is bands[-1])


def _band_range(scale: OcopScale, band: StarBand) -> tuple[StarBand | None, str]:
    """The next band up (None for the top one) and the points of `band` in words ("từ 70 đến dưới 90 điểm")."""
    upper = min((b for b in scale.bands if b.from_points > band.from_points), key=lambda b: b.from_points, default=None)
    if upper is None:
        return None, f"từ {_fmt(band.from_points)} đến {scale.max_points} điểm"
    if band.from_points == 0:
        return upper, f"dưới {_fmt(upper.from_points)} điểm"
    return upper, f"từ {_fmt(band.from_points)} đến dưới {_fmt(upper.from_points)} điểm"


def _band_answer(scale: OcopScale, value: float) -> Computed:
    if value > scale.max_points:
        return Computed("star-band", f"Thang điểm OCOP tối đa là **{scale.max_points} điểm**, nên {_fmt(value)} điểm là "
                        f"chưa đúng: bạn xem lại tổng điểm trên phiếu chấm.", [scale.entry], [scale.entry])
    bands = sorted(scale.bands, key=lambda b: -b.from_points)
    band = _band_of(scale, value)
    upper, rng = _band_range(scale, band)
    lines = [f"Với **{_fmt(value)} điểm**, sản phẩm xếp hạng **{band.stars} sao** (hạng {band.stars} sao: {rng})."]
    if band.stars >= scale.certified_from:
        lines.append(f"Sản phẩm từ {scale.certified_from} sao trở lên được công nhận và cấp giấy chứng nhận OCOP.")
    else:
        lowest = next(b for b in bands if b.stars == scale.certified_from)
        lines.append(f"Sản phẩm **chưa được cấp giấy chứng nhận OCOP**: phải từ {scale.certified_from} sao "
                     f"(từ {_fmt(lowest.from_points)} điểm) trở lên. Còn thiếu {_fmt(lowest.from_points - value)} điểm.")
    if upper is not None and band.stars + 1 > scale.certified_from:
        lines.append(f"Để lên {upper.stars} sao cần từ {_fmt(upper.from_points)} điểm, tức còn thiếu "
                     f"**{_fmt(round(upper.from_points - value, 2))} điểm**.")
    if band.note:
        lines.append(band.note)
    cite = [scale.entry] + ([band.entry] if band.entry and band.note else [])
    see = [e for e in (band.entry, scale.entry) if e]
    return Computed("star-band", "\n".join(lines), cite, list(dict.fromkeys(see)))


_PART_WORD = re.compile(r"\bphan\s+[abc]\b")
_PART_GIVEN = re.compile(r"\b(?:phan\s+)?([abc])\s*(?:duoc|dc|dat|co|la|:|=)?\s*(\d{1,2}(?:[.,]\d{1,2})?)\b(?!\s*sao)")


def _parts_given(folded: str, parts: dict[str, int]) -> dict[str, float]:
    """ "phan a dc 32, phan b dc 18, phan c dc 26", "a 38 b 23 c 31": the points of each part the person got."""
    found: dict[str, float] = {}
    for m in _PART_GIVEN.finditer(folded):
        k = m.group(1).upper()
        if k in parts and k not in found:
            found[k] = _num(m.group(2))
    return found if len(found) >= 2 else {}


_STARS = re.compile(r"\b(\d{1,2})\s*sao\b")
# "3,5 sao", "4.5 sao", "4 sao rưỡi" (not "3,4 sao", a list)
_HALF_STARS = re.compile(r"\b(\d)[.,]5\s*sao\b|\b(\d)\s*sao\s*(?:rưỡi|ruoi)\b")


def ocop_stars(kb: "KnowledgeBase", text: str) -> Computed | None:
    scale = kb.facts.ocop_scale
    if scale is None:
        return None
    folded = fold(text)
    if "ocop" not in folded and "san pham" not in folded:
        return None
    stars = sorted(b.stars for b in scale.bands)
    half = _HALF_STARS.search(_lower(text)) or _HALF_STARS.search(folded)
    if half:  # "ocop 3,5 sao", "4 sao rưỡi": the stars are whole
        said = f"{half.group(1)},5 sao" if half.group(1) else f"{half.group(2)} sao rưỡi"
        return Computed("no-stars", f"OCOP không có hạng {said}: hạng sao là số nguyên, từ **{stars[0]} đến "
                        f"{stars[-1]} sao**, theo tổng điểm (thang {scale.max_points} điểm); từ {scale.certified_from} "
                        f"sao trở lên mới được chứng nhận.", [scale.entry], [scale.entry])
    m = _STARS.search(folded)
    if not m:
        return None
    n = int(m.group(1))
    if n in stars:
        return None
    return Computed("no-stars", f"OCOP không có hạng {n} sao: sản phẩm được xếp từ **{stars[0]} đến {stars[-1]} sao** "
                    f"theo tổng điểm (thang {scale.max_points} điểm); từ {scale.certified_from} sao trở lên mới được "
                    f"chứng nhận.", [scale.entry], [scale.entry])


# -------------------------------------------------------------- validity of a recognition
_DATE_FULL = re.compile(r"\b(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(20\d{2})\b")
# "tháng 8/2024", "th8 2024", "t8/2024", "8/2024", "tháng 8 năm 24" (two digits only after «năm»)
_DATE_MONTH = re.compile(r"\b(?:thang|th|t)\s*(\d{1,2})\s*(?:[/.-]|nam|\s)\s*(20\d{2})\b|\b(\d{1,2})\s*/\s*(20\d{2})\b|"
                         r"\bthang\s*(\d{1,2})\s*nam\s*(\d{2})\b")
_YEAR = re.compile(r"\bnam\s*(20\d{2})\b")
# "năm ngoái", "năm kia", "2 năm trước", "cách đây 3 năm": a year counted back from today
_YEARS_AGO = re.compile(r"\bnam (ngoai|truoc|roi|kia)\b|\b(\d)\s*nam (?:truoc|ve truoc)\b|\bcach day\s*(\d)\s*nam\b")
_VALIDITY_Q = re.compile(r"\b(het han|con han|con hieu luc|gia tri (?:den|toi)|den khi nao|toi khi nao|khi nao het|"
                         r"bao gio het|con (?:dung|xai|sai) (?:duoc|dc)|den bao gio|toi bao gio|bao lau|truoc ngay nao|truoc khi nao|"
                         r"cham nhat (?:la )?(?:ngay|khi|luc) nao|"
                         # "còn (được) dán tem / in logo OCOP không": the label needs a certificate in force
                         r"con (?:duoc )?(?:dan|in|ghi|dung|xai|sai) (?:tem|logo|nhan|chu|bieu trung))\b")
_RECOGNISED = re.compile(r"\b(cong nhan|duoc cap|cap giay|cap ngay|cap nam|cap thang|chung nhan|giay cn|cn ocop|dat|len|xep hang|co giay|"
                         r"quyet dinh|qd|\d\s*sao)\b")
# A star rating with a date and "còn hạn / hết hạn" is OCOP's even unnamed ("sp dc 3 sao theo quyết định ngày …");
# a hotel's or a shop's is not.
_RATED_PRODUCT = re.compile(r"\b\d\s*sao\b")


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _reread(v: "Validity", why: str) -> Computed:
    """A recognition date that cannot be right: say why, ask to read the decision again, and give the rule."""
    return Computed("validity", f"{why}: bạn xem lại ngày ghi trên quyết định công nhận. Giấy chứng nhận OCOP có giá "
                    f"trị **{v.months} tháng** kể từ ngày quyết định công nhận.", [v.entry],
                    [e for e in (v.entry, v.renew_entry) if e])


def validity(kb: "KnowledgeBase", text: str, today: dt.date) -> Computed | None:
    v = kb.facts.ocop_validity
    if v is None:
        return None
    folded = fold(text.replace("/", " / "))
    if "ocop" not in folded and "chung nhan" not in folded and "giay cn" not in folded and not (
            _RATED_PRODUCT.search(folded) and not _OTHER_STARS.search(folded)):
        return None
    if not _VALIDITY_Q.search(folded) or not _RECOGNISED.search(folded):
        return None
    raw = unicodedata.normalize("NFC", text)
    precision = "day"
    m = _DATE_FULL.search(raw)
    if m:
        try:
            start = dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:  # "31/4/2024": no such day; the person reads the date again rather than get a guess
            return _reread(v, f"Ngày {int(m.group(1))}/{int(m.group(2))}/{m.group(3)} không có trong lịch")
        pos = m.start()
    else:
        m2 = _DATE_MONTH.search(re.sub(r"\s*/\s*", "/", strip_accents(_lower(raw))))  # the slash kept: "5/2023"
        if m2:
            month, year = next((m2.group(i), m2.group(i + 1)) for i in (1, 3, 5) if m2.group(i))
            year = f"20{year}" if len(year) == 2 else year
            if not 1 <= int(month) <= 12:
                return None
            start, precision = dt.date(int(year), int(month), 1), "month"
            pos = m2.start()
        else:
            m3 = _YEAR.search(folded)
            ago = _YEARS_AGO.search(folded) if not m3 else None
            if m3:
                start = dt.date(int(m3.group(1)), 1, 1)
            elif ago and _RECOGNISED.search(folded[max(0, ago.start() - 25):ago.start()]) \
                    and not re.match(r"\s*(?:thi |la |da |bi )?het han", folded[ago.end():]):  # not "năm trước hết hạn"
                back = {"ngoai": 1, "truoc": 1, "roi": 1, "kia": 2}.get(ago.group(1) or "") or int(ago.group(2) or ago.group(3))
                start = dt.date(today.year - back, 1, 1)
            else:
                return None
            precision = "year"
            pos = (m3 or ago).start()
    before = fold(raw)[: max(pos, 0)]
    if re.search(r"\bhet han\s*(?:ngay|vao|tu|luc)?\s*$", before):
        return None  # the date given is the expiry itself, not the recognition
    if start > today:  # "công nhận 5/2027": not yet; the person reads the date again
        said = f"{start:%d/%m/%Y}" if precision == "day" else f"tháng {start.month}/{start.year}" \
            if precision == "month" else f"năm {start.year}"
        return _reread(v, f"Ngày công nhận {said} là sau hôm nay ({today:%d/%m/%Y})")
    end = _add_months(start, v.months)
    if precision == "day":
        shown, until = f"{start:%d/%m/%Y}", f"**{end:%d/%m/%Y}**"
        expired = end < today
    elif precision == "month":
        shown, until = f"tháng {start.month}/{start.year}", f"khoảng **tháng {end.month}/{end.year}** (đúng ngày theo quyết định công nhận)"
        expired = (end.year, end.month) < (today.year, today.month)
    else:
        shown, until = f"năm {start.year}", f"khoảng **năm {end.year}** (đúng ngày theo quyết định công nhận)"
        expired = end.year < today.year
    lines = [f"Giấy chứng nhận OCOP có giá trị **{v.months} tháng** kể từ ngày quyết định công nhận. Công nhận "
             f"{shown} thì có giá trị đến {until}."]
    if expired:
        lines.append(f"Tính đến hôm nay ({today:%d/%m/%Y}), giấy chứng nhận **đã hết hạn**. Muốn giữ hạng sao, chủ thể "
                     f"đăng ký để được đánh giá lại.")
    elif precision == "year" and end.year > today.year:  # only the year is known: so is only the year it ends
        lines.append(f"Tính đến hôm nay ({today:%d/%m/%Y}), giấy chứng nhận **còn hạn**; hết hạn trong năm {end.year}, "
                     f"đúng ngày theo quyết định công nhận.")
    elif precision != "year":
        left = (end.year - today.year) * 12 + end.month - today.month
        lines.append(f"Tính đến hôm nay ({today:%d/%m/%Y}), giấy chứng nhận **còn hạn**" +
                     (f", còn khoảng {left} tháng." if left > 0 else ", nhưng sắp hết hạn trong tháng này."))
    else:
        lines.append("Năm nay giấy chứng nhận hết hạn: bạn xem đúng ngày trên quyết định công nhận.")
    see = [e for e in (v.renew_entry, v.entry) if e]
    return Computed("validity", "\n".join(lines), [v.entry], see)


# -------------------------------------------------------------- several criteria at once
_JOIN = frozenset({"va", "voi", "vs", "hay", "hoac", "cung", "so", "thu", "tieu", "chi", "tu"})
MAX_CRITERIA = 5


def criteria_named(raw: tuple[str, ...]) -> list[str]:
    """The criterion numbers of "tiêu chí 18 với 19", "tc 2, 3 và 5", "tiêu chí 17 vs tiêu chí 18", in order, once."""
    for i in range(len(raw) - 2):
        if raw[i] != "tieu" or raw[i + 1] != "chi":
            continue
        found: list[str] = []
        upto = False  # "tiêu chí 1 đến 5", "tc 2 tới tc 4": a range
        for w in raw[i + 2:]:
            if w.isdigit() and len(w) <= 2:
                n = w.lstrip("0")
                if upto and n and int(n) > int(found[-1]):
                    found += [str(k) for k in range(int(found[-1]) + 1, min(int(n), int(found[-1]) + 20) + 1)
                              if str(k) not in found]
                elif n and n not in found:
                    found.append(n)
                upto = False
            elif w in ("den", "toi") and found:
                upto = True
            elif w not in _JOIN:
                break
        if found:
            return found
    return []


def several_criteria(kb: "KnowledgeBase", reading: "Reading") -> Computed | None:
    """"tc 18 vs tc 19 là gì": what each of the criteria named is, from each criterion's own entry (its first line
    names it), of the set the question means (a bare number: the set in force, else the set that has it)."""
    numbers = criteria_named(reading.raw)
    if len(numbers) < 2:
        return None
    sets = {s.period: s for s in kb.facts.criteria_sets}
    current = kb.facts.current_criteria_set
    if current is None:
        return None
    if len(numbers) > MAX_CRITERIA:  # "tiêu chí 1 tới 10": the whole set, as its own entry lists it
        chosen_set = next((s for s in sets.values() if s.period != current.period), None) \
            if reading.period == "old" else current
        if chosen_set is None or not chosen_set.entry or chosen_set.entry not in kb.entries:
            return None
        return Computed("criteria", kb.entries[chosen_set.entry].answer.strip(), [chosen_set.entry], [chosen_set.entry])
    lines, ids, missing = [], [], []
    for n in numbers:
        of_n = kb.criterion_entries(n)
        old = [i for p, i in of_n.items() if p != current.period]
        if reading.period == "old":
            chosen = old[0] if old else None
        else:
            chosen = of_n.get(current.period) or (old[0] if old and reading.period is None else None)
        if chosen is None:
            missing.append(n)
            continue
        ids.append(chosen)
        lines.append("• " + kb.first_line(chosen))
    if len(ids) < 2:
        return None
    if missing:
        from knowledge.schema import PERIOD_LABELS

        label = PERIOD_LABELS[current.period if reading.period != "old" else next(p for p in sets if p != current.period)]
        lines.append(f"• Không có tiêu chí số {', '.join(missing)} trong bộ tiêu chí {label}.")
    lines.append("Bấm từng tiêu chí bên dưới để xem yêu cầu cụ thể.")
    return Computed("criteria", "\n".join(lines), ids, ids)


# -------------------------------------------------------------- criteria that do not exist
_CRITERION_ZERO = re.compile(r"\btieu chi (?:so |thu )?0+(?! \d)\b")  # "tiêu chí 0" (the matcher's number ignores it)


def criterion_number(kb: "KnowledgeBase", reading: "Reading") -> Computed | None:
    """"tiêu chí 25": no set has it. (A number one set has is for the ranking to resolve.)"""
    from knowledge.matcher import _criterion_number

    sets = kb.facts.criteria_sets
    if not sets:
        return None
    n = _criterion_number(reading.words)
    if n is None and not _CRITERION_ZERO.search(" ".join(reading.words)):
        return None
    k = int(n or 0)
    wanted = [s for s in sets if (reading.period == "old" and s.period != "2026-2030")
              or (reading.period == "new" and s.current) or reading.period in (None, "both")]
    if (k >= 1 and any(k <= s.count for s in wanted)) or not wanted:
        return None
    from knowledge.schema import PERIOD_LABELS

    described = "; ".join(f"bộ tiêu chí {PERIOD_LABELS[s.period]} có **{s.count} tiêu chí**"
                          + (" (đang áp dụng)" if s.current else "") for s in wanted)
    text = f"Không có tiêu chí số {k}: {described}."
    ids = [s.entry for s in wanted]
    return Computed("no-criterion", text, ids, ids)


# A rumour about how many criteria a set has ("nghe nói bộ mới vẫn giữ 19 tiêu chí như cũ, đúng không"): which set the
# claim is about, by the words before the number; a commune's own count ("xã em đạt 17 tiêu chí chưa") is no claim
_SET_NEW = re.compile(r"\b(?:bo moi|bo tieu chi moi|tieu chi moi|hien nay|bay gio|hien hanh|giai doan moi|2026)\b")
_SET_OLD = re.compile(r"\b(?:bo cu|tieu chi cu|hoi truoc|truoc day|giai doan truoc|2021)\b")
_COUNT_CLAIM = re.compile(r"\b(?:co|gom|giu|con|van|chi|la|tong cong|tong)\s+(\d{1,2})\s+tieu chi\b")
_SET_OTHER = re.compile(r"\b(?:ocop|sao|diem|nang cao|kieu mau|huyen|tinh|xa em|xa minh|xa toi|xa tui|dat duoc|dat)\b")


def criteria_count_claim(kb: "KnowledgeBase", text: str) -> Computed | None:
    """"bộ tiêu chí mới vẫn 19 tiêu chí như cũ hả": true or not, from the criteria sets of the base."""
    from knowledge.schema import PERIOD_LABELS

    folded = fold(text)
    m = _COUNT_CLAIM.search(folded)
    if m is None or not _CHECK.search(folded) or _SET_OTHER.search(folded):
        return None
    before = folded[: m.start()]
    sets = {s.period: s for s in kb.facts.criteria_sets}
    new = next((s for s in sets.values() if s.current), None)
    old = [s for s in sets.values() if not s.current]
    if new is None or not old:
        return None
    subject = new if _SET_NEW.search(before) else old[0] if _SET_OLD.search(before) else None
    if subject is None:
        return None
    n = int(m.group(1))
    other = old[0] if subject is new else new
    said = f"bộ tiêu chí xã nông thôn mới {PERIOD_LABELS[subject.period]} có **{subject.count} tiêu chí**"
    said += " (đang áp dụng)" if subject.current else ""
    rest = f"bộ {PERIOD_LABELS[other.period]} có {other.count} tiêu chí" + (" (đang áp dụng)" if other.current else "")
    verdict = "Đúng" if n == subject.count else "Chưa đúng"
    return Computed("criteria-count", f"{verdict}: {said}; {rest}.", [subject.entry, other.entry],
                    [subject.entry, other.entry])


# -------------------------------------------------------------- former communes
def former_unit(kb: "KnowledgeBase", text: str) -> Computed | None:
    """"thị trấn Núi Sập cũ nay thuộc xã nào", "Cù Lao Giêng gồm những xã nào" (knowledge.former_units)."""
    from knowledge.former_units import body

    entry_id = kb.facts.former_units_entry
    if entry_id is None:
        return None
    found = body(text)
    return Computed("former-unit", found, [entry_id], [entry_id]) if found is not None else None


# -------------------------------------------------------------- withdrawal of a recognition
_WITHDRAW_Q = re.compile(r"\b(thu hoi|mat chuan|rot chuan|lay lai|tuoc|mat danh hieu|con la xa nong thon moi|con dat chuan|"
                         r"con chuan|con giu|bi mat|mat cai chuan|rot danh hieu|khong con dat)\b")
_FAILED = [
    re.compile(r"\b(?:rot|khong dat|chua dat|thieu|mat|hong|truot|ko dat)\s+(?:mat\s+|het\s+)?(\d{1,2})\s+(?:tieu chi|tc)\b"),
    re.compile(r"\b(\d{1,2})\s*(?:tren|trong|/)\s*(\d{1,2})\s+(?:tieu chi|tc)\s+(?:khong|chua|ko)\s+dat\b"),
    re.compile(r"\b(?:rot|khong dat|chua dat|ko dat)\s+(\d{1,2})\s*(?:tren|trong|/)\s*(\d{1,2})\b"),
]


def withdrawal(kb: "KnowledgeBase", text: str, today: dt.date) -> Computed | None:
    w = kb.facts.withdrawal
    if w is None:
        return None
    folded = " ".join(tokens(text))
    if not _WITHDRAW_Q.search(folded):
        return None
    total = next((c.count for c in kb.facts.criteria_sets if c.period == w.period), None)
    failed = None
    for pat in _FAILED:
        m = pat.search(folded)
        if m:
            failed = int(m.group(1))
            if m.lastindex and m.lastindex >= 2 and m.group(2):
                total = int(m.group(2)) if int(m.group(2)) >= failed else total
            break
    if failed is None or not total or failed > total or failed == 0:
        return None
    pct = 100.0 * failed / total
    named = [name for name, words in w.key_criteria.items()
             if any(re.search(rf"\b{re.escape(x)}\b", folded) for x in words)]
    from knowledge.schema import PERIOD_END, PERIOD_LABELS

    head = (f"Theo quy định {PERIOD_LABELS[w.period]}: {failed}/{total} tiêu chí không đạt là khoảng "
            f"**{_fmt(round(pct, 1))}%** số tiêu chí.")
    keys = "; ".join(w.key_criteria)
    if pct >= w.full_from:
        verdict = f"Từ {_fmt(w.full_from)}% số tiêu chí trở lên không đạt thì xã **bị thu hồi** quyết định công nhận."
    elif pct >= w.partial_from:
        if named:
            verdict = (f"Từ {_fmt(w.partial_from)}% đến dưới {_fmt(w.full_from)}% mà trong đó có tiêu chí "
                       f"{', '.join(named)} thì xã **bị thu hồi** quyết định công nhận.")
        else:
            verdict = (f"Từ {_fmt(w.partial_from)}% đến dưới {_fmt(w.full_from)}%: xã **bị thu hồi** nếu trong số tiêu chí "
                       f"không đạt có ít nhất một trong các tiêu chí: {keys}; nếu không có thì chưa thuộc trường hợp bị thu hồi.")
    else:
        verdict = (f"Dưới {_fmt(w.partial_from)}% số tiêu chí không đạt thì xã **chưa thuộc trường hợp bị thu hồi** "
                   f"quyết định công nhận; xã cần khắc phục để giữ vững các tiêu chí.")
    lines = [head, verdict]
    end = PERIOD_END.get(w.period)
    if end is not None and end < today:
        lines.append(f"Quy định này thuộc {PERIOD_LABELS[w.period]} (đã kết thúc); quy định của giai đoạn mới: hỏi UBND xã "
                     f"hoặc Văn phòng Điều phối nông thôn mới tỉnh.")
    return Computed("withdrawal", "\n".join(lines), [w.entry], [w.entry])


# -------------------------------------------------------------- arithmetic on an entry's own figures
_FIGURE = re.compile(r"(?<![\d/.,])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?![\d/]|[.,]\d)")
_WRITTEN = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?")  # in an entry: "6.084/7.669 xã (79,3%)"
_REMAINDER_Q = re.compile(r"\b(?:con (?:lai )?(?:bao nhieu|bn|may)|chenh lech|hon (?:nhau )?(?:bao nhieu|bn|may)|"
                          r"thieu (?:bao nhieu|bn|may)|kem (?:nhau )?(?:bao nhieu|bn|may)|cach nhau (?:bao nhieu|bn|may)|"
                          r"tang (?:them )?(?:bao nhieu|bn|may)|giam (?:bao nhieu|bn|may))\b")
_SHARE_Q = re.compile(r"\b(?:(?:bao nhieu|bn|may) (?:phan tram|%)|chiem (?:bao nhieu|bn|may)|ti le|ty le)\b|%\s*(?:ha|vay|khong)?\s*$")


def _figures(text: str) -> list[tuple[str, float]]:
    """The figures a text writes, as written and as values; years (2025, "giai đoạn 2021–2025") are not figures."""
    out = []
    for m in _FIGURE.finditer(text):
        whole, dec = m.group(1), m.group(2)
        if dec is None and "." not in whole and len(whole) == 4 and whole[:2] in ("19", "20"):
            continue
        value = float(whole.replace(".", "") + (f".{dec}" if dec else ""))
        out.append((m.group(0), value))
    return out


def arithmetic(kb: "KnowledgeBase", text: str) -> Computed | None:
    """"… 7.669 xã mà 6.084 xã đạt thì còn bao nhiêu": the difference (or the share) of two figures the question
    writes, when one entry states both: the figures are the entry's, sourced; only the subtraction is ours."""
    folded = fold(text)
    remainder, share = bool(_REMAINDER_Q.search(folded)), bool(_SHARE_Q.search(folded) or "%" in text and "?" in text)
    if not (remainder or share):
        return None
    figs = _figures(unicodedata.normalize("NFC", text))
    if len(figs) != 2 or figs[0][1] == figs[1][1] or min(v for _, v in figs) <= 0:
        return None
    (wa, a), (wb, b) = figs
    big, small = (a, b) if a > b else (b, a)
    if big < 100 or small < 10:  # "7 tấn mà bán 5 tấn": small numbers are in every entry, they name nothing
        return None
    for e in kb.entries.values():  # both in one line of an entry; two large ones anywhere in it
        if any(wa in (seen := set(_WRITTEN.findall(line))) and wb in seen for line in e.answer.splitlines()) or (
                small >= 100 and {wa, wb} <= set(_WRITTEN.findall(e.answer))):
            break
    else:
        return None
    decimals = 0 if big.is_integer() and small.is_integer() else 1
    if remainder:
        body = f"{vn_number(big, decimals)} − {vn_number(small, decimals)} = **{vn_number(big - small, decimals)}**"
    else:
        body = f"{vn_number(small, decimals)} / {vn_number(big, decimals)} ≈ **{vn_percent(small, big)}**"
    return Computed("arithmetic", f"Hai số bạn nêu khớp với số liệu của mục «{e.title}»: {body}.", [e.id], [e.id])


def compute(kb: "KnowledgeBase", text: str, reading: "Reading", today: dt.date,
            finder: "CommuneFinder | None" = None) -> Computed | None:
    """The first computed answer the question asks for, if any."""
    return (ocop_score(kb, text) or validity(kb, text, today) or ocop_stars(kb, text) or withdrawal(kb, text, today)
            or criteria_count_claim(kb, text) or several_criteria(kb, reading) or criterion_number(kb, reading)
            or former_unit(kb, text)
            or arithmetic(kb, text))
