"""Safety checks on a received file's bytes, before python-calamine touches them.

calamine builds a dense grid from the first to the last cell of a sheet (one 32-byte cell each, before any
Python object exists): a single cell at ``XFD1048576`` asks for 512 GB and aborts the process, a cell at
row 1,000,000 costs ~200 MB. It also inflates zip members and reads XML without limits. So every file is
inspected here first, streaming and bounded by :class:`ingest.read.limits.Limits`, and refused with a problem
code when it breaches one:

- ``file-empty``, ``file-too-large``: from the length;
- zip containers (.xlsx, .xlsm, .ods): the member count, total declared size and per-member compression
  ratio, from the central directory, *before inflating anything* (``file-bomb``); then each member is
  inflated once, streaming, with a hard cap at its declared size, so a lying header is caught after at most
  one chunk past the lie (``file-bomb``);
- every member's XML prolog (a bounded prefix, never parsed with expansion) must not declare a DOCTYPE
  or ENTITY (``file-xml-entities``); the expat parsers used below refuse them again as a second line;
- the sheets' cells (xlsx ``<c>``, ods ``table:table-cell`` with their repeat counts, xls BIFF cell records)
  must lie within the row/column limits (``sheet-too-large``), counting only cells that hold something,
  as calamine does (a plain sheet without formulas, as Excel writes it, is vouched for by regular
  expressions and a handler-less expat pass; anything else is streamed cell by cell); a ``<dimension>``
  declaration is not trusted either way (calamine does not allocate from it, and a lying one does no
  harm), the cells decide;
- what the cells expand to: every cell's characters, a shared string (xlsx ``sharedStrings.xml``, the xls
  SST) counted at each cell that uses it and a repeated ods cell at each repeat, must stay within
  ``max_text_chars`` for the workbook (``file-too-much-text``) and Excel's 32,767 for one cell (8,192 for a
  formula: ``cell-too-long``), and ``styles.xml`` may declare at most Excel's 64,000 cell formats
  (``file-too-many-styles``). calamine copies a shared string into every cell that uses it, so a 104 KB
  file whose one 1 MB string is used 12,000 times would become 12 GB: the characters are counted from the
  string lengths and the references, never built;
- OLE2 containers: an encrypted OOXML package (``EncryptionInfo`` + ``EncryptedPackage`` streams) or an
  .xls whose workbook stream carries a ``FILEPASS`` record is ``file-password-protected``.

The same pass records the formula cells that carry no cached value (xlsx ``<c><f>…</f></c>`` with no or an
empty ``<v>``; ods ``table:formula`` with no ``office:value-type``): calamine reads them as empty, and
the parser reports them instead of reading a number.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import struct
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from xml.parsers import expat

from ingest.catalogue.formats import file_formats
from ingest.catalogue.problems import Problem
from ingest.read.cfb import CfbError, CompoundFile
from ingest.read.limits import (
    EXCEL_CELL_CHARS,
    EXCEL_CELL_FORMATS,
    EXCEL_FORMULA_CHARS,
    Limits,
    human_bytes,
)
from ingest.text import cell_address

log = logging.getLogger(__name__)

ZIP_SIGNATURE = b"PK\x03\x04"
EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"  # an empty zip has only its end record
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 64 * 1024
_ODS_MIMETYPES = (b"application/vnd.oasis.opendocument.spreadsheet",)
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# sheets of a workbook that are not worksheets and that calamine cannot always open: never read (nor run)
_OTHER_SHEET_TYPES = frozenset({"xlMacrosheet", "xlIntlMacrosheet", "dialogsheet"})
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


class Refused(Exception):
    """The file breaches a safety check: raised by the first check it fails, carrying that :class:`Problem`."""

    def __init__(self, rule: str, detail: str, *, sheet: str | None = None, cell: str | None = None,
                 value: str | None = None, expected: str | None = None, **fields: str | None) -> None:
        super().__init__(f"{rule}: {detail}")
        self.problem = Problem.at(rule, sheet=sheet, cell=cell, value=value, detail=detail, expected=expected,
                                  **fields)


@dataclass(frozen=True)
class Inspection:
    """What the checks learnt: the container kind and, per sheet name, the formula cells with no value."""

    kind: str  # "xlsx" (also .xlsm), "ods" or "xls"
    uncached: dict[str, frozenset[tuple[int, int]]] = field(default_factory=dict)
    workbook_part: str | None = None  # xlsx: the workbook part, found through the package's relationships
    other_sheets: tuple[str, ...] = ()  # xlsx: relationship ids of macro and dialog sheets, left out when read


def check_size(data: bytes, limits: Limits) -> None:
    """Every received file, whatever its format: not empty, not over the size limit."""
    if not data:
        raise Refused("file-empty", "0 bytes")
    if len(data) > limits.max_file_bytes:
        raise Refused("file-too-large", f"{len(data)} bytes", value=human_bytes(len(data)),
                      expected=human_bytes(limits.max_file_bytes))


def refused_format(code: str, detail: str) -> Refused:
    """A format that is not read: the problem formats.yaml names for it, with the format's code."""
    return Refused(file_formats()[code].problem or "file-not-spreadsheet", detail, format=code)


def inspect_workbook(data: bytes, limits: Limits) -> Inspection:
    """Check a zip or OLE2 container's ``data`` before calamine opens it; raise :class:`Refused` on the first
    breach, or when the container holds something other than a workbook calamine reads."""
    check_size(data, limits)
    if data.startswith((ZIP_SIGNATURE, EMPTY_ZIP_SIGNATURE)):
        return _ZipInspector(data, limits).run()
    if data.startswith(OLE2_SIGNATURE):
        return _inspect_ole2(data, limits)
    raise refused_format("unknown", "neither a zip nor an OLE2 container")


