"""Text folding, so that labels typed by hand compare equal to the catalogue's.

Labels are compared after Unicode NFC normalisation, case folding and collapsing every run of
white space (including no-break and zero-width spaces) to one space.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SPACE = re.compile(r"[\s\u00a0\u200b\u2007\u202f\ufeff]+")
# Old and new tone placement on the same word ("luỹ" / "lũy"): the mark moves from y to u, except
# after "q", where "qu" is one consonant and the mark always sits on y ("quý").
_TONE_ON_Y = re.compile(r"(?<!q)u([ỹýỳỷỵ])")
_TONE_MOVE = {"ỹ": "ũy", "ý": "úy", "ỳ": "ùy", "ỷ": "ủy", "ỵ": "ụy"}


def fold(text: object) -> str:
    """``"  Mã  SỐ\\u00a0"`` → ``"mã số"``: NFC, lower case, single spaces, trimmed."""
    if text is None:
        return ""
    return _fold(text if isinstance(text, str) else str(text))


@functools.lru_cache(maxsize=1 << 16)
def _fold(text: str) -> str:
    # cached: the parser folds the same labels, headings and codes in every file of a batch
    s = unicodedata.normalize("NFC", text)
    s = _SPACE.sub(" ", s).strip().casefold()
    s = _TONE_ON_Y.sub(lambda m: _TONE_MOVE[m.group(1)], s)
    return unicodedata.normalize("NFC", s)  # a stray combining mark may now compose with the bare "y"


@functools.lru_cache(maxsize=1024)
def column_letter(index: int) -> str:
    """0 → ``A``, 25 → ``Z``, 26 → ``AA``."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@functools.lru_cache(maxsize=1 << 16)
def cell_address(row: int, col: int) -> str:
    """Zero-based (row, col) → A1 address: (13, 6) → ``G14``."""
    return f"{column_letter(col)}{row + 1}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
EXCERPT_CHARS = 80  # what a message echoes of anything taken from a file: a cell's text, a sheet's name


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable fragment of text taken from a file, for a message a person reads: control and
    direction-changing characters become spaces, runs of spaces one, and beyond ``limit`` characters it is cut
    with "…" (the whole value stays in its own column)."""
    clean = " ".join(_CONTROL.sub(" ", text).split())
    return clean if len(clean) <= limit else clean[:limit - 1].rstrip() + "…"
