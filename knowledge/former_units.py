""""Xã Mỹ Khánh cũ nay thuộc đâu?": the answer from NQ 1654/NQ-UBTVQH15, for any of the 102 units.

People still name the commune, town or ward they lived in before 01/7/2025. The knowledge base cannot hold
an entry per unit (the matcher confuses 102 near-identical entries whose only difference is a proper noun),
so such questions are answered here, from `knowledge/communes.csv` (the clause of the resolution that formed
each unit) and the commune finder the report conversation already uses (fuzzy, typo-tolerant, ambiguity as
choices). Only questions that ask where a unit went, or what a unit is made of, are answered; anything about
NTM, OCOP or criteria goes to the knowledge base ("sáp nhập rồi xã tôi còn đạt nông thôn mới không").
"""
from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections import Counter

from knowledge.communes import CSV_PATH, Candidate, default_finder, inside_districts
from knowledge.complaint import NOT_A_HAMLET
from knowledge.normalize import fold

SOURCE_LINE = "📄 Nguồn: Nghị quyết 1654/NQ-UBTVQH15 ngày 16/06/2025 của Ủy ban Thường vụ Quốc hội (hiện hành)."
# The question asks where a former unit went, or what today's unit is made of.
_INTENT = re.compile(
    r"\b(?:sap nhap|sap xep|nhap vao|nhap voi|nhap ve|gop vao|gop voi|bi gop|bi nhap|thuoc xa|thuoc phuong|"
    r"thuoc dac khu|thuoc ve|la xa nao|la xa gi|la phuong nao|la phuong gi|thanh xa|thanh phuong|doi ten|ten moi|"
    r"gom nhung|gom xa|gom phuong|gom cac|duoc lap tu|lap tu|truoc day la|cu nay|cu gio|cu bay gio|cu hien nay|"
    r"gio thuoc|nay thuoc|bay gio thuoc|hien nay thuoc|gio la xa|nay la xa|gio la phuong|nay la phuong|gio la dac khu|"
    r"ghep vo|ghep vao|ghep voi|ghep ve|bi ghep|ghep lai|"
    r"nay la dac khu|la dac khu|nhap vo|vo dau|ve dau|ten la gi|ten gi|gio ten|nay ten|doi thanh|nhap lai|gop lai|"
    r"gom may|may xa cu|may phuong cu|xa cu nao|phuong cu nao|ten xa|ten phuong|ghi xa|ghi phuong|ghi la xa|"
    r"ghi la phuong|dia chi ghi|ghi dia chi|dia chi moi|dia chi la|"
    # split between units, or two named in one message ("… bị chia làm 2", "giờ chung 1 xã hả, xã gì")
    r"bi chia|chia lam|chia ve|chia ra|tach ra|nam o xa|nam o phuong|chung xa|chung 1 xa|chung mot xa|"
    r"cung 1 xa|cung mot xa|xa gi|phuong gi)\b")
# … but not when it is about something the knowledge base answers ("mấy xã" counts units, unless it asks how
# many a former unit was split into: "bị chia về mấy xã").
_NOT_SPLIT = r"(?<!chia ve )(?<!chia lam )(?<!chia ra )"
_OTHER_SUBJECT = re.compile(
    r"\b(?:nong thon moi|ntm|ocop|tieu chi|chi tieu|dat chuan|kieu mau|nang cao|san pham|tinh nao|tinh moi|"
    rf"bao nhieu|{_NOT_SPLIT}may xa(?! cu)|{_NOT_SPLIT}may phuong(?! cu)|102|tinh kien giang|hop nhat tinh|"
    r"trung tam hanh chinh|phan anh|khu vuc (?:i|ii|iii|1|2|3|may|nao)|vung dong bao|dan toc)\b")
