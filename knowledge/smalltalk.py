"""Short social messages: they deserve a short human answer, not a knowledge-base search.

`kind_of(text)` -> greeting | thanks | ack | laugh | insult | bye | who | None. Only messages that are (almost)
nothing but the social words count: "cảm ơn, cho hỏi thêm ocop là gì" is a question.
"""
from __future__ import annotations

import re
import unicodedata

from knowledge.normalize import fold

_ADDRESS = r"(?: (?:ban|ad|admin|bot|anh|chi|em|co|chu|bac|con|moi nguoi|mn|nha|nhe|nhen|nghen|a|ah|nhieu|lam|qua|ne|oi|vay|roi|nha ad|ha))*"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("greeting", re.compile(rf"^(?:(?:xin )?chao|hello|helo|hi|hey|alo+|a lo|allo|co ai (?:o day |do )?khong|"
                            rf"bot oi|ad oi|admin oi|chao buoi (?:sang|trua|chieu|toi))(?: (?:alo+|a lo|chao))*{_ADDRESS}$")),
    ("thanks", re.compile(rf"^(?:(?:da |vang |ok |oke )?(?:cam on|camon|cam an|thank(?:s| you)?|tks|thanks|tk|cmon|"
                          rf"cam on nhieu|cam on rat nhieu)){_ADDRESS}$")),
    ("bye", re.compile(rf"^(?:tam biet|bye|bai bai|bai|goodbye|hen gap lai|thoi nhe|chao nhe|di ngu day){_ADDRESS}$")),
    ("ack", re.compile(rf"^(?:ok+|oke+|okela|okie|okay|uh+|u|uhm+|um+|da+|vang|da vang|vang a|da a|dc|duoc|duoc roi|"
                       rf"hieu roi|biet roi|ro roi|roi|dung roi|chuan|yes|y|uk|uki|oki|de|de roi|the a|vay a|vay ha|"
                       rf"a ha|ah|oh|o|a)(?: (?:ok+|oke|da|vang|roi|hieu|biet))*{_ADDRESS}$")),
    ("laugh", re.compile(r"^(?:(?:ha|he|hi|hj|ho|kk+|ka|ke|hehe|haha|hihi|keke|kaka|lol|hic|huhu)\s*)+$")),
    ("who", re.compile(rf"^(?:(?:ban|bot|may|em|anh|chi|day) (?:la )?(?:ai|ai vay|ai the|la gi|nguoi hay may|co phai "
                       rf"nguoi(?: that)?(?: khong)?)|ai (?:dang )?tra loi(?: vay| day)?|co phai nguoi that khong|"
                       rf"nguoi that hay may|day la may hay nguoi){_ADDRESS}$")),
]
# Insults, read with care: without diacritics "ngu" may be "ngủ" or "ngũ", "dien" is "điện", "lao" is "lao động".
_INSULT = re.compile(r"\b(?:vl|vcl|vkl|dm|dmm|dcm|dkm|vo dung|do te|te qua|rac ruoi|do ngoc|ngu ngoc|ngu si|"
                     r"(?:bot|may|ad|mi|ban|thang|con|do|qua) ngu|ngu (?:qua|vl|vcl|the|vay|nhu bo|lam|ghe|vai|that|dot|"
                     r"roi|ha|z|v|thiet))\b|^ngu$")
_NOT_INSULT = re.compile(r"\bng[ũủụù]")  # typed with its diacritics, "ngũ cốc", "ngủ" are not insults
_EMOJI_ACK = "👍👌🙏❤️♥️💯✅☺️😊🙂🥰😍"
_EMOJI_LAUGH = "😂🤣😄😆😁😅😃😀"
_EMOJI_BAD = "😡👎🤬😠💢"


def kind_of(text: str) -> str | None:
    raw = unicodedata.normalize("NFC", (text or "").strip())
    if not raw:
        return None
    folded = fold(raw)
    if not folded:  # emoji, stickers as text, punctuation only
        if any(ch in raw for ch in _EMOJI_BAD):
            return "insult"
        if any(ch in raw for ch in _EMOJI_LAUGH):
            return "laugh"
        if any(ch in raw for ch in _EMOJI_ACK) or any(unicodedata.category(ch) == "So" for ch in raw):
            return "ack"
        if any(unicodedata.category(ch).startswith("P") for ch in raw):
            return "ack"  # "?", "...", "!!": a short «what do you need?», not the off-topic reply
        return None
    if len(folded.split()) > 8:
        return None
    for kind, pattern in _PATTERNS:
        if pattern.match(folded):
            return kind
    words = folded.split()
    if len(words) <= 6 and _INSULT.search(folded) and not _NOT_INSULT.search(raw.lower()):
        return "insult"
    return None
