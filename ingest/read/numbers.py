"""Reading a number out of a cell the way a Vietnamese office types it.

Rules (see ``docs/ingest.md``):

- a numeric cell is taken as it is;
- text uses ``.`` to group thousands and ``,`` for decimals: ``1.234`` = 1234, ``12,5`` = 12.5,
  ``1.234,5`` = 1234.5; a lone ``.`` followed by other than exactly three digits (``3.5``) is a decimal point;
- ``-`` (or a dash of any kind) means "none", read as 0 but remembered as a dash; an empty cell is blank (None);
- words in front (``khoảng``, ``trên``, ``hơn``, ``gần``, ``ước``) become a qualifier on the value;
- spaces may group thousands (``1 234 567``) and nothing else (``12 34`` is a problem);
- ``1,234`` (a comma then exactly three digits, no dot) is 1.234 by Vietnamese rules and 1234 by English
  ones: not guessed, a problem on that cell (``1.234`` and ``1,5`` are unambiguous);
- anything else (``1.234,5.6``, ``12/15``, ``n/a``) is not guessed: it is a problem on that cell.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from ingest.text import fold

QUALIFIERS = {
    "khoảng": "about",
    "khoang": "about",
    "trên": "over",
    "hơn": "over",
    "gần": "nearly",
    "ước": "estimate",
    "ước tính": "estimate",
    "ước đạt": "estimate",
}
_DASHES = {"-", "–", "—", "−", "--", "---"}
_QUALIFIER_RE = re.compile(
    r"^(" + "|".join(sorted((re.escape(q) for q in QUALIFIERS), key=len, reverse=True)) + r")\s*")
_GROUPED = re.compile(r"^\d{1,3}(\.\d{3})+$")  # 1.234 / 12.345.678
_GROUPED_DEC = re.compile(r"^\d{1,3}(\.\d{3})*,\d+$")  # 1.234,5 / 12,5
_PLAIN = re.compile(r"^\d+$")
_AMBIGUOUS_COMMA = re.compile(r"^\d{1,3},\d{3}$")
_DECIMAL_COMMA = re.compile(r"^\d+,\d+$")
_SPACE_GROUPED = re.compile(r"^\d{1,3}( \d{3})+(,\d+)?$")
_DOT_DEC = re.compile(r"^\d+\.\d+$")  # 3.5 — decimal point (not three digits after it)
_COMMA_GROUPED = re.compile(r"^\d{1,3}(,\d{3}){2,}$")  # 1,234,567 (English grouping, unambiguous with 2+ groups)


class NotANumber(ValueError):
    """The cell holds text that is not a number we can read without guessing."""


@dataclass(frozen=True)
class CellNumber:
    """What a cell says: its value (None when blank), and how it was written."""

    value: float | None
    text: str | None = None  # the cell as typed, when it was text
    qualifier: str | None = None
    is_dash: bool = False


BLANK = CellNumber(None)


def parse_number(cell: object) -> CellNumber:
    """Read one cell. Raises :class:`NotANumber` for text that is not a readable number."""
    if cell is None:
        return BLANK
    if isinstance(cell, bool):
        raise NotANumber(str(cell))
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and (math.isnan(cell) or math.isinf(cell)):
            raise NotANumber(str(cell))
        return CellNumber(float(cell))
    if isinstance(cell, (dt.date, dt.time, dt.timedelta)):
        raise NotANumber(str(cell))
    raw = str(cell)
    text = fold(raw)
    if text == "":
        return BLANK
    if text in _DASHES:
        return CellNumber(0.0, text=raw, is_dash=True)
    qualifier = None
    m = _QUALIFIER_RE.match(text)
    if m:
        qualifier = QUALIFIERS[m.group(1)]
        text = text[m.end():]
    negative = False
    if text[:1] in ("-", "−") and len(text) > 1:
        negative, text = True, text[1:].lstrip()
    if " " in text:  # "1 234 567": spaces may group thousands, nothing else ("12 34" is not a number)
        if not _SPACE_GROUPED.match(text):
            raise NotANumber(raw)
        text = text.replace(" ", "")
    value = _read_digits(text)
    if value is None:
        raise NotANumber(raw)
    return CellNumber(-value if negative else value, text=raw, qualifier=qualifier)


def _read_digits(text: str) -> float | None:
    if _AMBIGUOUS_COMMA.match(text):  # "1,234": 1.234 by Vietnamese rules, 1234 by English ones — not guessed
        return None
    if _PLAIN.match(text):
        return float(text)
    if _GROUPED.match(text):
        return float(text.replace(".", ""))
    if _GROUPED_DEC.match(text):
        return float(text.replace(".", "").replace(",", "."))
    if _DOT_DEC.match(text):
        return float(text)
    if _COMMA_GROUPED.match(text):
        return float(text.replace(",", ""))
    if _DECIMAL_COMMA.match(text):  # 1234,5 (no grouping)
        return float(text.replace(",", "."))
    return None


def format_vi(value: float, decimals: int = 0) -> str:
    """1234.5 → ``1.234,5``: the inverse of :func:`parse_number` for plain values."""
    s = f"{abs(value):,.{decimals}f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return ("-" if value < 0 else "") + s
