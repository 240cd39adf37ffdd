"""Flat OpenDocument spreadsheet (``.fods``): the whole workbook as one XML document, as LibreOffice saves
"Flat XML ODF Spreadsheet".

The root ``office:document`` (``office:mimetype`` the spreadsheet one) holds ``office:body/office:spreadsheet``,
each ``table:table`` a sheet. Rows are ``table:table-row`` anywhere in the table (also in header rows, row
groups and ``table:table-rows``), cells ``table:table-cell``; ``table:number-rows-repeated`` and
``table:number-columns-repeated`` repeat them. LibreOffice repeats the empty cells and rows of the whole grid
(16,384 columns × 1,048,576 rows): an empty repeat only moves the position on, and a repeated cell that holds
something is checked at its farthest repeat before one is built. ``table:covered-table-cell`` (under a merge)
is empty, as calamine reads merged cells.

A cell's value: ``float``/``percentage``/``currency`` → ``float`` of ``office:value``; ``boolean`` → ``bool``;
``date`` → ``datetime.datetime`` (a date alone at midnight); ``time`` → its text; ``string`` →
``office:string-value``, else the text of its paragraphs joined by line breaks (``text:s`` spaces, ``text:tab``,
``text:line-break``). A formula is never evaluated: its cached value is read, and a formula without
``office:value-type`` is an ``uncached`` cell. Comments (``office:annotation``), drawings and charts anchored
in a cell (their own ``office:document`` with a ``table:table``), styles, settings and embedded pictures are
skipped. The document goes through expat with the DTD refusal of :func:`~ingest.read.safety.forbid_dtd`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re

from ingest.read.exports.text import parse_xml
from ingest.read.grid import GridBuilder, Sheet
from ingest.read.limits import EXCEL_CELL_CHARS, Limits
from ingest.read.safety import Refused
from ingest.text import cell_address

log = logging.getLogger(__name__)

KIND = "fods"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
MIMETYPES = (MIMETYPE, f"{MIMETYPE}-template")
_MAX_DIGITS = 9  # a repeat count of more digits is no sheet's: refused rather than computed with
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_FLOAT_TYPES = ("float", "percentage", "currency")

# what an element is, decided from its parent's kind (a stack of them follows the document)
_START, _SKIP, _DOC, _BODY, _BOOK, _TABLE, _ROWS, _ROW, _CELL, _COVERED, _INNER, _PARA, _SPAN = range(13)
_ROW_GROUPS = {f"{TABLE_NS} {t}" for t in ("table-header-rows", "table-row-group", "table-rows")}
_T_TABLE, _T_ROW, _T_CELL, _T_COVERED = (f"{TABLE_NS} {t}" for t in ("table", "table-row", "table-cell",
                                                                     "covered-table-cell"))
_P, _H, _S, _TAB, _BREAK, _NOTE = (f"{TEXT_NS} {t}" for t in ("p", "h", "s", "tab", "line-break", "note"))
_ROWS_REPEATED, _COLUMNS_REPEATED, _NAME, _FORMULA = (f"{TABLE_NS} {a}" for a in (
    "number-rows-repeated", "number-columns-repeated", "name", "formula"))
_VALUE_TYPE, _VALUE, _DATE, _BOOLEAN, _STRING, _TIME, _MIMETYPE = (f"{OFFICE_NS} {a}" for a in (
    "value-type", "value", "date-value", "boolean-value", "string-value", "time-value", "mimetype"))
_SPACES = f"{TEXT_NS} c"
_TEXT_PREFIX = f"{TEXT_NS} "


def read_flat_ods(data: bytes, limits: Limits) -> list[Sheet]:
    """The sheets of a flat ODS file, or :class:`~ingest.read.safety.Refused`."""
    reader = _Reader(limits)
    parse_xml(data, reader, KIND)
    sheets = reader.grid.sheets()
    log.debug("fods: %d sheets", len(sheets))
    return sheets


def _number(raw: str | None) -> float | None:
    raw = (raw or "").strip()
    if _NUMBER.fullmatch(raw):
        number = float(raw)
        if math.isfinite(number):
            return number
    return None


def _date(raw: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat((raw or "").strip()).replace(tzinfo=None)
    except ValueError:
        return None


class _Reader:
    """expat handlers: the tables' rows and cells, with their repeats, into a :class:`GridBuilder`."""

    def __init__(self, limits: Limits) -> None:
        self.grid = GridBuilder(KIND, limits)
        self.stack = [_START]
        self.tables = 0
        self.row = 0  # zero-based first row of the open table-row
        self.rows = 1  # ... and how many rows it stands for
        self.col = 0  # zero-based column of the next cell
        # the open cell: its attributes, columns repeated, paragraphs and the open one's text and length
        self.attrs: dict[str, str] = {}
        self.cols = 1
        self.paragraphs: list[str] = []
        self.chunks: list[str] = []
        self.chars = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        parent = self.stack[-1]
        kind = _SKIP
        if parent == _SKIP:
            pass
        elif parent in (_PARA, _SPAN):
            if name == _S:
                raw = attrs.get(_SPACES, "1")
                n = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIGITS else 1
                if self.chars <= EXCEL_CELL_CHARS:  # past it the cell is refused: never build a billion spaces
                    self.chunks.append(" " * min(n, EXCEL_CELL_CHARS + 1))
                self.chars += n
            elif name == _TAB:
                self._add("\t")
            elif name == _BREAK:
                self._add("\n")
            elif name == _T_TABLE:
                raise self._nested()
            elif name.startswith(_TEXT_PREFIX) and name != _NOTE:  # text:span, text:a … (a footnote: not the cell's)
                kind = _SPAN
        elif parent in (_CELL, _INNER):
            if name in (_P, _H):
                kind, self.chunks = _PARA, []
            elif name == _T_TABLE:
                raise self._nested()
            elif name.startswith(_TEXT_PREFIX):  # text:list, text:section … around paragraphs
                kind = _INNER
            # else: office:annotation, a draw:frame (picture, chart with its own table) …: not the cell's text
        elif parent == _ROW:
            if name == _T_CELL:
                kind = _CELL
                self.attrs, self.paragraphs, self.chars = attrs, [], 0
                self.cols = self._repeat(attrs, _COLUMNS_REPEATED)
            elif name == _T_COVERED:
                kind = _COVERED
                self.cols = self._repeat(attrs, _COLUMNS_REPEATED)
        elif parent in (_TABLE, _ROWS):
            if name == _T_ROW:
                kind, self.col = _ROW, 0
                self.rows = self._repeat(attrs, _ROWS_REPEATED)
            elif name in _ROW_GROUPS:
                kind = _ROWS
            elif name == _T_TABLE:
                raise Refused("file-damaged", f"{KIND}: a table nested in table {self.grid.current!r}",
                              sheet=self.grid.current)
        elif parent == _BOOK:
            if name == _T_TABLE:
                kind, self.row = _TABLE, 0
                self.tables += 1
                self.grid.sheet(attrs.get(_NAME) or f"Sheet{self.tables}")
        elif parent == _BODY:
            if name == f"{OFFICE_NS} spreadsheet":
                kind = _BOOK
        elif parent == _DOC:
            if name == f"{OFFICE_NS} body":
                kind = _BODY
        elif parent == _START:
            self._check_root(name, attrs)
            kind = _DOC
        self.stack.append(kind)

    def _check_root(self, name: str, attrs: dict[str, str]) -> None:
        ns, _, tag = name.rpartition(" ")
        if ns != OFFICE_NS or tag != "document":
            raise Refused("file-damaged", f"{KIND}: the root element is {tag!r} of {ns or 'no namespace'!r}, "
                                          f"not the office:document of {OFFICE_NS}")
        mimetype = attrs.get(_MIMETYPE)
        if mimetype not in MIMETYPES:
            raise Refused("file-damaged", f"{KIND}: office:mimetype {mimetype!r} is not a spreadsheet's",
                          value=(mimetype or "")[:80])

    def _repeat(self, attrs: dict[str, str], key: str) -> int:
        raw = attrs.get(key)
        if raw is None:
            return 1
        count = raw.strip()
        if count.isascii() and count.isdigit() and len(count) <= _MAX_DIGITS and int(count) >= 1:
            return int(count)
        where = f"row {self.row + 1}" if key == _ROWS_REPEATED else f"cell {cell_address(self.row, self.col)}"
        raise Refused("file-damaged", f"{KIND}: {key.rpartition(' ')[2]}={raw[:40]!r} at {where} is not a count",
                      sheet=self.grid.current, value=raw[:40])

    def _nested(self) -> Refused:
        where = cell_address(self.row, self.col)
        return Refused("file-damaged", f"{KIND}: a table nested in cell {where} of table {self.grid.current!r}",
                       sheet=self.grid.current, cell=where)

    def _add(self, text: str) -> None:
        self.chunks.append(text)
        self.chars += len(text)

    def end(self, name: str) -> None:
        kind = self.stack.pop()
        if kind == _CELL:
            self._end_cell()
            self.col += self.cols
        elif kind == _PARA:
            self.paragraphs.append("".join(self.chunks))
            self.chunks = []
        elif kind == _COVERED:
            self.col += self.cols
        elif kind == _ROW:
            self.row += self.rows

    def _end_cell(self) -> None:
        value, uncached = self._value()
        if (value is None or value == "") and not uncached:
            return  # an empty cell, however repeated, only moves the position on
        rows, cols = range(self.row, self.row + self.rows), range(self.col, self.col + self.cols)
        self.grid.check_position(rows[-1], cols[-1])  # the farthest repeat first: nothing built past the limits
        for r in rows:
            for c in cols:
                self.grid.put(r, c, value, uncached=uncached)

    def _value(self) -> tuple[object, bool]:
        """The open cell's value, and whether it is a formula without one."""
        attrs = self.attrs
        kind = attrs.get(_VALUE_TYPE)
        if kind is None:
            if attrs.get(_FORMULA):
                return None, True
        elif kind in _FLOAT_TYPES:
            number = _number(attrs.get(_VALUE))
            if number is not None:
                return number, False
        elif kind == "boolean":
            flag = (attrs.get(_BOOLEAN) or "").strip().lower()
            if flag in ("true", "1", "false", "0"):
                return flag in ("true", "1"), False
        elif kind == "date":
            moment = _date(attrs.get(_DATE))
            if moment is not None:
                return moment, False
        elif kind == "string" and _STRING in attrs:
            return attrs[_STRING], False
        text = "\n".join(self.paragraphs)
        if kind == "time" and not text:
            return attrs.get(_TIME), False
        return text, False  # a string; or a value its type's attribute does not give: what the cell shows

    def text(self, data: str) -> None:
        if self.stack[-1] in (_PARA, _SPAN):
            self.chunks.append(data)
            self.chars += len(data)
