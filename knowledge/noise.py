"""Make a tidy paraphrase look like what citizens type, to train the decision on.

Farmers on cheap phones drop diacritics, write teencode ("ko", "dc", "j", "z"), address the bot ("ad ơi",
"bot ơi", "vậy con"), tell their situation before the question, make typos, add emoji. Each transform is one
such habit; `noisy` applies a random handful, deterministically for a given seed.
"""
from __future__ import annotations

import random
import re
import unicodedata

from knowledge.normalize import strip_accents

TEENCODE = [
    (r"\bkhông\b", ["ko", "k", "hông", "hok", "khg"]),
    (r"\bđược\b", ["dc", "đc", "đk"]),
    (r"\bgì\b", ["j", "gi", "zì"]),
    (r"\bvậy\b", ["z", "v", "dậy", "zậy"]),
    (r"\bsản phẩm\b", ["sp"]),
    (r"\bbao nhiêu\b", ["bn", "bnhiu", "nhiu"]),
    (r"\bnông thôn mới\b", ["ntm", "NTM"]),
    (r"\btiêu chí\b", ["tc", "t.chí"]),
    (r"\bhợp tác xã\b", ["htx", "HTX"]),
    (r"\bquyết định\b", ["qđ", "QĐ", "qd"]),
    (r"\bem\b", ["e"]),
    (r"\btôi\b", ["tui", "t", "mình"]),
    (r"\bnhư thế nào\b", ["ntn", "sao", "làm sao"]),
    (r"\bđăng ký\b", ["đk", "dk", "dky"]),
    (r"\brồi\b", ["r", "rùi"]),
]
OPENERS = ["cho em hỏi", "cho hỏi", "ad ơi", "bot ơi", "alo", "chào ad", "cho chú hỏi", "anh chị ơi cho em hỏi",
           "xin hỏi", "dạ cho con hỏi", "ad ơi cho mình hỏi xíu", "bot ơi cho cô hỏi cái này"]
CLOSERS = ["vậy ạ", "v ad", "z bot", "nha", "hả ad", "vậy con", "ạ", "nhé", "vậy", "ad ơi", "với", "nghen",
           "hông bot", "cảm ơn ad", "thanks", "dạ"]
CONTEXTS = [
    "nhà em ở ấp {place}", "em ở xã {place}", "chú ở {place} làm ruộng mấy chục năm", "nhà cô ở {place}",
    "em mới về quê ở {place}", "tui ở {place}", "xã em ({place}) mới nhập hồi tháng 7", "ba em ở {place} hay hỏi",
    "em là thanh niên ở {place}", "cô bán tạp hóa ở {place}", "nhà con ở {place}, ba má làm lúa",
    "chú làm vườn ở {place}", "em đang làm hồ sơ ở xã", "hôm qua họp ấp nghe cán bộ nói", "nghe loa xã đọc",
    "hôm bữa coi tivi thấy nói", "em đọc trên báo", "mấy bữa nay ở ấp bàn hoài", "em có đứa bạn hỏi mà em không biết",
]
PLACES = ["Vĩnh Trạch", "Thoại Sơn", "Chợ Mới", "Tri Tôn", "Tân Châu", "Châu Phú", "An Phú", "Long Xuyên", "Châu Đốc",
          "Phú Tân", "Tịnh Biên", "Hòa Bình", "Mỹ Hòa Hưng", "Kiên Lương", "Hòn Đất", "Giồng Riềng", "Gò Quao",
          "Vĩnh Thuận", "Óc Eo", "Núi Sập", "Cái Dầu", "Long Kiến", "Ba Chúc", "Vọng Thê", "Bình Hòa"]
EMOJI = ["🙏", "😊", "🤔", "👍", "😄", "??", "...", "!!!"]


def _sub_random(text: str, rng: random.Random, p: float) -> str:
    for pat, options in TEENCODE:
        if rng.random() < p:
            text = re.sub(pat, lambda m: rng.choice(options), text, flags=re.IGNORECASE)
    return text


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    w = list(words[i])
    j = rng.randrange(len(w))
    op = rng.choice(("drop", "swap", "double", "replace"))
    if op == "drop" and len(w) > 3:
        del w[j]
    elif op == "swap" and j + 1 < len(w):
        w[j], w[j + 1] = w[j + 1], w[j]
    elif op == "double":
        w.insert(j, w[j])
    else:
        w[j] = rng.choice("aeiouynhmtgc")
    words[i] = "".join(w)
    return " ".join(words)


def noisy(text: str, rng: random.Random, context: bool = True) -> str:
    """One citizen-like variant of a paraphrase."""
    t = unicodedata.normalize("NFC", text.strip().rstrip("?.!"))
    t = _sub_random(t, rng, 0.5)
    if rng.random() < 0.35:
        t = f"{rng.choice(OPENERS)} {t[:1].lower()}{t[1:]}"
    if rng.random() < 0.45:
        t = f"{t} {rng.choice(CLOSERS)}"
    if context and rng.random() < 0.3:
        ctx = rng.choice(CONTEXTS).format(place=rng.choice(PLACES))
        joiner = rng.choice([", ", ". ", " mà ", ", cho em hỏi ", " nên muốn hỏi "])
        t = f"{ctx}{joiner}{t[:1].lower()}{t[1:]}"
    if rng.random() < 0.3:
        t = _typo(t, rng)
    if rng.random() < 0.6:
        t = strip_accents(t)
    if rng.random() < 0.5:
        t = t.lower()
    if rng.random() < 0.12:
        t = f"{t} {rng.choice(EMOJI)}"
    return t