_DISTRICT = re.compile(r"\b(?:huyen|thi xa|thanh pho|tp)\b")
_DISTRICT_NAME = re.compile(r"^(?:huyen|thi xa|thanh pho|tp|quan) ")  # "huyen cho moi" -> "cho moi"
_COMMUNE_WORD = re.compile(r"(?<!thi )\b(?:xa|phuong|thi tran)\b")
_QUALIFIER = r"cua|o|tai|thuoc|ben|o ben|huyen|thi xa|thanh pho|tp|cua huyen|o huyen|thuoc huyen|ben huyen"
# Only at the edges of what is left: greetings before the name, question tails after it.
_LEAD = re.compile(r"^(?:(?:cho |xin )?(?:em|minh|toi|tui|chau|con)? ?hoi|ad oi|admin oi|ban oi|oi|cho)\s+")
_TAIL = re.compile(r"\s+(?:co|khong|ko|k|chua|ha|vay|nhe|nha|ad|oi|roi|the|ak|ah|a ad|bi|duoc|da|se)$")
_KIND_WORD = re.compile(r"^(?:xa|phuong|thi tran|tt|dac khu|huyen|thi xa)\s+")
MAX_WORDS = 24
MAX_WORDS_ASKED = 34  # with a phrase that asks where the unit went, a longer message (a greeting, why one asks)
_PROVINCE = re.compile(r"\s*\b(?:tinh )?an giang\b\s*")  # "… huyện Châu Thành An Giang": the province says nothing


@functools.lru_cache(maxsize=1)
def _clauses() -> dict[str, str]:
    with open(CSV_PATH, encoding="utf-8", newline="") as f:
        return {r["code"]: r["formed_from"] for r in csv.DictReader(f)}


def _composition(code: str, name: str) -> str:
    clause = _clauses().get(code, "")
    m = re.match(r"NQ 1654 Điều 1 khoản (\d+):\s*(.*)$", clause)
    if not m:  # kept as it was (khoản 97)
        return f"**{name}** không sắp xếp, giữ nguyên như trước (Nghị quyết 1654/NQ-UBTVQH15, Điều 1 khoản 97)."
    return f"**{name}** được lập từ {m.group(2)} (Nghị quyết 1654/NQ-UBTVQH15, Điều 1 khoản {m.group(1)})."


def _one(c: Candidate, asked_district: bool) -> str:
    name = c.commune.name
    lines = []
    if c.via is not None:
        lines.append(f"Từ 01/7/2025, {c.via.share}{c.via.label} (cũ) nay thuộc **{name}**, tỉnh An Giang.")
    elif asked_district:
        lines.append(f"Từ 01/7/2025 không còn cấp huyện, thị xã. **{name}** hiện nay chỉ là một đơn vị cấp xã, "
                     "không gồm cả huyện cũ; các xã khác của huyện cũ nay thuộc các đơn vị khác (nhắn tên từng xã cũ để tra).")
    lines.append(("Từ 01/7/2025, " if c.via is None and not asked_district else "") + _composition(c.commune.code, name))
    count = _count(c.commune.former)
    if count:
        lines.append(count)
    lines.append(f"Việc giấy tờ, thủ tục: bà con liên hệ UBND {c.commune.kind.lower()} {c.commune.bare}.")
    return "\n".join(lines)


def _count(former: tuple) -> str:
    """"Tức là gộp 3 đơn vị cũ (1 thị trấn, 2 xã)": how many, for "gộp từ mấy xã cũ" (the clause only lists them)."""
    if len(former) < 2:
        return ""
    parts = ", ".join(f"{n} {k}" for k, n in Counter(f.kind for f in former).items())
    partial = sum(1 for f in former if f.partial or f.rest)
    tail = f"; {partial} trong số đó chỉ một phần" if partial else ""
    return f"Tức là gộp **{len(former)} đơn vị cũ** ({parts}{tail})."


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def _split(cands: list[Candidate]) -> str | None:
    """One former unit divided between today's units (every candidate is a share of the same one): its parts,
    not a choice between namesakes."""
    vias = {c.via for c in cands}
    units = {(v.kind, v.name, v.district) for v in vias if v is not None}
    if len(units) != 1 or None in vias or not all(v.partial or v.rest for v in vias):
        return None
    first = cands[0].via
    lines = [f"Từ 01/7/2025, {first.label} (cũ) được chia cho {len(cands)} đơn vị (Nghị quyết 1654/NQ-UBTVQH15):"]
    lines += [f"• {_capital(c.via.share + c.via.label)} cũ → **{c.commune.name}**"
              for c in sorted(cands, key=lambda c: (c.via.rest, c.commune.name))]
    lines.append("Nhà ở ấp nào thuộc đơn vị nào: bà con hỏi UBND một trong các đơn vị trên (theo ấp, khóm cũ).")
    return "\n".join(lines)


