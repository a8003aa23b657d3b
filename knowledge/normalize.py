"""Vietnamese text normalisation for matching.

`fold` maps any way of typing to one form: NFC/NFD, case, diacritics (with and without), đ/d, emoji,
punctuation. `tokens` then expands abbreviations and teencode and drops filler words, so
"cho e hoi tc ntm la j vay ad" and "Tiêu chí nông thôn mới là gì?" meet in the middle.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^0-9a-z%]+")
# "hoiiii" -> "hoi"; not at the start of a word, where no Vietnamese word triples a letter but abbreviations do ("cccd")
_REPEAT = re.compile(r"(?<=[a-z])([a-z])\1{2,}")
_NUM_DOT = re.compile(r"(?<=\d)[.,](?=\d{3}\b)")  # 6.084 -> 6084 (thousands separator)
_STAR = re.compile(r"(\d)\s*(\*(?!\*)|⭐|★|s\b)")  # 4* / 4⭐ / 4s -> 4 sao (not the end of a bold **79**)


def strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("đ", "d").replace("Đ", "D")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lowercase, no diacritics, no punctuation or emoji, single spaces."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _STAR.sub(r"\1 sao ", text)
    text = strip_accents(text)
    text = _NUM_DOT.sub("", text)
    text = _NON_WORD.sub(" ", text)
    text = _REPEAT.sub(r"\1", text)
    return " ".join(text.split())


# Abbreviations and teencode -> folded full words. Only unambiguous ones; ambiguous short forms
# (e.g. "kh") are left alone rather than guessed.
ABBREVIATIONS: dict[str, str] = {
    # what people type for the words the answers spell out
    "cty": "cong ty",
    "sdt": "so dien thoai",
    "trc": "truoc",
    "bjet": "biet",
    "dki": "dang ky",
    "gcn": "giay chung nhan",
    "cccd": "can cuoc cong dan",
    "bhxh": "bao hiem xa hoi",
    "ntm": "nong thon moi",
    "nongthonmoi": "nong thon moi",
    "mtqg": "muc tieu quoc gia",
    "ctmtqg": "chuong trinh muc tieu quoc gia",
    "ct": "chuong trinh",
    "tc": "tieu chi",
    "tchi": "tieu chi",
    "ko": "khong",
    "k": "khong",
    "kg": "khong",
    "hok": "khong",
    "hong": "khong",
    "hem": "khong",
    "khg": "khong",
    "dc": "duoc",
    "dk": "dang ky",
    "dky": "dang ky",
    "dkien": "dieu kien",
    "j": "gi",
    "ji": "gi",
    "bnhieu": "bao nhieu",
    "bnhiu": "bao nhieu",
    "bn": "bao nhieu",
    "baonhieu": "bao nhieu",
    "nhiu": "nhieu",
    "sp": "san pham",
    "hd": "hoat dong",
    "hdnd": "hoi dong nhan dan",
    "ubnd": "uy ban nhan dan",
    "ubtvqh": "uy ban thuong vu quoc hoi",
    "htx": "hop tac xa",
    "thtx": "to hop tac",
    "dn": "doanh nghiep",
    "qd": "quyet dinh",
    "nq": "nghi quyet",
    "tt": "thong tu",
    "nd": "nghi dinh",
    "ktxh": "kinh te xa hoi",
    "xd": "xay dung",
    "bhyt": "bao hiem y te",
    "attp": "an toan thuc pham",
    "antt": "an ninh trat tu",
    "pctt": "phong chong thien tai",
    "dtts": "dan toc thieu so",
    "nsnn": "ngan sach nha nuoc",
    "nstw": "ngan sach trung uong",
    "tw": "trung uong",
    "ttg": "thu tuong",
    "ttcp": "thu tuong chinh phu",
    "vpdp": "van phong dieu phoi",
    "bnn": "bo nong nghiep",
    "nn": "nong nghiep",
    "ptnt": "phat trien nong thon",
    "cds": "chuyen doi so",
    "tp": "thanh pho",
    "tx": "thi xa",
    "ag": "an giang",
    "angiang": "an giang",
    "ntn": "nhu the nao",
    "ntnao": "nhu the nao",
    "vs": "voi",
    "mn": "moi nguoi",
    "r": "roi",
    "cx": "cung",
    "lm": "lam",
    "ng": "nguoi",
    "nguoii": "nguoi",
    "wa": "qua",
    "bik": "biet",
    "bit": "biet",
    "zay": "vay",
    "v": "vay",
    "dz": "vay",
    "dzay": "vay",
    "zi": "gi",
    "gj": "gi",
    "mik": "minh",
    "mk": "minh",
    "t": "toi",
    "tui": "toi",
    "e": "em",
    "sx": "san xuat",
    "tm": "thuong mai",
    "dl": "du lich",
    "gddt": "giao duc dao tao",
    "vh": "van hoa",
    "mt": "moi truong",
    "gnbv": "giam ngheo ben vung",
    "hs": "ho so",
    "tthc": "thu tuc hanh chinh",
    "pa": "phan anh",
}

# Multi-word teencode / spelling variants (applied on the folded string, whole words).
PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b{a}\b"), b)
    for a, b in [
        (r"bao nhiu", "bao nhieu"),
        (r"la j", "la gi"),
        # "điện cũng là 1 tiêu chí": an article, not criterion 1 (but "là 1 sao", "là 1 điểm" stay numbers)
        (r"la 1(?= (?:tieu chi|chi tieu|chuong trinh|trong|phan|loai|dieu kien|nhom|hinh thuc))", "la mot"),
        (r"mot xa mot san pham", "moi xa mot san pham"),
        (r"(?:moi|1) xa (?:1|mot) san pham", "moi xa mot san pham"),
        (r"o cop", "ocop"),
        # "nhà ở" (housing, a criterion) before what asks about it, not "nhà ở ấp 3" (where one lives)
        (r"nha o(?= (?:la|thi|co|dat|the|ra|nhu|phai|can|gom|duoc|yeu cau|tieu chi|khong|ko|k|ha|hk|a|vay)\b|$)", "nha o dan cu"),
        (r"ki", "ky"),
    ]
]

# Words that carry no meaning for matching: pronouns, copulas, question words, linking words. Only words
# whose folded form is not also a content word ("chi" is in "tiêu chí", "sao" in "4 sao", "thi" in "đô thị",
# "nha" in "nhà ở", "a" in "phần A", "vui" in "khu vui chơi").
FILLERS: frozenset[str] = frozenset(
    """
    e em toi tui ad admin oi
    la gi nao khong co duoc hay di roi va cua o voi ve cac nhung mot nay kia ay phai muon biet xin giup dum
    """.split()
)
# Particles that end a sentence ("… vậy ạ", "… nha", "… hả ad"): dropped only at the end of the message,
# because elsewhere the same letters are words ("nhà", "phần A", "hạ tầng", "vay vốn").
FINAL_PARTICLES: frozenset[str] = frozenset(
    "a ah ak nha nhe nhen nghen ha hen nhi vay z ad admin oi ne luon voi".split()
)
# Forms of address that end a sentence after a particle ("… vậy anh", "… nha chị", "… ạ bác").
ADDRESS: frozenset[str] = frozenset("anh chi em ban bac co chu chau cau ad admin".split())
# Fillers stripped only at the start of a message ("cho em hỏi …", "ad ơi …").
_LEADING = re.compile(
    r"^(?:(?:xin )?(?:cho|cko|choa) (?:em|e|toi|t|minh|chau|con|tui|anh|chi|chu|co|bac|ba|cau|ong) (?:hoi|hoi chut|hoi xiu)|"
    r"(?:ad|admin|ban|anh|chi|em|bot) oi|xin hoi|cho hoi|hoi chut|xin chao|chao (?:ad|ban|anh|chi|bot)|alo|"
    r"em muon hoi|toi muon hoi|minh muon hoi|cho em hoi ve|cho hoi ve|"
    # "Dạ cho con hỏi…", "Dạ thưa…": the polite «dạ» (folded like «đã», which opens few questions)
    r"da thua|da)\b\s*"
)


# The same asides in the middle of a message ("…, cho em hỏi là …", "… ad ơi …").
_ASIDE = re.compile(
    r"\b(?:xin )?cho (?:em|e|toi|t|minh|chau|con|tui|anh|chi|chu|co|bac|ba|cau|ong) hoi(?: (?:chut|xiu|thu))?\b|"
    r"\bcho hoi\b|\bxin hoi\b|\b(?:ad|admin|bot|anh|chi|em|ban|chu|co|con|bac) oi\b"
)


@lru_cache(maxsize=65536)
def tokens(text: str) -> tuple[str, ...]:
    """Folded, expanded tokens of a text (filler words kept; see `content_tokens`)."""
    s = fold(text)
    for pat, rep in PHRASES:
        s = pat.sub(rep, s)
    while True:
        stripped = _LEADING.sub("", s)
        if stripped == s:
            break
        s = stripped
    s = _ASIDE.sub(" ", s)
    out: list[str] = []
    words = s.split()
    for i, tok in enumerate(words):
        if tok == "kh":  # "KH 328", "328/KH-UBND" are plans (kế hoạch); otherwise teencode for "không"
            nxt = words[i + 1] if i + 1 < len(words) else ""
            prev = words[i - 1] if i > 0 else ""
            out.extend(("ke", "hoach") if nxt[:1].isdigit() or (prev.isdigit() and nxt == "ubnd") else ("khong",))
            continue
        exp = ABBREVIATIONS.get(tok)
        if exp:
            out.extend(exp.split())
        else:
            out.extend(_split_alnum(tok))
    return _thousands(out)


_THOUSAND = frozenset({"ngan", "nghin"})
_NOT_THOUSAND = frozenset({"sach", "hang", "quy"})  # "ngân sách", "ngân hàng", "ngân quỹ" fold to "ngan" too


def _thousands(out: list[str]) -> tuple[str, ...]:
    """"100 ngàn tỷ", "423 nghìn" as the answers write them ("100.000", folded "100000")."""
    if not _THOUSAND.intersection(out):
        return tuple(out)
    merged: list[str] = []
    i = 0
    while i < len(out):
        w = out[i]
        if (w.isdigit() and len(w) <= 3 and i + 1 < len(out) and out[i + 1] in _THOUSAND
                and (i + 2 >= len(out) or out[i + 2] not in _NOT_THOUSAND)):
            merged.append(str(int(w) * 1000))
            i += 2
            continue
        merged.append(w)
        i += 1
    return tuple(merged)


def _split_alnum(tok: str) -> list[str]:
    """"tc15" -> ["tieu", "chi", "15"] when the letters are a known abbreviation; "qh15" stays one token
    (it is part of a document number, "Nghị quyết 25/2021/QH15", not criterion 15)."""
    m = re.fullmatch(r"([a-z]+)(\d+)", tok) or re.fullmatch(r"(\d+)([a-z]+)", tok)
    if not m:
        return [tok]
    letters = m.group(1) if m.group(1).isalpha() else m.group(2)
    # "kh328": a plan's number ("kh" alone is teencode for "không", see tokens)
    exp = ABBREVIATIONS.get(letters) or ("ke hoach" if letters == "kh" and m.group(2).isdigit() else None)
    if exp is None:
        return [tok]
    return [p for part in m.groups() for p in (exp.split() if part == letters else [part])]


# Question scaffolding: multi-word phrases that frame a question without saying what it is about. Removed
# as whole phrases (never single syllables, which after folding may be topical: "cần" vs "cán bộ").
SCAFFOLD: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in """
    nghia la sao|nhu the nao|the nao|ra sao|la sao|nhu nao|the nay|can dat|can phai|can nhung|
    co phai|phai khong|dung khong|co dung|duoc khong|co duoc|co the|cho biet|giai thich|nghia la|tim hieu|
    hoi ve|thong tin ve|noi ve|lien quan|o dau vay|la cai|cai gi|dieu gi|nhung gi|nhung cai|
    muon hoi|can hoi|hoi thu|hoi xiu|hoi chut|xin hoi|tu van|ho tro em|giup em|giup toi|giup minh|
    nghe noi|nghe nguoi ta noi|nguoi ta noi|nghe hoai|nghe hoai ma|ma khong biet|ma chua biet|thac mac
    """.replace("\n", " ").split("|")
)
_SCAFFOLD_MAX = max(len(p) for p in SCAFFOLD)
_SCAFFOLD_SET = frozenset(SCAFFOLD)


def drop_scaffold(words: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(_SCAFFOLD_MAX, 1, -1):
            if tuple(words[i : i + n]) in _SCAFFOLD_SET:
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return tuple(out)


@lru_cache(maxsize=65536)
def content_tokens(text: str) -> tuple[str, ...]:
    """Tokens that carry meaning: no question scaffolding, no fillers, no sentence-final particles."""
    return content_of(tokens(text))


_THANKS_TAIL = frozenset({"nhieu", "nhiu", "lam", "truoc"})  # "… cảm ơn bot nhiều", "… cảm ơn trước nha"
_THANKS_WHO = frozenset({"con", "xin", "tui", "minh", "toi"})


def _without_thanks(words: list[str]) -> list[str]:
    """"…, hồ sơ cần gì ạ, em cảm ơn bot nhiều": thanks that close a message say nothing about the question."""
    for i in range(len(words) - 2, 0, -1):
        if words[i] == "cam" and words[i + 1] == "on":
            rest = words[i + 2 :]
            if all(w in FINAL_PARTICLES or w in FILLERS or w in ADDRESS or w in _THANKS_TAIL or w == "bot" for w in rest):
                # … and who thanks ("em", "con cảm ơn")
                return words[: i - 1] if words[i - 1] in ADDRESS or words[i - 1] in _THANKS_WHO else words[:i]
            break
    return words


def content_of(toks: tuple[str, ...]) -> tuple[str, ...]:
    """`content_tokens` of already expanded tokens."""
    words = _without_thanks(list(drop_scaffold(toks)))
    ending = FINAL_PARTICLES | FILLERS
    # The particles at the very end only: once a filler that is no particle ends the message, what is before
    # it stays ("tiêu chí nhà ở là gì": «nhà», before «ở là gì», is no particle; fillers go below anyway).
    behind_filler = False  # a filler that is no particle was dropped: particles before it are words
    while words:
        w = words[-1]
        if w in FINAL_PARTICLES and not behind_filler:
            words.pop()
        elif w in FILLERS:
            behind_filler = behind_filler or w not in FINAL_PARTICLES
            words.pop()
        elif w in ADDRESS and not behind_filler and len(words) > 1 and words[-2] in ending | ADDRESS:
            words.pop()
        else:
            break
    return _period_years(tuple(t for t in words if t not in FILLERS))


def _period_years(words: tuple[str, ...]) -> tuple[str, ...]:
    """"giai đoạn 2021-2025" means the years: the words "giai đoạn" before a year carry nothing more, and
    entries that name the period by its years (tags, titles) must not lose to ones that happen to say it."""
    if "giai" not in words:
        return words
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] == "giai" and words[i + 1 : i + 2] == ("doan",) and i + 2 < len(words) and _is_year(words[i + 2]):
            i += 2
            continue
        out.append(words[i])
        i += 1
    return tuple(out)


def _is_year(word: str) -> bool:
    return len(word) == 4 and word.isdigit() and word[:2] in ("19", "20")


def normalized(text: str) -> str:
    """Expanded folded text as one string, for fuzzy comparison."""
    return " ".join(tokens(text))