# --- zip containers -----------------------------------------------------------------------------------------


def sheet_too_large(kind: str, sheet: str, row: int, col: int, limits: Limits) -> Refused:
    """A cell at zero-based (row, col) beyond the row limit (``sheet-too-many-rows``, checked first) or the
    column limit (``sheet-too-many-columns``): the message names the limit hit, the cell and its row or column."""
    where = cell_address(row, col)
    if row >= limits.max_rows:
        return Refused("sheet-too-many-rows", f"{kind} sheet has a cell at {where}", sheet=sheet, cell=where,
                       value=str(row + 1), expected=str(limits.max_rows))
    return Refused("sheet-too-many-columns", f"{kind} sheet has a cell at {where}", sheet=sheet, cell=where,
                   value=str(col + 1), expected=str(limits.max_columns))


def cell_too_long(kind: str, sheet: str, row: int, col: int, chars: int, formula: bool = False) -> Refused:
    limit = EXCEL_FORMULA_CHARS if formula else EXCEL_CELL_CHARS
    what = "formula" if formula else "text"
    return Refused("cell-too-long", f"{kind} cell {cell_address(row, col)}: {chars} characters of {what}",
                   sheet=sheet, cell=cell_address(row, col), value=str(chars), expected=str(limit))


def check_sheet_count(what: str, count: int, limits: Limits, *, complete: bool = False) -> None:
    """Refuse a file with more than ``limits.max_sheets`` sheets (``what``: "sheets", "tables", "xlsx: sheets").

    ``count`` is the number seen so far while streaming, so the refusal says "more than" the limit; with
    ``complete`` it is the workbook's whole list, and the refusal gives the number."""
    if count <= limits.max_sheets:
        return
    if complete:
        raise Refused("file-too-many-sheets", f"{count} {what}", value=str(count), expected=str(limits.max_sheets))
    raise Refused("file-too-many-sheets", f"more than {limits.max_sheets} {what}", value=f"> {limits.max_sheets}",
                  expected=str(limits.max_sheets))


def check_text_total(kind: str, chars: int, limits: Limits) -> None:
    if chars > limits.max_text_chars:
        raise Refused("file-too-much-text", f"{kind} cells expand to {chars} characters", value=str(chars),
                      expected=str(limits.max_text_chars))


def _prolog_verdict(prefix: bytes, complete: bool, member: str, limits: Limits) -> bool:
    """True once the prolog is known to be free of DTDs; False if more bytes are needed; raise if not.

    The prolog (before the root element) is the only place a DOCTYPE, and so an ENTITY, can be declared.
    It is read from a bounded prefix, decoded as UTF-16 when the bytes say so (else as Latin-1, which
    keeps every ASCII-compatible encoding's markup visible), and never parsed by an XML parser here.
    """
    if prefix.startswith((b"\xff\xfe", b"<\x00")):
        text = prefix.decode("utf-16-le", "replace")
    elif prefix.startswith((b"\xfe\xff", b"\x00<")):
        text = prefix.decode("utf-16-be", "replace")
    else:
        text = prefix.decode("latin-1")
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n\ufeff\u00ef\u00bb\u00bf":
            i += 1
        if i >= n:
            break
        if text[i] != "<":  # not XML, or not well-formed: refused only if a lenient parser could find a DTD
            if "<!DOCTYPE" in text or "<!ENTITY" in text:
                raise Refused("file-xml-entities", f"{member}: DOCTYPE after leading text", value=member)
            return True
        rest = text[i:i + 4]
        if rest.startswith("<?"):
            end, skip = text.find("?>", i + 2), 2
        elif rest == "<!--":
            end, skip = text.find("-->", i + 4), 3
        elif len(rest) < 4 and "<!--".startswith(rest):
            break  # cut at the end of the prefix: need more
        elif rest.startswith("<!"):  # <!DOCTYPE (or any other declaration before the root)
            raise Refused("file-xml-entities", f"{member}: {text[i:i + 40]!r}", value=member)
        else:
            return True  # the root element: the prolog had no DTD
        if end < 0:
            break
        i = end + skip
    if complete:
        return True
    if len(prefix) >= limits.xml_prolog_bytes:
        raise Refused("file-xml-entities", f"{member}: no root element in the first {human_bytes(len(prefix))}",
                      value=member)
    return False


def forbid_dtd(parser: expat.XMLParserType, member: str) -> None:
    """Second line behind the prolog check: the expat parsers used here stop at any DTD or entity."""
    def refuse(*_: object) -> None:
        raise Refused("file-xml-entities", f"{member}: DOCTYPE or ENTITY declaration", value=member)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _ref(ref: str | None) -> tuple[int, int] | None:
    """``"AB12"`` → zero-based (11, 27)."""
    if not ref:
        return None
    m = _REF.match(ref)
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


