"""Short social messages: they deserve a short human answer, not a knowledge-base search.

`kind_of(text)` -> greeting | thanks | ack | laugh | insult | bye | who | confused | wrong | human | None. Only messages that are (almost)
nothing but the social words count: "cảm ơn, cho hỏi thêm ocop là gì" is a question.
"""
from __future__ import annotations

import re
import unicodedata

from knowledge.normalize import fold

_PEOPLE = r"(?:em|toi|minh|tui|chau|con|bac|chu|co|anh|chi)"
_ASK_LEAVE = rf"(?:(?:cho|xin) )?(?:{_PEOPLE} )?(?:muon )?hoi(?: (?:chut|xiu|ti|cai|thu|it|1 chut|mot chut))?"
_ADDRESS = r"(?: (?:ban|ad|admin|bot|anh|chi|em|co|chu|bac|con|moi nguoi|mn|nha|nhe|nhen|nghen|a|ah|nhieu|lam|qua|ne|oi|vay|roi|nha ad|ha))*"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("greeting", re.compile(rf"^(?:(?:(?:xin )?chao|hello|helo|hi|hey|alo+|a lo|allo|co ai (?:o day |do )?khong|"
                            rf"bot oi|ad oi|admin oi|chao buoi (?:sang|trua|chieu|toi))(?: (?:alo+|a lo|chao))*"
                            # "ad ơi cho hỏi", "cho em hỏi chút": asking leave to ask, the question still to come
                            rf"(?: {_ASK_LEAVE})?|{_ASK_LEAVE}){_ADDRESS}$")),
    ("thanks", re.compile(rf"^(?:(?:da |vang |ok |oke |dc roi |duoc roi |roi |ok roi |hieu roi |biet roi )?"
                          rf"(?:cam on|camon|cam an|thank(?:s| you)?|tks|thanks|tk|cmon|cam on nhieu|cam on rat nhieu))"
                          rf"{_ADDRESS}$")),
    # "không hiểu gì hết", "khó hiểu quá": the last answer did not help
    ("confused", re.compile(rf"^(?:(?:toi|em|minh|tui|con|chau|bac|chu|co) )?(?:(?:ko|khong|k|hong|hok|chua) "
                            rf"(?:hieu|hiu|ro)(?: (?:gi|j|chi))?|kho hieu|noi gi (?:vay|z|v)|la sao ta)"
                            rf"(?: (?:het|ca|lam|luon|nua|qua|tron))*{_ADDRESS}$")),
    # "sai rồi", "trả lời sai rồi", "không phải câu đó": the answer or the suggestion was not what was asked
    ("wrong", re.compile(rf"^(?:(?:bot|ad|ban|may) )?(?:tra loi )?(?:sai|sai roi|sai bet|sai het|khong dung|ko dung|"
                         rf"khong phai|ko phai|hong phai)(?: (?:cau|cai|y|chuyen) (?:do|nay|kia|em hoi|toi hoi|tui hoi|"
                         rf"minh hoi))?(?: (?:roi|het|qua|ca|luon|bet))*{_ADDRESS}$|"
                         rf"^(?:(?:bot|ad|ban) )?tra loi (?:lung tung|lac de|khong dung|ko dung|sai)(?: (?:roi|het|qua|ca))*"
                         rf"{_ADDRESS}$")),
    # "gặp cán bộ", "cho em nói chuyện với người thật": a person, not the machine
    ("human", re.compile(rf"^(?:(?:cho )?(?:toi|em|minh|tui|con|chau|bac|chu|co) )?(?:muon |can |xin )?"
                         rf"(?:gap|noi chuyen voi|chat voi|nhan voi|hoi) (?:can bo|nguoi that|nhan vien|ad that|"
                         rf"admin that|nguoi|tong dai(?: vien)?)(?: (?:that|truc|xa|tinh|phu trach|duoc khong|dc ko|"
                         rf"duoc ko|dc khong))*{_ADDRESS}$")),
    ("bye", re.compile(rf"^(?:tam biet|bye|bai bai|bai|goodbye|hen gap lai|thoi nhe|chao nhe|di ngu day){_ADDRESS}$")),
    ("ack", re.compile(rf"^(?:ok+|oke+|okela|okie|okay|uh+|u|uhm+|um+|da+|vang|da vang|vang a|da a|dc|duoc|duoc roi|"
                       rf"hieu roi|biet roi|ro roi|roi|dung roi|chuan|yes|y|uk|uki|oki|de|de roi|the a|vay a|vay ha|"
                       rf"a ha|ah|oh|o|a|hoi cai khac|hoi cau khac|cau khac)(?: (?:ok+|oke|da|vang|roi|hieu|biet))*"
                       rf"{_ADDRESS}$")),
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


# "mình ở Tri Tôn muốn hỏi về OCOP", "cho em tìm hiểu chương trình nông thôn mới": a topic, the question still to come
_TOPIC_ASKED = re.compile(
    rf"^(?:{_PEOPLE} )?(?:o (?:\w+ ){{1,4}}?)?(?:(?:cho|xin) )?(?:{_PEOPLE} )?(?:muon |can |dang can |dang muon )?"
    rf"(?:hoi|tim hieu|biet|xem)(?: (?:them|chut|xiu|thu|qua))? (?:ve |thong tin (?:ve )?|cac thong tin (?:ve )?)?"
    rf"(?:chuong trinh )?(ocop|mot xa mot san pham|nong thon moi|ntm|an giang)"
    rf"(?: (?:a|nhe|nha|ad|voi|di|bot|duoc khong|dc ko|dc khong|duoc ko))*$")
_TOPIC_OF = {"ocop": "ocop", "mot xa mot san pham": "ocop", "nong thon moi": "ntm", "ntm": "ntm", "an giang": "an-giang"}


def topic_asked(text: str) -> str | None:
    """ntm | ocop | an-giang when the message only says which programme the person wants to ask about."""
    m = _TOPIC_ASKED.match(fold(unicodedata.normalize("NFC", text or "")))
    return _TOPIC_OF[m.group(1)] if m else None
