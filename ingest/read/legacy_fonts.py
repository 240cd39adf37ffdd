"""Text typed in the legacy Vietnamese font encodings TCVN3 (ABC) and VNI → proper Unicode (NFC).

Why
---
Before Unicode, Vietnamese offices typed with 8-bit *fonts* rather than 8-bit *encodings*: the file
stores ordinary Windows-1252 / Latin-1 characters and only the font (``.VnTime``, ``.VnArial``… for
TCVN3; ``VNI-Times``… for VNI) draws them as Vietnamese letters. Excel keeps those characters, so
"Báo cáo" typed in TCVN3 reads back as ``"B¸o c¸o"`` and in VNI as ``"Baùo caùo"``. District
templates copied forward for decades still contain such cells; this module finds and decodes them.

* :func:`detect` — ``"tcvn3"``, ``"vni"`` or ``None``. It runs on every string cell, so the common
  cases return at once: pure ASCII, and text that already holds Vietnamese-only Unicode letters
  (ă đ ĩ ũ ơ ư, the precomposed tone letters U+1EA0–U+1EF9) or any combining mark — legacy text is
  always precomposed Latin-1. (â ê ô are *not* a sign of Unicode: both legacy encodings use them.)
  Otherwise it is conservative, because a false positive corrupts good text:

  1. every non-ASCII *letter* must belong to the encoding (for VNI: a tone byte must follow a vowel
     it can combine with), else ``None`` — "Müller", "Café", "à", "São" stop here for VNI;
  2. every word holding legacy characters is decoded alone and must come out as a well-formed
     Vietnamese syllable (initial consonant, a real vowel group, a real final consonant, at most one
     tone mark, sitting on a vowel of the group that can carry it) or
     an all-consonant abbreviation such as "HĐND" (at most one word in ten may fail, for typos); a
     word with a lower-case letter followed by a capital ("TrƯ") fails;
  3. at least one word must be *converted*: not a valid Vietnamese word as it stands but a valid
     syllable once decoded (or an abbreviation with the legacy đ/Đ: "§VT", "LÑVL"), two letters or
     longer. Unicode Vietnamese written only with Latin-1
     letters ("Cô Tô", "Hoàng") is valid as it stands, so it is never converted. A few European
     spellings that decode to a real syllable do not count as evidence: VNI ``où oû aï aú eú aé aè
     aë`` (French/Spanish "où", "goût", "Thaï", "aún"; not ``oï``, which is VNI "ọ" in "học", so the
     French name "Loïc" alone is read as VNI "Lọc"), TCVN3 ``ß`` after a vowel (German
     "Maß") and a word starting with ``µ`` (the micro sign in "5 µm");
  4. if both encodings qualify the one with more converted words wins; a tie is ``None``.

  Known limit: a cell whose only legacy word is also a valid Unicode word ("Sè", TCVN3 for "Số")
  cannot be told apart from Unicode and is left alone, and so is a lone word that reads well in both
  encodings ("Tæng": TCVN3 "Tổng", VNI "Tỉng"); a caller that knows the whole sheet is legacy
  can call :func:`decode` itself.
* :func:`decode` / :func:`encode` — the tables below, both directions; :func:`to_unicode` = detect +
  decode, or the text unchanged.

TCVN3 and capital letters
-------------------------
TCVN3 is VN3 of TCVN 5712:1993 (VSCII-3): 67 lower-case letters, the 7 capitals without a tone mark
(Ă Â Ê Ô Ơ Ư Đ at 0xA1–0xA7) and nothing else. A capital *with* a tone is typed as the lower-case
code and shown as a capital by switching to the companion capital font (``.VnTimeH``); the font is
not in the cell text. So :func:`encode` writes capitals with tones on the lower-case code (as Unikey
does), and :func:`decode` restores the case from the word: a word whose case-unambiguous letters
(ASCII and 0xA1–0xAE) are all capitals, at least two of them or one that is not the first letter,
is upper case ("PHßNG" → "PHÒNG", "ÓU" → "ỂU");
any lower-case one makes it lower case ("HuyÖn" → "Huyện"); a word with fewer clues ("Vµ", "§é")
follows the nearest decided words on both sides when they agree on upper case ("... BINH Vµ X· HéI"
→ "... BINH VÀ XÃ HỘI"), else stays as decoded ("Đó"). The upper-case toned codes of VN1/VN2
(0x80–0x9F, C0 controls, 0xC0–0xC5…) are *not* decoded: Unikey never writes them, and in Excel
those bytes are indistinguishable from ordinary Windows-1252 text (a string containing e.g. "Á" is
therefore not detected as TCVN3).

VNI
---
VNI Windows writes a base letter followed by a mark byte: tone (ù ø û õ ï = sắc huyền hỏi ngã nặng),
circumflex + tone (â á à å ã ä, after a e o), breve + tone (ê é è ú ü ë, after a); standalone bytes
for ơ (ô), ư (ö), đ (ñ), the toned i (í ì æ ó ò) and ỵ (î). Capitals use the capital base letter and
each byte minus 0x20 ("AÙ" = Á). :func:`decode` also accepts a mark byte of the other case and takes
the case from the base letter.

Sources (tables typed by us as data, cross-checked; no code copied)
-------------------------------------------------------------------
* TCVN3: Unikey's table ``ukengine/tables/singlebyte/tcvn3.cpp`` (github.com/hoangduytran/ibus-unikey),
  GNU libiconv ``lib/tcvn.h`` (TCVN 5712 VN1, github.com/koron/libiconv; its 0xA0–0xFE lower-case and
  0xA1–0xA7 capitals are VN3), xvnkb ``tcvn.h`` (github.com/lamdao/xvnkb), the ``TCVN3`` list of
  github.com/duydev/vietnamese-conversion ``src/charsets.ts`` — all four agree on every lower-case
  letter and on Ă Â Ê Ô Ơ Ư Đ; the VN3 definition (67 lower-case + 7 capitals, capitals with tones
  by font switching) is from the Wikipedia article "VSCII".
* VNI: Unikey ``ukengine/tables/doublebytes/vni_win.cpp``, xvnkb ``vni.h``, duydev ``VNI`` list —
  all three agree on all 134 letters.
* Disagreements found: duydev encodes TCVN3 capitals with tones as capital base + lower-case toned
  code ("À" → "Aµ", which a .VnTime font shows as "Aà"); we follow Unikey/VN3 (shared lower-case
  code). The JavaScript table in github.com/Ductrung03/DuBaoMatRung (``convertTcvn3ToUnicode``) has
  á/à swapped and maps 0xD0 to "đ" — its own examples ("B¸t X¸t" → "Bát Xát") contradict it.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from functools import lru_cache
from itertools import pairwise
from typing import Final, Literal

logger = logging.getLogger(__name__)

Encoding = Literal["tcvn3", "vni"]
ENCODINGS: Final[tuple[Encoding, ...]] = ("tcvn3", "vni")

# --- tables (data) ----------------------------------------------------------------------------
# Every vowel row lists: no tone, sắc (acute), huyền (grave), hỏi (hook), ngã (tilde), nặng (dot).
_UNICODE_ROWS: Final[dict[str, str]] = {
    "a": "aáàảãạ",
    "ă": "ăắằẳẵặ",
    "â": "âấầẩẫậ",
    "e": "eéèẻẽẹ",
    "ê": "êếềểễệ",
    "i": "iíìỉĩị",
    "o": "oóòỏõọ",
    "ô": "ôốồổỗộ",
    "ơ": "ơớờởỡợ",
    "u": "uúùủũụ",
    "ư": "ưứừửữự",
    "y": "yýỳỷỹỵ",
}

# TCVN3 (VN3) code of each lower-case letter in the same order (Unikey tcvn3.cpp, libiconv tcvn.h).
_TCVN3_ROWS: Final[dict[str, tuple[int, ...]]] = {
    "a": (0x61, 0xB8, 0xB5, 0xB6, 0xB7, 0xB9),
    "ă": (0xA8, 0xBE, 0xBB, 0xBC, 0xBD, 0xC6),
    "â": (0xA9, 0xCA, 0xC7, 0xC8, 0xC9, 0xCB),
    "e": (0x65, 0xD0, 0xCC, 0xCE, 0xCF, 0xD1),
    "ê": (0xAA, 0xD5, 0xD2, 0xD3, 0xD4, 0xD6),
    "i": (0x69, 0xDD, 0xD7, 0xD8, 0xDC, 0xDE),
    "o": (0x6F, 0xE3, 0xDF, 0xE1, 0xE2, 0xE4),
    "ô": (0xAB, 0xE8, 0xE5, 0xE6, 0xE7, 0xE9),
    "ơ": (0xAC, 0xED, 0xEA, 0xEB, 0xEC, 0xEE),
    "u": (0x75, 0xF3, 0xEF, 0xF1, 0xF2, 0xF4),
    "ư": (0xAD, 0xF8, 0xF5, 0xF6, 0xF7, 0xF9),
    "y": (0x79, 0xFD, 0xFA, 0xFB, 0xFC, 0xFE),
}
_TCVN3_D: Final = (0xAE, 0xA7)  # đ, Đ
# The only capitals VN3 has: Ă Â Ê Ô Ơ Ư Đ.
_TCVN3_CAPITALS: Final[dict[str, int]] = {
    "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7,
}

# VNI Windows: lower-case spelling of each letter (Unikey vni_win.cpp, xvnkb vni.h). Capitals: the
# base letter in capitals and every byte >= 0xE0 minus 0x20.
_VNI_TONE = ("", "\u00f9", "\u00f8", "\u00fb", "\u00f5", "\u00ef")  # ù ø û õ ï
_VNI_CIRCUMFLEX = ("\u00e2", "\u00e1", "\u00e0", "\u00e5", "\u00e3", "\u00e4")  # â á à å ã ä
_VNI_BREVE = ("\u00ea", "\u00e9", "\u00e8", "\u00fa", "\u00fc", "\u00eb")  # ê é è ú ü ë
_VNI_ROWS: Final[dict[str, tuple[str, ...]]] = {
    "a": tuple("a" + t for t in _VNI_TONE),
    "ă": tuple("a" + t for t in _VNI_BREVE),
    "â": tuple("a" + t for t in _VNI_CIRCUMFLEX),
    "e": tuple("e" + t for t in _VNI_TONE),
    "ê": tuple("e" + t for t in _VNI_CIRCUMFLEX),
    "i": ("i", "\u00ed", "\u00ec", "\u00e6", "\u00f3", "\u00f2"),  # í ì æ ó ò
    "o": tuple("o" + t for t in _VNI_TONE),
    "ô": tuple("o" + t for t in _VNI_CIRCUMFLEX),
    "ơ": tuple("\u00f4" + t for t in _VNI_TONE),  # ô = ơ
    "u": tuple("u" + t for t in _VNI_TONE),
    "ư": tuple("\u00f6" + t for t in _VNI_TONE),  # ö = ư
    "y": ("y", "y\u00f9", "y\u00f8", "y\u00fb", "y\u00f5", "\u00ee"),  # î = ỵ
}
_VNI_D: Final = "\u00f1"  # ñ = đ


def _vni_upper(spelling: str) -> str:
    return "".join(c.upper() if c.isascii() else chr(ord(c) - 0x20) for c in spelling)


def _build_tables() -> tuple[dict[int, str], dict[int, str], frozenset[str], dict[str, str], dict[int, str]]:
    tcvn3_decode: dict[int, str] = {}
    tcvn3_encode: dict[int, str] = {}
    vni_decode: dict[str, str] = {}
    vni_encode: dict[int, str] = {}
    for base, letters in _UNICODE_ROWS.items():
        for letter, code, vni in zip(letters, _TCVN3_ROWS[base], _VNI_ROWS[base], strict=True):
            capital = letter.upper()
            if code >= 0x80:
                tcvn3_decode[code] = letter
                tcvn3_encode[ord(letter)] = chr(code)
                tcvn3_encode[ord(capital)] = chr(_TCVN3_CAPITALS.get(capital, code))
            vni_encode[ord(letter)] = vni
            vni_encode[ord(capital)] = _vni_upper(vni)
    tcvn3_decode[_TCVN3_D[0]] = "đ"
    tcvn3_encode[ord("đ")], tcvn3_encode[ord("Đ")] = chr(_TCVN3_D[0]), chr(_TCVN3_D[1])
    for capital, code in _TCVN3_CAPITALS.items():
        tcvn3_decode[code] = capital
    vni_encode[ord("đ")], vni_encode[ord("Đ")] = _VNI_D, _vni_upper(_VNI_D)
    # Plain ASCII letters map to themselves; only spellings with a legacy byte are decoded.
    for codepoint, spelling in vni_encode.items():
        if spelling.isascii():
            continue
        vni_decode[spelling] = chr(codepoint)
        if len(spelling) == 2 and not spelling[1].isascii():  # the mark byte in the other case
            mark = spelling[1]
            other = chr(ord(mark) + 0x20) if mark.isupper() else chr(ord(mark) - 0x20)
            vni_decode.setdefault(spelling[0] + other, chr(codepoint))
    ambiguous = frozenset(chr(c) for c, u in tcvn3_decode.items() if u.islower() and c not in range(0xA8, 0xAF))
    return tcvn3_decode, tcvn3_encode, ambiguous, vni_decode, vni_encode


_TCVN3_DECODE, _TCVN3_ENCODE, _TCVN3_AMBIGUOUS, _VNI_DECODE, _VNI_ENCODE = _build_tables()
_TCVN3_CHARS: Final = "".join(sorted(chr(c) for c in _TCVN3_DECODE))
_TCVN3_UPPER: Final = frozenset(chr(c) for c in range(0xA1, 0xA8))  # Ă Â Ê Ô Ơ Ư Đ
_TCVN3_LOWER: Final = frozenset(chr(c) for c in range(0xA8, 0xAF))  # ă â ê ô ơ ư đ


def _vni_token_pattern() -> re.Pattern[str]:
    followers: dict[str, set[str]] = {}
    singles: set[str] = set()
    for spelling in _VNI_DECODE:
        if len(spelling) == 2:
            followers.setdefault(spelling[0], set()).add(spelling[1])
        else:
            singles.add(spelling)
    pairs = "|".join(
        f"{re.escape(base)}[{''.join(sorted(marks))}]" for base, marks in sorted(followers.items())
    )
    return re.compile(f"{pairs}|[{''.join(sorted(singles))}]")


_VNI_TOKEN: Final = _vni_token_pattern()
_VNI_CHARS: Final = "".join(sorted({c for s in _VNI_DECODE for c in s if not c.isascii()}))

# --- detection --------------------------------------------------------------------------------
# Vietnamese-only Unicode letters, and any combining mark: such text is Unicode already.
_UNICODE_VIETNAMESE: Final = re.compile("[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1"
                                        "\u01af\u01b0\u0300-\u036f\u1ea0-\u1ef9]")
_LEGACY_CANDIDATE: Final = re.compile("[\u00a1-\u00fe]")  # every legacy code is in here
_FOREIGN_LETTER: Final = re.compile(r"[^\W\d_A-Za-z]")
_TCVN3_FOREIGN: Final = re.compile(rf"[^\W\d_A-Za-z{re.escape(_TCVN3_CHARS)}]")
_TCVN3_WORD: Final = re.compile(rf"[A-Za-z{re.escape(_TCVN3_CHARS)}]+")
_VNI_WORD: Final = re.compile(rf"[A-Za-z{re.escape(_VNI_CHARS)}]+")
# European spellings that decode to a real syllable but prove nothing (see the module docstring).
_VNI_WEAK: Final = frozenset({"où", "oû", "aï", "aú", "eú", "aé", "aè", "aë"})
# đ/Đ in an abbreviation ("§VT", "LÑVL" for ĐVT, LĐVL) is evidence too: no European word looks so.
_LEGACY_D: Final[dict[Encoding, frozenset[str]]] = {
    "tcvn3": frozenset(chr(c) for c in _TCVN3_D),
    "vni": frozenset((_VNI_D, _vni_upper(_VNI_D))),
}
_TCVN3_WEAK: Final = re.compile("^\u00b5|[aeiouyäöü]\u00df", re.IGNORECASE)  # µm; Maß, groß

# A Vietnamese syllable: initial consonant, vowel group, final consonant. In the groups "*" marks where
# the tone mark may sit (old and new placement both allowed: "hoà"/"hòa", "thuý"/"thúy").
_INITIAL = "(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?"
_OPEN_ONLY = ["a*i", "a*o", "a*u", "a*y", "â*u", "â*y", "e*o", "ê*u", "i*a", "i*u", "o*i", "ô*i", "ơ*i", "u*i",
              "ư*i", "ư*u", "u*a", "ư*a", "uô*i", "ươ*i", "ươ*u", "iê*u", "yê*u", "oa*i", "oa*y", "oa*o", "oe*o",
              "uâ*y", "uy*u", "uy*a", "y*"]
_NEED_FINAL = ["ă*", "â*", "iê*", "yê*", "uô*", "ươ*", "uyê*", "oă*", "uâ*", "o*o*"]
_EITHER = ["a*", "e*", "ê*", "i*", "o*", "ô*", "ơ*", "u*", "ư*", "o*a*", "uê*", "u*y*", "uơ*"]
_FINAL = "(?:ng|nh|ch|[cmnpt])"
_OE = "o\\*?e\\*?[nt]?"  # loe, xoèn, khoét


def _alternation(groups: list[str]) -> str:
    return "|".join(g.replace("*", r"\*?") for g in sorted(groups, key=len, reverse=True))


_SYLLABLE: Final = re.compile(
    f"{_INITIAL}(?:(?:{_alternation(_OPEN_ONLY)})|(?:{_alternation(_NEED_FINAL)}){_FINAL}"
    f"|(?:{_alternation(_EITHER)}){_FINAL}?|{_OE})"
)
_ABBREVIATION: Final = re.compile("[bcdđfghjklmnpqrstvwxz]+")  # HĐND, LĐ-TB&XH
# toned lower-case letter → its letter without the tone, then "*": "ệ" → "ê*"
_MARK_TONE: Final = {ord(c): row[0] + "*" for row in _UNICODE_ROWS.values() for c in row[1:]}


def _word_kind(word: str) -> str | None:
    """``"syllable"``, ``"abbreviation"`` or None (not Vietnamese) for one word, any case."""
    base = word.lower().translate(_MARK_TONE)
    if base.count("*") > 1:
        return None
    if _SYLLABLE.fullmatch(base):
        return "syllable"
    if _ABBREVIATION.fullmatch(base):
        return "abbreviation"
    return None


def _mixed_case(word: str) -> bool:
    """A lower-case letter followed by a capital inside one word ("TrƯ"): no Vietnamese word looks so."""
    return any(a.islower() and b.isupper() for a, b in pairwise(word))


def _converted_words(text: str, encoding: Encoding) -> int | None:
    """How many words only make sense decoded with ``encoding``; None when the text cannot be it."""
    if encoding == "tcvn3":
        if _TCVN3_FOREIGN.search(text):
            return None
        words = _TCVN3_WORD.findall(text)
    else:
        if _FOREIGN_LETTER.search(_VNI_TOKEN.sub("", text)):
            return None
        words = _VNI_WORD.findall(text)
    checked = invalid = converted = 0
    for word in words:
        if word.isascii():
            continue
        checked += 1
        verdict = _word_verdict(word, encoding)
        invalid += verdict is None
        converted += verdict is True
    if converted == 0 or invalid > checked // 10:
        return None
    return converted


@lru_cache(maxsize=8192)  # the same words recur in every sheet
def _word_verdict(word: str, encoding: Encoding) -> bool | None:
    """None: not Vietnamese once decoded; True: only makes sense decoded; False: fine either way."""
    decoded = _decode_tcvn3(word) if encoding == "tcvn3" else _decode_vni(word)
    kind = None if _mixed_case(decoded) else _word_kind(decoded)
    if kind is None:
        return None
    if len(word) < 2 or _word_kind(word) is not None:
        return False
    if kind == "abbreviation":
        return not _LEGACY_D[encoding].isdisjoint(word)
    return not _weak(word, encoding)


def _weak(word: str, encoding: Encoding) -> bool:
    if encoding == "tcvn3":
        return _TCVN3_WEAK.search(word) is not None
    return all(token.lower() in _VNI_WEAK for token in _VNI_TOKEN.findall(word))


def detect(text: str) -> Encoding | None:
    """The legacy encoding ``text`` was typed in (``"tcvn3"`` / ``"vni"``), or None (also for Unicode)."""
    if text.isascii() or _UNICODE_VIETNAMESE.search(text) or not _LEGACY_CANDIDATE.search(text):
        return None
    tcvn3 = _converted_words(text, "tcvn3")
    vni = _converted_words(text, "vni")
    if tcvn3 is None and vni is None:
        return None
    if vni is None or (tcvn3 is not None and tcvn3 > vni):
        return "tcvn3"
    if tcvn3 is None or vni > tcvn3:
        return "vni"
    logger.debug("legacy text %r reads as TCVN3 and as VNI equally well; left alone", text)
    return None


# --- decoding / encoding ----------------------------------------------------------------------
def _decode_tcvn3(text: str) -> str:
    decoded = text.translate(_TCVN3_DECODE)
    if _TCVN3_AMBIGUOUS.isdisjoint(text):
        return decoded
    words = list(_TCVN3_WORD.finditer(text))
    # Case of each word from its unambiguous letters: "upper", "lower" or None (undecided). A capital
    # that is not the first letter makes the word upper case on its own ("HéI").
    states: list[str | None] = []
    for match in words:
        upper = lower = 0
        inner_capital = False
        for k, c in enumerate(match.group()):
            if c in _TCVN3_UPPER or "A" <= c <= "Z":
                upper += 1
                inner_capital = inner_capital or k > 0
            elif c in _TCVN3_LOWER or "a" <= c <= "z":
                lower += 1
        states.append("lower" if lower else "upper" if upper >= 2 or inner_capital else None)
    previous: list[str | None] = []
    last: str | None = None
    for state in states:
        previous.append(last)
        last = state or last
    chars = list(decoded)
    following: str | None = None
    for i in range(len(words) - 1, -1, -1):
        state = states[i]
        if state is None:
            neighbours = [s for s in (previous[i], following) if s]
            state = "upper" if neighbours and all(s == "upper" for s in neighbours) else None
        else:
            following = state
        if state == "upper":
            for k in range(words[i].start(), words[i].end()):
                if text[k] in _TCVN3_AMBIGUOUS:
                    chars[k] = chars[k].upper()
    return "".join(chars)


def _decode_vni(text: str) -> str:
    return _VNI_TOKEN.sub(lambda m: _VNI_DECODE[m.group()], text)


def decode(text: str, encoding: Encoding) -> str:
    """Decode ``text`` typed in ``encoding`` to Unicode NFC, whether or not :func:`detect` agrees.

    Characters outside the encoding's table are kept as they are.
    """
    if encoding == "tcvn3":
        result = _decode_tcvn3(text)
    elif encoding == "vni":
        result = _decode_vni(text)
    else:
        raise ValueError(f"unknown legacy encoding {encoding!r}; expected one of {ENCODINGS}")
    return unicodedata.normalize("NFC", result)


def encode(text: str, encoding: Encoding) -> str:
    """Unicode → the characters a legacy font would have stored (for tests and sample files).

    TCVN3 writes a capital with a tone as its lower-case code (VN3 has no such capitals; see the
    module docstring). Characters that are not Vietnamese letters are kept as they are.
    """
    if encoding == "tcvn3":
        table = _TCVN3_ENCODE
    elif encoding == "vni":
        table = _VNI_ENCODE
    else:
        raise ValueError(f"unknown legacy encoding {encoding!r}; expected one of {ENCODINGS}")
    return unicodedata.normalize("NFC", text).translate(table)


@functools.lru_cache(maxsize=1 << 16)
def to_unicode(text: str) -> str:
    """``text`` decoded if :func:`detect` finds a legacy encoding, else ``text`` itself (cached: every file
    of a batch repeats the form's labels)."""
    encoding = detect(text)
    if encoding is None:
        return text
    result = decode(text, encoding)
    logger.debug("decoded %s text %r → %r", encoding, text, result)
    return result
