"""What a file's name says it is: a form and a period, as district officers name their files.

Only the reporting calendar listens to it, and only for a file that could not be read: the unit sent *something*
for that report (``received, could not be read`` rather than ``missing``). A file name never identifies a
submission and never places a number (districts name files anything: ``bieu01_T6.xlsx``, ``BC LDVL thang 6``,
``Báo cáo quý II năm 2024``, ``01_LĐVL_T06_2024``); the sheet does that.

The forms are told by their number after ``Biểu``/``bieu`` (``bieu01``, ``Biểu 03``), by a leading number
(``01_…``), or by the letters of their code (``LĐVL``, ``BTXH``: ``01/LĐVL-H`` without number and level); the
period by ``tháng 6``/``thang 6``/``T6``/``T06`` for a monthly form, ``quý II``/``quy 2``/``Q2`` for a quarterly
one; the year by four digits, else the latest such period that had begun when the file arrived.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from ingest.catalogue import ROMAN_QUARTERS, Catalogue, Form

_ROMAN = {v.lower(): k for k, v in ROMAN_QUARTERS.items()}
_MONTH = re.compile(r"(?:thang|(?<![a-z])t)[\s._-]*(\d{1,2})(?!\d)")
_QUARTER = re.compile(r"(?:quy|(?<![a-z])q)[\s._-]*(iv|iii|ii|i|[1-4])(?![a-z0-9])")
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def _plain(text: str) -> str:
    """``Báo cáo Quý II`` → ``bao cao quy ii``: lower case ASCII, what a name is compared as."""
    text = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def _forms_named(name: str, catalogue: Catalogue) -> list[Form]:
    out = []
    for form in catalogue.forms:
        number, _, rest = form.code.partition("/")
        letters = _plain(rest.split("-", 1)[0])
        n = str(int(number)) if number.isdigit() else _plain(number)
        by_number = re.search(rf"(?:bieu|bm)[\s._-]*0*{n}(?!\d)", name) or re.match(rf"0*{n}[\s._-]", name)
        by_letters = (re.search(rf"(?<![a-z])(?:bc|bm|bieu)?{re.escape(letters)}(?![a-z])", name)
                      if letters else None)
        if by_number or by_letters:
            out.append(form)
    return out


def report_named(file_name: str, received_at: dt.datetime, catalogue: Catalogue) -> tuple[Form | None, dt.date | None]:
    """The form and the first day of the period a file's name speaks of; ``None`` for what it does not say (or
    says ambiguously: two forms)."""
    name = _plain(file_name.rsplit("/", 1)[-1])
    forms = _forms_named(name, catalogue)
    if len(forms) != 1:
        return None, None
    form = forms[0]
    if form.frequency == "monthly":
        m = _MONTH.search(name)
        month = int(m.group(1)) if m and 1 <= int(m.group(1)) <= 12 else None
    else:
        q = _QUARTER.search(name)
        quarter = (_ROMAN.get(q.group(1)) or int(q.group(1))) if q else None
        month = None if quarter is None else 3 * (quarter - 1) + 1
    if month is None:
        return form, None
    year_match = _YEAR.search(name)
    if year_match:
        return form, dt.date(int(year_match.group(1)), month, 1)
    received = catalogue.local_date(received_at)
    # the latest such period that had begun when the file arrived (a report is sent after, or at the end of, it)
    year = received.year if dt.date(received.year, month, 1) <= received else received.year - 1
    return form, dt.date(year, month, 1)