# The fast path for the common sheet (what Excel, LibreOffice and xlsxwriter write): every cell tag
# unprefixed, in plain ``name="value"`` attributes, with its ``r`` reference, and no formula. Then regular
# expressions (in C) find every cell's reference, and the sheet is within limits if the farthest one is;
# a well-formedness pass of expat without handlers completes the check. Anything else (a prefixed element,
# a cell without ``r`` or written otherwise, a formula, a cell past the limits) takes the full streaming
# scan below, which decides exactly; tests/unit/test_safety_fast_path.py holds the two to the same verdicts.
_FAST_SCAN_MAX_BYTES = 8 * 1024 * 1024
_ANY_CELL_TAG = re.compile(rb"<c[\s/>]")
_ATTR = rb'\s+[A-Za-z_][\w.:\-]*="[^"<]*"'
_PLAIN_CELL_TAG = re.compile(rb'<c(?:' + _ATTR + rb')*?\s+r="([A-Z]{1,3})([1-9][0-9]{0,6})"(?:' + _ATTR
                             + rb')*\s*/?>')
_PREFIXED_ELEMENT = re.compile(rb"</?[A-Za-z_][\w.\-]*:")
_FORMULA_TAG = re.compile(rb"<f[\s/>]")
_INLINE_TEXT = re.compile(rb'<is[\s/>]|\st="(?:str|inlineStr)"')
_SHARED_MARK = re.compile(rb'\st="s"')
_SHARED_CELL = re.compile(rb'<c\s[^>]*\st="s"[^>]*>\s*<v>([0-9]{1,9})</v>')
_ANY_VALUE_TAG = re.compile(rb"<v[\s/>]")
_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _plain_sheet_within_limits(xml: bytes, limits: Limits, strings: array) -> int | None:
    """What the fast path can vouch for this worksheet part: nothing beyond the limits, no formula, no
    inline text; then an upper bound of the characters its cells expand to. None: take the full scan.

    In a well-formed document (checked next), every ``<`` outside comments and CDATA opens a tag, and an
    attribute value in double quotes cannot hold a double quote, so each cell tag matched here is a real
    cell with its real ``r``; tags inside comments or CDATA only add cells, which can only send the sheet
    to the full scan. Every cell counts, empty or not: stricter than the full scan, never looser. The
    characters are the referenced shared strings' lengths plus the bytes of every other ``<v>`` (an entity
    or a multi-byte character only counts more than the full scan would)."""
    if (b"\x00" in xml or _FORMULA_TAG.search(xml) or _PREFIXED_ELEMENT.search(xml)
            or _INLINE_TEXT.search(xml)):
        return None  # UTF-16/32 (the patterns read ASCII-compatible bytes only), a formula, a prefix, inline text
    refs = _PLAIN_CELL_TAG.findall(xml)
    if len(refs) != len(_ANY_CELL_TAG.findall(xml)):
        return None
    if not refs:
        return 0
    max_row = max(map(int, map(itemgetter(1), refs)))
    # right-justified with spaces (below "A"), the farthest column sorts last: ``b" AB" > b"  Z"``
    letters = max(map(bytes.rjust, map(itemgetter(0), refs), repeat(3))).strip()
    row, col = _ref(f"{letters.decode()}{max_row}")  # zero-based, as the full scan compares them
    if row >= limits.max_rows or col >= limits.max_columns:
        return None
    shared = _SHARED_CELL.findall(xml)
    values = _VALUE.findall(xml)
    if len(shared) != len(_SHARED_MARK.findall(xml)) or len(values) != len(_ANY_VALUE_TAG.findall(xml)):
        return None  # a shared-string cell or a value written otherwise
    chars = sum(map(len, values)) - sum(map(len, shared))
    if values and max(map(len, values)) > EXCEL_CELL_CHARS:
        return None
    if shared:
        indexes = list(map(int, shared))
        if max(indexes) >= len(strings):
            return None
        lengths = list(map(strings.__getitem__, indexes))
        if max(lengths) > EXCEL_CELL_CHARS:
            return None
        chars += sum(lengths)
    return chars


class _SharedStringsScan:
    """Streams a shared strings part: the characters of each ``<si>`` (its ``<t>`` texts, rich-text runs
    and phonetic runs included, which only counts more than calamine builds)."""

    def __init__(self) -> None:
        self.lengths = array("q")
        self.size = 0  # what the reader builds for the whole table, used or not: its characters and one per string
        self._in_si = False
        self._in_t = 0
        self._chars = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "si":
            self._in_si, self._chars = True, 0
        elif tag == "t" and self._in_si:
            self._in_t += 1

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag == "si" and self._in_si:
            self.lengths.append(self._chars)
            self.size += self._chars + 1
            self._in_si, self._in_t = False, 0
        elif tag == "t" and self._in_t:
            self._in_t -= 1

    def text(self, data: str) -> None:
        if self._in_t:
            self._chars += len(data)