def _choices(cands: list[Candidate]) -> str:
    split = _split(cands)
    if split is not None:
        return split
    lines = ["Tên này có ở nhiều nơi. Từ 01/7/2025:"]
    lines += [f"• {c.label}" for c in cands]
    lines.append("Bà con nhắn thêm tên huyện cũ hoặc ghi rõ «xã …», «phường …», «thị trấn …» để tra đúng nơi.")
    return "\n".join(lines)


def _find(folded: str, asked_district: bool) -> list[Candidate]:
    """The units the name in the question may be. The question's own words are cut away at the intent phrases
    ("… cũ nay thuộc xã nào", "sau sáp nhập …"), never word by word: many names contain ordinary words
    ("Chợ Mới", "Phú Hội", "Nam Du", "U Minh Thượng")."""
    finder = default_finder()
    pieces = [p.strip() for p in _INTENT.split(folded) if p and p.strip()] or [folded]
    best: list[Candidate] = []
    # A name may end in what is usually a question's tail ("Vọng Thê", "Tân Hòa" + "ha"): each piece is read
    # as written first, then with its tails cut.
    variants: list[str] = []
    for piece in pieces:
        piece = _LEAD.sub("", piece).strip()
        variants.append(piece)
        for _ in range(3):
            piece = _TAIL.sub("", _LEAD.sub("", piece)).strip()
        if piece != variants[-1]:
            variants.append(piece)
    for piece in variants:
        if asked_district:
            bare = " ".join(_DISTRICT.sub(" ", piece).replace(" cu", " ").split())
            exact = [c for c in finder.communes if fold(c.bare) == bare]
            if exact:
                return [Candidate(exact[0], 100.0)]
            piece = bare
        found = finder.find(piece)
        if found.kind == "one":
            return found.candidates
        core = _KIND_WORD.sub("", piece).removesuffix(" cu").strip()
        exact = [c for c in found.candidates if fold(c.via.name if c.via else c.commune.bare) == core]
        if len(exact) == 1:
            return exact
        if found.kind == "choices" and (not best or found.candidates[0].score > best[0].score):
            best = found.candidates
    return best


_AND = re.compile(r"\s*(?:,|;|\bvoi\b|\bva\b|\bcung\b|\bhay\b|\bvs\b)\s*")


def _several(folded: str) -> list[Candidate]:
    """"xã Lê Trì với Lạc Quới sáp nhập vào đâu": every former unit the message names, one each, in order."""
    found: dict[str, Candidate] = {}
    padded = f" {folded} "
    for piece in _INTENT.split(folded):
        for part in _AND.split(piece or ""):
            if not part.strip():
                continue
            cands = [c for c in _find(part.strip(), False) if c.via is not None]
            if len(cands) == 1 and f" {fold(cands[0].via.name)} " in padded:
                found.setdefault(fold(cands[0].via.name), cands[0])
    return list(found.values())


def _many(cands: list[Candidate]) -> str:
    lines = []
    for c in cands:
        lines.append(f"Từ 01/7/2025, {c.via.share}{c.via.label} (cũ) nay thuộc **{c.commune.name}**, "
                     "tỉnh An Giang.")
    units = list({c.commune.code: c.commune for c in cands}.values())
    lines += [_composition(u.code, u.name) for u in units]
    lines.append("Việc giấy tờ, thủ tục: bà con liên hệ UBND " + ", ".join(f"{u.kind.lower()} {u.bare}" for u in units) + ".")
    return "\n".join(lines)


def _first_written(folded: str, cands: list[Candidate]) -> list[Candidate]:
    """"Châu Lăng Tri Tôn giờ thuộc xã nào": people write their commune, then the district it was in. When the
    finder's pick is a later name, the first name written wins if it is a former unit of its own."""
    padded = f" {folded} "
    at = {a.folded: padded.find(f" {a.folded} ") for a in default_finder().aliases}
    written = sorted((pos, name) for name, pos in at.items() if pos >= 0)
    picked = fold(cands[0].via.name if cands[0].via else cands[0].commune.bare)
    if len({n for _, n in written}) < 2 or written[0][1] == picked or written[0][1] in picked:
        return cands
    first = [c for c in _find(written[0][1], False) if c.via is not None]
    return first if len(first) == 1 else cands


