"""Excel 2003 XML ("SpreadsheetML"): what older accounting software and Excel's "XML Spreadsheet 2003" write,
named ``.xml`` or ``.xls``.

``Workbook > Worksheet[@ss:Name] > Table > Row > Cell > Data[@ss:Type]``, positions 1-based in ``ss:Index``:
a Row without it follows the previous row (after its ``ss:Span`` more rows), a Cell without it follows the
previous cell (after the ``ss:MergeAcross`` columns it covers) and skips the columns a ``ss:MergeDown`` of a row
above covers: no cell can sit inside a merged area. Excel writes an explicit ``ss:Index`` after a covered area;
LibreOffice's export leaves it out, and without the skip its header rows under a vertical merge would come back
shifted left. A merged area holds its value at the top-left cell only, as calamine reads merged cells.

A cell's value is its ``Data``: Number → ``float`` (text that is no number stays text), Boolean ``1``/``0``
→ ``bool``, DateTime → ``datetime.datetime``, String and Error → the text (rich text: the text of its
``html:`` runs). A formula is never evaluated: its cached ``Data`` is read, and a formula without one is an
``uncached`` cell. Comments, styles and everything else are ignored. The document goes through expat with
the DTD refusal of :func:`~ingest.read.safety.forbid_dtd`, so no entity is ever expanded and nothing fetched.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re

from ingest.read.exports.text import parse_xml
from ingest.read.grid import GridBuilder, Sheet
from ingest.read.limits import Limits
from ingest.read.safety import Refused

log = logging.getLogger(__name__)

KIND = "spreadsheetml"
SS_NS = "urn:schemas-microsoft-com:office:spreadsheet"
_MAX_DIGITS = 9  # a position or count of more digits is no sheet's: refused rather than computed with
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

# what an element is, decided from its parent's kind (a stack of them follows the document)
_START, _OTHER, _BOOK, _SHEET, _TABLE, _ROW, _CELL, _DATA = range(8)
_INDEX, _SPAN, _MERGE_ACROSS, _MERGE_DOWN, _FORMULA, _TYPE, _NAME = ((f"{SS_NS} {a}", a) for a in (
    "Index", "Span", "MergeAcross", "MergeDown", "Formula", "Type", "Name"))
_WORKSHEET, _TABLE_TAG, _ROW_TAG, _CELL_TAG, _DATA_TAG = (f"{SS_NS} {t}" for t in ("Worksheet", "Table", "Row",
                                                                                    "Cell", "Data"))


def read_spreadsheetml(data: bytes, limits: Limits) -> list[Sheet]:
    """The worksheets of an Excel 2003 XML file, or :class:`~ingest.read.safety.Refused`."""
    reader = _Reader(limits)
    parse_xml(data, reader, KIND)
    sheets = reader.grid.sheets()
    log.debug("spreadsheetml: %d sheets", len(sheets))
    return sheets


def _attr(attrs: dict[str, str], name: tuple[str, str]) -> str | None:
    """An ``ss:`` attribute (``name``: its expat name and its plain name, as some writers leave the prefix out)."""
    value = attrs.get(name[0])
    return attrs.get(name[1]) if value is None else value


def _whole(raw: str, least: int) -> int | None:
    """``raw`` as a whole number of at most 9 digits, not below ``least``; None if it is not one."""
    if not (raw.isascii() and raw.isdigit()):
        raw = raw.strip()
        if not (raw.isascii() and raw.isdigit()):
            return None
    if len(raw) > _MAX_DIGITS:
        return None
    value = int(raw)
    return value if value >= least else None


def _value(kind: str | None, text: str) -> object:
    """The cell value of a ``Data`` element of this ``ss:Type``; text that does not read as its type stays text."""
    if kind == "Number":
        raw = text.strip()
        if _NUMBER.fullmatch(raw):
            number = float(raw)
            if math.isfinite(number):
                return number
    elif kind == "Boolean":
        flag = text.strip().lower()
        if flag in ("1", "true"):
            return True
        if flag in ("0", "false"):
            return False
    elif kind == "DateTime":
        try:
            return dt.datetime.fromisoformat(text.strip()).replace(tzinfo=None)
        except ValueError:
            pass
    return text


class _Reader:
    """expat handlers: the position of each Row and Cell, and each Cell's Data, into a :class:`GridBuilder`.

    LibreOffice writes a Row for each of a sheet's million rows, so the handlers do little per element."""

    def __init__(self, limits: Limits) -> None:
        self.grid = GridBuilder(KIND, limits)
        self.stack = [_START]
        self.sheets = 0
        self.row = -1  # zero-based row of the open Row
        self.next_row = 0  # where a Row without ss:Index goes
        self.col = 0  # where the next Cell without ss:Index goes
        # columns covered by a ss:MergeDown: column → (first covered row, last covered row), only columns within
        # the limits (a cell beyond them is refused anyway), so the skip costs at most max_columns steps
        self.covered: dict[int, tuple[int, int]] = {}
        # the open Cell: its column, whether it has a formula, its Data's type and text, whether it has a Data
        self.cell_col = 0
        self.formula = False
        self.data_type: str | None = None
        self.has_data = False
        self.chunks: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        parent = self.stack[-1]
        kind = _OTHER
        if parent == _ROW:
            if name == _CELL_TAG:
                kind = _CELL
                self._start_cell(attrs)
        elif parent == _TABLE:
            if name == _ROW_TAG:
                kind = _ROW
                self._start_row(attrs)
        elif parent == _DATA:  # rich text: html:Font, html:B … inside the Data
            kind = _DATA
        elif parent == _CELL:
            if name == _DATA_TAG:
                kind = _DATA
                self.has_data = True
                self.data_type = _attr(attrs, _TYPE)
        elif parent == _SHEET:
            if name == _TABLE_TAG:
                kind, self.next_row, self.covered = _TABLE, 0, {}
        elif parent == _BOOK:
            if name == _WORKSHEET:
                kind = _SHEET
                self.sheets += 1
                self.grid.sheet(_attr(attrs, _NAME) or f"Sheet{self.sheets}")
        elif parent == _START:
            ns, _, tag = name.rpartition(" ")
            if ns != SS_NS or tag != "Workbook":
                raise Refused("file-damaged", f"{KIND}: the root element is {tag!r} of {ns or 'no namespace'!r}, "
                                              f"not the Workbook of {SS_NS}")
            kind = _BOOK
        self.stack.append(kind)

    def _start_row(self, attrs: dict[str, str]) -> None:
        raw = attrs.get(_INDEX[0], attrs.get(_INDEX[1])) if attrs else None
        if raw is None:
            self.row = self.next_row
        else:
            index = _whole(raw, 1)
            if index is None:
                raise self._damaged(f"Row ss:Index={raw[:40]!r} is not a row number", raw)
            self.row = index - 1
        self.next_row = self.row + 1
        raw = _attr(attrs, _SPAN) if attrs else None
        if raw is not None:
            span = _whole(raw, 0)
            if span is None:
                raise self._damaged(f"Row ss:Span={raw[:40]!r} in row {self.row + 1} is not a count of rows", raw)
            self.next_row += span
        self.col = 0

    def _start_cell(self, attrs: dict[str, str]) -> None:
        raw = attrs.get(_INDEX[0], attrs.get(_INDEX[1])) if attrs else None
        if raw is None:
            while self.col in self.covered and self.covered[self.col][0] <= self.row <= self.covered[self.col][1]:
                self.col += 1
            self.cell_col = self.col
        else:
            index = _whole(raw, 1)
            if index is None:
                raise self._damaged(f"Cell ss:Index={raw[:40]!r} in row {self.row + 1} is not a column number", raw)
            self.cell_col = index - 1
        self.col = self.cell_col + 1
        self.formula = False
        if len(attrs) > (raw is not None):  # attributes besides ss:Index: a merge, a formula (or a style)
            raw = _attr(attrs, _MERGE_ACROSS)
            if raw is not None:
                across = _whole(raw, 0)
                if across is None:
                    raise self._damaged(f"Cell ss:MergeAcross={raw[:40]!r} in row {self.row + 1} is not a count of "
                                        "columns", raw)
                self.col += across
            raw = _attr(attrs, _MERGE_DOWN)
            if raw is not None:
                down = _whole(raw, 0)
                if down is None:
                    raise self._damaged(f"Cell ss:MergeDown={raw[:40]!r} in row {self.row + 1} is not a count of "
                                        "rows", raw)
                for col in range(self.cell_col, min(self.col, self.grid.limits.max_columns)):
                    self.covered[col] = (self.row + 1, self.row + down)
            self.formula = bool(_attr(attrs, _FORMULA))
        self.data_type, self.has_data = None, False

    def _damaged(self, what: str, raw: str) -> Refused:
        return Refused("file-damaged", f"{KIND}: {what}", sheet=self.grid.current, value=raw[:40])

    def end(self, name: str) -> None:
        if self.stack.pop() != _CELL:
            return
        if self.formula and (not self.has_data or (not self.chunks and self.data_type != "String")):
            # a formula whose result the file does not carry (an empty String is a result: the empty text)
            self.grid.put(self.row, self.cell_col, None, uncached=True)
        elif self.has_data:
            self.grid.put(self.row, self.cell_col, _value(self.data_type, "".join(self.chunks)))
        if self.chunks:
            self.chunks = []

    def text(self, data: str) -> None:
        if self.stack[-1] == _DATA:
            self.chunks.append(data)