class _XlsxSheetScan:
    """Streams one worksheet part: extent of the cells holding something, formulas without a value, and the
    characters the cells expand to (a shared string counted at each cell that uses it)."""

    def __init__(self, sheet: str, limits: Limits, strings: array) -> None:
        self.sheet, self.limits, self.strings = sheet, limits, strings
        self.uncached: set[tuple[int, int]] = set()
        self.chars = 0
        self._in_data = False
        self._row, self._col = -1, -1
        self._cell: tuple[int, int] | None = None
        self._type: str | None = None
        self._has_f = self._has_v = self._v_text = self._has_is = self._in_v = False
        self._in_f = self._in_t = False
        self._text = self._formula = 0  # characters of the open cell's text and formula
        self._index = ""  # a shared-string cell's <v>: the string's index (its first characters)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "sheetData":
            self._in_data = True
        elif not self._in_data:
            return
        elif tag == "row":
            r = attrs.get("r", "")
            self._row = int(r) - 1 if r.isdigit() and 0 < len(r) < 9 else self._row + 1
            self._col = -1
        elif tag == "c":
            pos = _ref(attrs.get("r"))
            if pos is not None:
                self._row, self._col = pos
            else:
                self._col += 1
            self._cell = (self._row, self._col)
            self._type = attrs.get("t")
            self._has_f = self._has_v = self._v_text = self._has_is = False
            self._text = self._formula = 0
            self._index = ""
        elif self._cell is not None:
            if tag == "f":
                self._has_f = self._in_f = True
            elif tag == "v":
                self._has_v = self._in_v = True
            elif tag == "is":
                self._has_is = True
            elif tag == "t" and self._has_is:
                self._in_t = True

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag == "sheetData":
            self._in_data = False
        elif tag == "v":
            self._in_v = False
        elif tag == "f":
            self._in_f = False
        elif tag == "t":
            self._in_t = False
        elif tag == "c" and self._cell is not None:
            if self._has_f or self._has_v or self._has_is:
                r, c = self._cell
                if r < 0 or c < 0:
                    raise Refused("file-damaged", f"xlsx sheet {self.sheet!r}: a cell at row {r + 1}, column {c + 1}",
                                  sheet=self.sheet)
                if r >= self.limits.max_rows or c >= self.limits.max_columns:
                    raise sheet_too_large("xlsx", self.sheet, r, c, self.limits)
                index = self._index.strip()
                if self._type == "s" and index.isdigit() and len(index) < 10 and int(index) < len(self.strings):
                    self._text += self.strings[int(index)]
                if self._formula > EXCEL_FORMULA_CHARS:
                    raise cell_too_long("xlsx", self.sheet, r, c, self._formula, formula=True)
                if self._text > EXCEL_CELL_CHARS:
                    raise cell_too_long("xlsx", self.sheet, r, c, self._text)
                self.chars += self._text
                cached = self._has_is or (self._has_v and (self._v_text or self._type in ("str", "inlineStr")))
                if self._has_f and not cached:
                    self.uncached.add(self._cell)
            self._cell = None

    def text(self, data: str) -> None:
        if self._in_v:
            if data.strip():
                self._v_text = True
            if self._type == "s":
                self._index = (self._index + data)[:12]
            else:
                self._text += len(data)
        elif self._in_t:
            self._text += len(data)
        elif self._in_f:
            self._formula += len(data)