def _within(text: str) -> str | None:
    """A long message ("alo bot, tui là nông dân ở xã Linh Huỳnh nhà có mấy công ruộng, giờ sáp nhập rồi thì xã
    tui thuộc xã nào, làm giấy tờ ghi sao…"): the clause that asks, with the one or two before it (where the
    name usually is)."""
    clauses = [c for c in re.split(r"[,;.!?\n]+", text) if c.strip()]
    for i in range(len(clauses)):
        if not _INTENT.search(fold(clauses[i])):
            continue
        for back in (1, 2):  # the name may be one or two clauses before
            window = ", ".join(clauses[max(0, i - back): i + 1])
            if len(fold(window).split()) <= MAX_WORDS_ASKED and (found := body(window)) is not None:
                return found
    return None


def answer(text: str) -> str | None:
    """The reply to a question about where a former unit is now (or what a unit is made of), with its source
    line, or None."""
    found = body(text)
    return f"{found}\n\n{SOURCE_LINE}" if found is not None else None


def body(text: str) -> str | None:
    """`answer` without the source line (the FAQ cites the entry that names the resolution)."""
    folded = " ".join(_PROVINCE.sub(" ", fold(text)).split())
    words = folded.split()
    intent = bool(_INTENT.search(folded))
    if intent and len(words) > MAX_WORDS_ASKED and not _OTHER_SUBJECT.search(folded):
        return _within(text)
    if not words or len(words) > (MAX_WORDS_ASKED if intent else MAX_WORDS) or _OTHER_SUBJECT.search(folded):
        return None
    if not intent and len(words) > 4:
        return None  # a bare name ("xã Mỹ Khánh", "thị trấn Núi Sập") is a lookup too, if it is all the message says
    # "huyện Thoại Sơn cũ giờ là xã gì" asks about the district; "xã Vọng Thê huyện Thoại Sơn …" about the commune.
    district, commune_word = _DISTRICT.search(folded), _COMMUNE_WORD.search(folded)
    asked_district = bool(district) and (commune_word is None or district.start() <= commune_word.start())
    # The name must be written out (typos go to the knowledge base): a fuzzy match on a message that only
    # sounds like a name ("tỷ giá đô la" ~ "Ô Lâm") is no answer.
    padded = f" {folded} "
    if intent and not asked_district and _AND.search(folded):
        several = _several(folded)
        if len(several) >= 2:
            return _many(several)
    cands = [c for c in _find(folded, asked_district)
             if f" {fold(c.via.name if c.via else c.commune.bare)} " in padded]
    if intent and len(cands) == 1:
        cands = _first_written(folded, cands)
    if not cands and intent and _HAMLET.search(folded) and not _COMMUNE_NAMED.search(folded):
        # "ấp Hòa Long giờ thuộc xã nào": hamlets are not in the resolution, which moves whole communes
        return ("Nghị quyết 1654/NQ-UBTVQH15 sắp xếp theo xã, phường, thị trấn, không ghi từng ấp, khóm, nên tôi chưa "
                "tra được theo tên ấp. Bà con nhắn tên **xã (cũ)** của ấp đó (ví dụ «xã Vĩnh Khánh cũ giờ thuộc xã "
                "nào»), tôi cho biết nay thuộc xã, phường nào; hoặc hỏi UBND xã đang ở.")
    if not cands or (not intent and len(cands) > 1):
        return None
    named = {fold(c.via.name if c.via else c.commune.bare) for c in cands}
    inner = {n for n in named if any(n != m and f" {n} " in f" {m} " for m in named)}  # "hòa hưng" of "mỹ hòa hưng"
    if inner and len(named) > len(inner):
        cands = [c for c in cands if fold(c.via.name if c.via else c.commune.bare) not in inner]
        named -= inner
    if len(named) > 1:  # "xã Vọng Thê của Thoại Sơn": the first name, the others only saying where it was
        first = min(named, key=lambda n: padded.find(f" {n} "))
        # … or the former district written right after the name ("xã Vọng Thê Thoại Sơn", "Bình Sơn, Hòn Đất")
        if all(re.search(rf"\b(?:{_QUALIFIER}) {re.escape(n)}\b", folded)
               or (n in inside_districts() and re.search(rf"\b{re.escape(first)} {re.escape(n)}\b", folded))
               for n in named - {first}):
            cands, named = [c for c in cands if fold(c.via.name if c.via else c.commune.bare) == first], {first}
    if len(named) > 1:
        return None  # several different names ("Thổ Châu, Kiên Hải"): the knowledge base answers those
    if len(cands) > 1:
        # namesakes the resolution tells apart by their former district ("Hòa An (huyện Chợ Mới)"): the one whose
        # district the message names ("Hòa An bên Chợ Mới", "xã Hòa An huyện Giồng Riềng")
        told = [c for c in cands if c.via is not None and c.via.district
                and f" {_DISTRICT_NAME.sub('', fold(c.via.district))} " in padded]
        if len(told) == 1:
            cands = told
        elif told:  # several, each with its district ("Vĩnh Phú ở Thoại Sơn với Vĩnh Phú ở Giồng Riềng"): each one
            return _many(told)
    if not intent and not _KIND_WORD.match(folded) and folded != next(iter(named)):
        return None  # a bare message is a lookup when it is just the name, or "xã/phường … <name>"
    if len(cands) == 1 and (longer := _longer_name(text, folded, next(iter(named)))):
        # "xã Tân Hội Trung" (of Đồng Tháp) is not "xã Tân Hội": the name typed goes on past the one found
        return (f"Tôi không tìm thấy «{longer}» trong các xã, phường, thị trấn cũ của tỉnh An Giang và tỉnh Kiên "
                f"Giang (Nghị quyết 1654/NQ-UBTVQH15). Tên gần nhất: {cands[0].label}.\nNếu là nơi khác, bà con "
                "nhắn đúng tên xã cũ và tên huyện cũ để tra.")
    return _one(cands[0], asked_district) if len(cands) == 1 else _choices(cands)


