"""Is a folded word (no diacritics) a possible Vietnamese syllable?

Spelling correction must not "correct" a real word the knowledge base has never seen ("chạy", "sát", "ruộng")
into one it has ("châu", "sao", "đường"). A Vietnamese syllable is an initial consonant (or none) and a rhyme
from a closed set; a typo usually breaks that shape ("thog", "tieu chii", "sna"), a real word keeps it.
"""
from __future__ import annotations

from functools import lru_cache

# Initial consonants, longest first so that "ngh" is tried before "ng" and "n".
ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
          "b", "c", "d", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
# Rhymes after folding (ă/â -> a, ê -> e, ô/ơ -> o, ư -> u, no tone marks).
RHYMES = frozenset("""
a ac ach ai am an ang anh ao ap at au ay
e ec ech em en eng enh eo ep et eu
i ia ich iec iem ien ieng iep iet ieu im in inh ip it iu
o oa oac oach oai oam oan oang oanh oao oap oat oay oc oe oem oen oeo oep oet oi om on ong oo ooc oong op ot
u ua uac uach uai uan uang uanh uat uay uc ue uech uen uenh uet ui um un ung uo uoc uoi uom uon uong uop uot
uou up ut uu uy uya uyen uyet uynh uyp uyt uych
y yen yet yeu
""".split())


@lru_cache(maxsize=16384)
def is_syllable(word: str) -> bool:
    if not word.isalpha() or len(word) > 7:
        return False
    for onset in ONSETS:
        if word.startswith(onset):
            rhyme = word[len(onset):]
            if rhyme in RHYMES:
                return True
            if onset == "gi" and ("i" + rhyme) in RHYMES:  # "gì", "giếng": the i belongs to both
                return True
            if onset == "qu" and rhyme == "":
                return False
    return False