class _OdsScan:
    """Streams ``content.xml``: tables, rows and cells with their repeat counts, and the characters the cells
    expand to (a cell's text at each of its repeats)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.uncached: dict[str, set[tuple[int, int]]] = {}
        self.chars = 0
        self._text = self._formula = 0  # characters of the open cell's text and formula
        self.tables = 0
        self._table: str | None = None
        self._row = self._col = 0
        self._rows_rep = 1
        # the open cell: first column, columns repeated, holds something, formula without value
        self._cell: tuple[int, int, bool, bool] | None = None
        self._depth = 0  # elements open inside the cell

    @staticmethod
    def _repeat(attrs: dict[str, str], key: str) -> int:
        raw = attrs.get(f"{_TABLE_NS} {key}", "1")
        return int(raw) if raw.isdigit() and len(raw) < 10 else 1

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ns, _, tag = name.rpartition(" ")
        if self._cell is not None:
            if ns == _TABLE_NS and tag == "table":
                raise Refused("file-damaged", f"content.xml: a table nested in a cell of {self._table!r}")
            col, reps, _, uncached = self._cell
            self._cell = (col, reps, True, uncached)  # any child element (text:p …) is content, to be safe
            self._depth += 1
            if ns == _TEXT_NS and tag == "s":  # <text:s text:c="n"/>: n spaces
                raw = attrs.get(f"{_TEXT_NS} c", "1")
                self._text += int(raw) if raw.isdigit() and len(raw) < 10 else 1
            return
        if ns != _TABLE_NS:
            return
        if tag == "table":
            self.tables += 1
            check_sheet_count("tables", self.tables, self.limits)
            self._table = attrs.get(f"{_TABLE_NS} name", f"Sheet{self.tables}")
            self._row = 0
        elif self._table is None:
            return
        elif tag == "table-row":
            self._rows_rep = self._repeat(attrs, "number-rows-repeated")
            self._col = 0
        elif tag in ("table-cell", "covered-table-cell"):
            has_value = f"{_OFFICE_NS} value-type" in attrs
            formula = f"{_TABLE_NS} formula" in attrs
            self._cell = (self._col, self._repeat(attrs, "number-columns-repeated"), has_value,
                          formula and not has_value)
            self._text = len(attrs.get(f"{_OFFICE_NS} string-value", ""))
            self._formula = len(attrs.get(f"{_TABLE_NS} formula", ""))

    def end(self, name: str) -> None:
        if self._depth:
            self._depth -= 1
            return
        ns, _, tag = name.rpartition(" ")
        if ns != _TABLE_NS or self._table is None:
            return
        if tag == "table":
            self._table = None
        elif tag == "table-row":
            self._row += self._rows_rep
            self._rows_rep = 1
        elif tag in ("table-cell", "covered-table-cell") and self._cell is not None:
            col, reps, content, uncached = self._cell
            if content or uncached:
                last_row, last_col = self._row + self._rows_rep - 1, col + reps - 1
                if last_row >= self.limits.max_rows or last_col >= self.limits.max_columns:
                    raise sheet_too_large("ods", self._table, last_row, last_col, self.limits)
                if self._formula > EXCEL_FORMULA_CHARS:
                    raise cell_too_long("ods", self._table, self._row, col, self._formula, formula=True)
                if self._text > EXCEL_CELL_CHARS:
                    raise cell_too_long("ods", self._table, self._row, col, self._text)
                self.chars += self._text * reps * self._rows_rep
                if uncached:
                    self.uncached.setdefault(self._table, set()).update(
                        (self._row + i, col + j) for i in range(self._rows_rep) for j in range(reps))
            self._col = col + reps
            self._cell = None

    def text(self, data: str) -> None:
        if self._cell is not None:
            self._text += len(data)


class _ZipInspector:
    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data, self.limits = data, limits

    def run(self) -> Inspection:
        limits = self.limits
        # every central-directory entry zipfile would build starts with this signature: an upper bound,
        # counted before zipfile builds one object per entry
        if self.data.count(b"PK\x01\x02") > limits.max_zip_members:
            raise Refused("file-bomb", f"more than {limits.max_zip_members} zip members",
                          value=f"> {limits.max_zip_members}", expected=f"{limits.max_zip_members} members")
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(self.data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
            raise Refused("file-damaged", f"ZipError: {type(exc).__name__}: {exc}") from None
        self._check_directory(infos)
        self.members = {i.filename: i for i in infos}
        self.done: set[str] = set()
        self.workbook = self._workbook_part()
        kind = self._kind()
        # calamine tries xlsx, then xlsb, then ods on any zip: whatever it could read is scanned
        uncached: dict[str, frozenset[tuple[int, int]]] = {}
        self.other_sheets: list[str] = []
        if self.workbook is not None:
            uncached.update(self._scan_xlsx())
        if "content.xml" in self.members:
            scan = _OdsScan(limits)
            self._parse("content.xml", scan.start, scan.end, scan.text)
            check_text_total("ods", scan.chars, limits)
            uncached.update({k: frozenset(v) for k, v in scan.uncached.items()})
        for name in self.members:  # every other member: inflated once, capped, its prolog checked
            if name not in self.done:
                for _ in self._inflate(name):
                    pass
        return Inspection(kind, uncached, self.workbook, tuple(self.other_sheets))

    def _check_directory(self, infos: list[zipfile.ZipInfo]) -> None:
        limits = self.limits
        total = sum(i.file_size for i in infos)
        if total > limits.max_unpacked_bytes:
            raise Refused("file-bomb", f"{len(infos)} members declare {total} bytes unpacked",
                          value=human_bytes(total), expected=human_bytes(limits.max_unpacked_bytes))
        for i in infos:
            if i.flag_bits & 0x1:
                raise Refused("file-damaged", f"ZipError: member {i.filename} is encrypted")
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise Refused("file-damaged", f"ZipError: member {i.filename} uses compression {i.compress_type}")
            if i.file_size > limits.ratio_grace_bytes:
                ratio = i.file_size / max(i.compress_size, 1)
                if ratio > limits.max_compression_ratio:
                    raise Refused("file-bomb", f"{i.filename}: {i.compress_size} bytes unpack to {i.file_size}",
                                  value=f"{ratio:.0f}:1", expected=f"{limits.max_compression_ratio:.0f}:1")

    def _inflate(self, name: str) -> Iterator[bytes]:
        """The member's bytes in chunks, never more than it declares; its prolog is checked on the way."""
        self.done.add(name)
        info = self.members[name]
        off = info.header_offset
        head = self.data[off:off + 30]
        if len(head) < 30 or head[:4] != ZIP_SIGNATURE:
            raise Refused("file-damaged", f"ZipError: bad local header for {name}")
        n, m = struct.unpack("<HH", head[26:30])
        start = off + 30 + n + m
        raw = memoryview(self.data)[start:start + info.compress_size]
        if len(raw) < info.compress_size:
            raise Refused("file-damaged", f"ZipError: {name} is truncated")
        cap = info.file_size
        out = 0
        prefix = b""
        verdict = False
        d = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        try:
            for pos in range(0, max(len(raw), 1), _CHUNK):
                buf = bytes(raw[pos:pos + _CHUNK])
                while True:
                    # at most one chunk is inflated past the declared size before the lie is caught
                    piece = buf if d is None else d.decompress(buf, _CHUNK)
                    out += len(piece)
                    if out > cap:
                        raise Refused("file-bomb", f"{name} unpacks past its declared {cap} bytes",
                                      value=f"> {human_bytes(cap)}", expected=human_bytes(cap))
                    if not verdict:
                        prefix += piece[:self.limits.xml_prolog_bytes - len(prefix)]
                        verdict = _prolog_verdict(prefix, False, name, self.limits)
                    if piece:
                        yield piece
                    if d is None or d.eof or (not d.unconsumed_tail and len(piece) < _CHUNK):
                        break
                    buf = d.unconsumed_tail
                if d is not None and d.eof:
                    break
        except zlib.error as exc:
            raise Refused("file-damaged", f"ZipError: {name}: {exc}") from None
        if out != cap or (d is not None and not d.eof):
            raise Refused("file-damaged", f"ZipError: {name} unpacks to {out} bytes, declares {cap}")
        if not verdict:
            _prolog_verdict(prefix, True, name, self.limits)

    def _read_small(self, name: str) -> bytes:
        return b"".join(self._inflate(name)) if name in self.members else b""

    def _parse(self, name: str, start: Callable | None, end: Callable | None, text: Callable | None = None,
               data: bytes | None = None) -> None:
        """Stream the member through expat with these handlers (none: only well-formedness and the DTD
        refusal); ``data``: the member's bytes, already inflated."""
        parser = expat.ParserCreate(namespace_separator=" ")
        forbid_dtd(parser, name)
        parser.buffer_text = True
        if start is not None:
            parser.StartElementHandler = start
        if end is not None:
            parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text
        try:
            for chunk in self._inflate(name) if data is None else (data,):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except (expat.ExpatError, ValueError) as exc:  # ValueError: an encoding expat cannot read
            raise Refused("file-damaged", f"XmlError: {name}: {exc}") from None

    def _workbook_part(self) -> str | None:
        """The package's main part, from its relationships (``_rels/.rels``, type officeDocument), else the usual
        ``xl/workbook.xml``; None when there is none (an ods, another zip)."""
        found: list[str] = []

        def start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "Relationship" and attrs.get("Type", "").endswith("/officeDocument"):
                found.append(posixpath.normpath(attrs.get("Target", "").lstrip("/")))

        if "_rels/.rels" in self.members:
            self._parse("_rels/.rels", start, None)
        for part in [*found, "xl/workbook.xml", "xl/workbook.bin"]:
            if part in self.members:
                return part
        return None

    def _kind(self) -> str:
        names = self.members
        mimetype = self._read_small("mimetype").strip() if "mimetype" in names else b""
        if mimetype.startswith(_ODS_MIMETYPES):
            manifest = self._read_small("META-INF/manifest.xml")
            if b"encryption-data" in manifest:  # ODF encryption: content.xml and the rest are ciphertext
                raise Refused("file-password-protected", "an encrypted OpenDocument package (manifest encryption-data)")
            return "ods"
        if mimetype.startswith(b"application/vnd.oasis.opendocument"):
            raise refused_format("open-document-other", f"an OpenDocument package of type {mimetype[:80]!r}")
        if (self.workbook or "").endswith(".bin") or "xl/workbook.bin" in names:  # binary sheets are never inspected
            raise refused_format("xlsb", f"an Excel binary workbook ({self.workbook})")
        if self.workbook is not None:
            return "xlsx"
        if any(n.startswith("Index/") and n.endswith(".iwa") for n in names) or "Index.zip" in names:
            raise refused_format("numbers", "an Apple iWork package (Index/*.iwa)")
        if "word/document.xml" in names:
            raise refused_format("word", "a Word package (word/document.xml)")
        if any(n.startswith("ppt/") for n in names):
            raise refused_format("powerpoint", "a PowerPoint package (ppt/)")
        raise refused_format("archive", "a zip package that holds no workbook")

    def _sheet_parts(self) -> list[tuple[str, str]]:
        """(sheet name, part path) in workbook order, from the workbook part and its relationships (whose
        targets by type are kept in ``self.rel_targets``); the sheets that are not worksheets (Excel 4 macro
        sheets, dialog sheets) are listed in ``self.other_sheets`` by relationship id."""
        assert self.workbook is not None
        sheets: list[tuple[str, str]] = []
        targets: dict[str, str] = {}
        kinds: dict[str, str] = {}
        self.rel_targets: dict[str, list[str]] = {}
        folder, _, base = self.workbook.rpartition("/")
        prefix = f"{folder}/" if folder else ""

        def wb_start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "sheet":
                sheets.append((attrs.get("name", ""), attrs.get(f"{_REL_NS} id", "")))

        def rel_start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "Relationship":
                target = attrs.get("Target", "")
                path = target[1:] if target.startswith("/") else target if prefix and target.startswith(prefix) \
                    else f"{prefix}{target}"
                kind = attrs.get("Type", "").rsplit("/", 1)[-1]
                targets[attrs.get("Id", "")] = path
                kinds[attrs.get("Id", "")] = kind
                self.rel_targets.setdefault(kind, []).extend(dict.fromkeys((path, posixpath.normpath(path))))

        self._parse(self.workbook, wb_start, lambda _: None)
        check_sheet_count("sheets", len(sheets), self.limits, complete=True)
        rels = f"{prefix}_rels/{base}.rels"
        if rels in self.members:
            self._parse(rels, rel_start, lambda _: None)
        self.other_sheets = [rid for _, rid in sheets if kinds.get(rid) in _OTHER_SHEET_TYPES]
        return [(name, targets.get(rid, "")) for name, rid in sheets]

    def _related(self, kind: str, usual: str) -> list[str]:
        """The parts of this relationship type (and the usual part), those that exist, each once."""
        found = [p for p in self.rel_targets.get(kind, []) if p in self.members]
        folder = self.workbook.rpartition("/")[0] if self.workbook else ""
        usual = f"{folder}/{usual}" if folder else usual
        found += [p for p in self.members if p.lower() == usual]
        return list(dict.fromkeys(found))

    def _shared_string_lengths(self) -> array:
        """Each shared string's characters, index by index; with several parts, the longest at each index (and in
        ``strings_size``, what each part costs the reader, checked once the sheets are)."""
        lengths = array("q")
        self.strings_size: dict[str, int] = {}
        for part in self._related("sharedStrings", "sharedstrings.xml"):
            scan = _SharedStringsScan()
            self._parse(part, scan.start, scan.end, scan.text)
            self.strings_size[part] = scan.size
            if len(scan.lengths) > len(lengths):
                lengths.extend(repeat(0, len(scan.lengths) - len(lengths)))
            for i, n in enumerate(scan.lengths):
                if n > lengths[i]:
                    lengths[i] = n
        return lengths

    def _check_styles(self) -> None:
        """At most Excel's 64,000 cell formats (``<xf>`` in ``<cellXfs>``)."""
        for part in self._related("styles", "styles.xml"):
            if self.members[part].file_size <= EXCEL_CELL_FORMATS * len(b"<xf/>"):
                continue  # too small to hold more
            depth, count = [0], [0]

            def start(name: str, _: dict[str, str], depth: list[int] = depth, count: list[int] = count) -> None:
                tag = _local(name)
                if tag == "cellXfs":
                    depth[0] += 1
                elif tag == "xf" and depth[0]:
                    count[0] += 1

            def end(name: str, depth: list[int] = depth) -> None:
                if _local(name) == "cellXfs":
                    depth[0] -= 1

            self._parse(part, start, end)
            if count[0] > EXCEL_CELL_FORMATS:
                raise Refused("file-too-many-styles", f"{part}: {count[0]} cell formats", value=str(count[0]),
                              expected=str(EXCEL_CELL_FORMATS))

    def _scan_xlsx(self) -> dict[str, frozenset[tuple[int, int]]]:
        # a target is looked up as written (as calamine does) and normalised ("xl/../x.xml"), whichever exists
        parts = [(n, p) for n, target in self._sheet_parts()
                 for p in dict.fromkeys((target, posixpath.normpath(target))) if p in self.members]
        self._check_styles()
        strings = self._shared_string_lengths()
        named = {p for _, p in parts}
        # any other sheet-like part is scanned too: calamine must not meet a sheet nobody checked
        parts += [(p, p) for p in self.members if p.lower().endswith(".xml") and "sheet" in p.lower()
                  and not p.startswith(("docProps/", "_rels/")) and p not in named]
        uncached: dict[str, frozenset[tuple[int, int]]] = {}
        chars: dict[str, int] = {}  # per part: exact, or an upper bound for those the fast path vouched for
        vouched: list[tuple[str, str]] = []
        for sheet, part in parts:
            if part in self.done:
                continue
            data = None
            if self.members[part].file_size <= _FAST_SCAN_MAX_BYTES:
                data = b"".join(self._inflate(part))
                bound = _plain_sheet_within_limits(data, self.limits, strings)
                if bound is not None:
                    try:
                        self._parse(part, None, None, data=data)  # well-formed, no DTD: in C, no callbacks
                        chars[part] = bound
                        vouched.append((sheet, part))
                        continue
                    except Refused:
                        pass  # the full scan below says what is wrong, exactly as it would have alone
            scan = self._full_scan(sheet, part, strings, data)
            chars[part] = scan.chars
            if scan.uncached:
                uncached[sheet] = frozenset(scan.uncached)
        if sum(chars.values()) > self.limits.max_text_chars:
            for sheet, part in vouched:  # the bounds were too rough to decide: count those parts exactly
                chars[part] = self._full_scan(sheet, part, strings, b"".join(self._inflate(part))).chars
            check_text_total("xlsx", sum(chars.values()), self.limits)
        for part, size in self.strings_size.items():  # after the sheets, whose problems say more to the district
            if size > self.limits.max_text_chars:
                raise Refused("shared-strings-too-large", f"{part}: {size} characters and strings", value=str(size),
                              expected=str(self.limits.max_text_chars), part=part)
        return uncached

    def _full_scan(self, sheet: str, part: str, strings: array, data: bytes | None) -> _XlsxSheetScan:
        scan = _XlsxSheetScan(sheet, self.limits, strings)
        self._parse(part, scan.start, scan.end, scan.text, data=data)
        return scan