_HAMLET = re.compile(rf"\b(?:ap|khom)\s+(?!(?:{'|'.join(sorted(NOT_A_HAMLET))})\b)\w+")  # not "áp dụng", "áp lực"
_COMMUNE_NAMED = re.compile(r"\b(?:xa|phuong|thi tran)\s+(?!em\b|minh\b|toi\b|tui\b|nha\b|nao\b|gi\b|j\b|moi\b|cu\b)\w+")
_KIND_BEFORE = re.compile(r"\b(?:xa|phuong|thi tran|tt|dac khu)\s+$")
# Where a typed name stops: the question goes on ("… trung giờ nhập vô đâu", "… cũ nay thuộc …")
_NAME_STOP = frozenset({"cu", "nay", "gio", "bay", "hien", "truoc", "sau", "thi", "la", "co", "da", "bi", "duoc",
                        "dc", "con", "ko", "khong", "k", "ha", "vay", "a", "ad", "oi", "nhap", "gop", "thuoc", "o", "moi",
                        "minh", "em", "tui", "toi", "nha", "ben", "day", "do", "kia", "luon", "may", "gom"})


@functools.lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    return frozenset(a.folded for a in default_finder().aliases) | inside_districts()


@functools.lru_cache(maxsize=1)
def _name_syllables() -> frozenset[str]:
    return frozenset(w for a in default_finder().aliases for w in a.folded.split())


def _longer_name(text: str, folded: str, name: str) -> str:
    """The name as typed after a kind word when it runs on past `name` with words that are not a place of the
    province, a qualifier or the rest of the question ("xã Tân Hội Trung giờ nhập vô đâu" -> "xã Tân Hội Trung"),
    else ""."""
    for piece in _INTENT.split(folded):
        piece = f" {(piece or '').strip()} "
        at = piece.find(f" {name} ")
        kind = _KIND_BEFORE.search(piece[: at + 1]) if at >= 0 else None
        if kind is None:
            continue
        after = f"{piece[at + len(name) + 2:].strip()} "
        if any(after.startswith(f"{place} ") for place in _places()):
            return ""  # the district it was in, or another unit, follows: "xã Kiến Thành Chợ Mới"
        rest: list[str] = []
        for w in after.split():
            if w in _NAME_STOP:
                break
            rest.append(w)
        more = " ".join(rest)
        # one or two more syllables of the kind place names are made of, then the question: another name
        if not 1 <= len(rest) <= 2 or not set(rest) <= _name_syllables() or re.match(rf"(?:{_QUALIFIER})\b", more):
            return ""
        typed = f"{kind.group(0).strip()} {name} {more}".split()
        words = re.findall(r"\w+", unicodedata.normalize("NFC", text))
        folded_words = [fold(w) for w in words]
        for i in range(len(words) - len(typed) + 1):
            if folded_words[i:i + len(typed)] == typed:
                return " ".join(words[i:i + len(typed)])
        return " ".join(typed)
    return ""