# --- OLE2 containers (.xls, encrypted OOXML) ----------------------------------------------------------------

_BOF, _EOF, _FILEPASS, _BOUNDSHEET = 0x0809, 0x000A, 0x002F, 0x0085
_CELL_RECORDS = {0x0006, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6}  # FORMULA NUMBER LABEL BOOLERR RK …
_MULRK = 0x00BD
_SST, _CONTINUE, _LABELSST, _LABEL, _RSTRING = 0x00FC, 0x003C, 0x00FD, 0x0204, 0x00D6


# the streams that tell other software's OLE2 files (casefolded)
_OLE2_OTHERS = (("worddocument", "word"), ("powerpoint document", "powerpoint"), ("nativecontent_main", "quattro"))


def _inspect_ole2(data: bytes, limits: Limits) -> Inspection:
    try:
        cf = CompoundFile(data)
    except (CfbError, struct.error) as exc:
        raise Refused("file-damaged", f"OLE2: {exc}") from None
    names = {n.casefold() for n in cf.names()}
    if "encryptedpackage" in names or "encryptioninfo" in names:
        raise Refused("file-password-protected", "an encrypted Office package (EncryptionInfo, EncryptedPackage)")
    entry = cf.find("Workbook") or cf.find("Book")
    if entry is None:
        found = ", ".join(sorted(cf.names())[:6])
        kind = next((k for stream, k in _OLE2_OTHERS if stream in names), "unknown")
        raise refused_format(kind, f"an OLE2 file with no workbook stream ({found})")
    try:
        stream = cf.read(entry, limits.max_file_bytes)
    except (CfbError, struct.error) as exc:
        raise Refused("file-damaged", f"OLE2: {exc}") from None
    _scan_biff(stream, limits)
    return Inspection("xls")


def _scan_biff(stream: bytes, limits: Limits) -> None:
    """Walk the BIFF records: FILEPASS and BOUNDSHEETs in the globals, and every value cell's position.

    calamine reads each sheet from the offset its BOUNDSHEET record gives, so besides one walk from the
    start, every sheet offset is walked too; a bitmap of visited record starts keeps the total work
    within one pass over the stream whatever the offsets.
    """
    n = len(stream)
    visited = bytearray(n)
    names: dict[int, str] = {}
    strings: list[int] = []
    chars = 0

    def text(pos: int, typ: int, length: int, sheet: str, row: int, col: int) -> None:
        nonlocal chars
        if typ == _LABELSST and length >= 10:
            (isst,) = struct.unpack_from("<I", stream, pos + 10)
            cch = strings[isst] if isst < len(strings) else 0
        elif typ in (_LABEL, _RSTRING) and length >= 8:
            (cch,) = struct.unpack_from("<H", stream, pos + 10)
        else:
            return
        if cch > EXCEL_CELL_CHARS:
            raise cell_too_long("xls", sheet, row, col, cch)
        chars += cch

    def walk(pos: int, sheet: str, globals_: bool) -> None:
        while pos + 4 <= n and not visited[pos]:
            visited[pos] = 1
            typ, length = struct.unpack_from("<HH", stream, pos)
            if typ == _BOF:
                sheet = names.get(pos, sheet)
            elif typ == _EOF:
                globals_ = False
            elif globals_ and typ == _FILEPASS:
                raise Refused("file-password-protected", "the workbook stream is encrypted (FILEPASS)")
            elif globals_ and typ == _SST and not strings:
                strings.extend(_sst_lengths(stream, pos))
            elif globals_ and typ == _BOUNDSHEET and length >= 8:
                body = stream[pos + 4:pos + 4 + length]
                (offset,) = struct.unpack_from("<I", body)
                names[offset] = _boundsheet_name(body) or f"Sheet{len(names) + 1}"
                check_sheet_count("sheets", len(names), limits)
            elif (typ in _CELL_RECORDS or typ == _MULRK) and length >= 4:
                row, col = struct.unpack_from("<HH", stream, pos + 4)
                if typ == _MULRK and length >= 6:
                    (col,) = struct.unpack_from("<H", stream, pos + 4 + length - 2)
                if row >= limits.max_rows or col >= limits.max_columns:
                    raise sheet_too_large("xls", sheet, row, col, limits)
                text(pos, typ, length, sheet, row, col)
            pos += 4 + length

    walk(0, "?", True)
    for offset, name in list(names.items()):
        walk(offset, name, False)
    check_text_total("xls", chars, limits)


def _sst_lengths(stream: bytes, pos: int) -> list[int]:
    """The characters of each string of the SST record at ``pos`` (with its CONTINUE records).

    Each string is a count of characters, a flags byte (high-byte characters, rich-text runs, phonetic
    data) and the parts those flags announce; a string's characters may go on in the next CONTINUE record,
    which then starts with a new flags byte. Only the counts are kept, nothing is decoded."""
    segments: list[memoryview] = []
    view = memoryview(stream)
    while pos + 4 <= len(stream):
        typ, length = struct.unpack_from("<HH", stream, pos)
        if segments and typ != _CONTINUE:
            break
        segments.append(view[pos + 4:pos + 4 + length])
        pos += 4 + length
    seg, off = 0, 8  # after cstTotal and cstUnique
    if not segments or len(segments[0]) < 8:
        return []
    (unique,) = struct.unpack_from("<I", segments[0], 4)

    def take(k: int) -> bytes | None:
        """The next ``k`` bytes, across record boundaries (headers and run data)."""
        nonlocal seg, off
        out = b""
        while len(out) < k:
            while seg < len(segments) and off >= len(segments[seg]):
                seg, off = seg + 1, 0
            if seg >= len(segments):
                return None
            piece = segments[seg][off:off + k - len(out)]
            out += bytes(piece)
            off += len(piece)
        return out

    lengths: list[int] = []
    while len(lengths) < unique:
        head = take(3)
        if head is None:
            break
        cch, flags = struct.unpack("<HB", head)
        extra = take((2 if flags & 0x8 else 0) + (4 if flags & 0x4 else 0))
        if extra is None:
            break
        runs = struct.unpack_from("<H", extra)[0] if flags & 0x8 else 0
        ext = struct.unpack_from("<I", extra, 2 if flags & 0x8 else 0)[0] if flags & 0x4 else 0
        left, wide = cch, flags & 0x1
        while left:
            if seg >= len(segments):
                break
            room = (len(segments[seg]) - off) // (2 if wide else 1)
            if room <= 0:  # the characters go on in the next CONTINUE record, after a new flags byte
                seg, off = seg + 1, 0
                if seg >= len(segments) or not len(segments[seg]):
                    break
                wide, off = segments[seg][0] & 0x1, 1
                continue
            step = min(left, room)
            left -= step
            off += step * (2 if wide else 1)
        if take(runs * 4 + ext) is None and (runs or ext):
            lengths.append(cch)
            break
        lengths.append(cch)
    return lengths


def _boundsheet_name(body: bytes) -> str:
    cch = body[6]
    if len(body) >= 8 + cch and body[7] in (0, 1):  # BIFF8: ShortXLUnicodeString
        raw = body[8:8 + cch * (2 if body[7] else 1)]
        return raw.decode("utf-16-le" if body[7] else "latin-1", "replace")
    return body[7:7 + cch].decode("cp1258", "replace")  # BIFF5: 8-bit text in the workbook's code page

