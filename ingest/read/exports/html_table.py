"""An HTML page of tables, often saved as ``.xls``: Excel's "Web page" export, LibreOffice's HTML export and the
"export to Excel" of many web systems.

Every ``<table>`` not nested in a cell of another is a sheet, in document order, named by the ``<em>`` of the
nearest ``<h1>`` before it (LibreOffice: ``<h1>Sheet 1: <em>Bieu 01</em></h1>`` when there are several sheets),
else ``Sheet{n}``. Rows are ``<tr>`` (thead/tbody/tfoot in document order), cells ``<td>``/``<th>`` placed by the
HTML table model: the value at the top-left, the positions a ``colspan``/``rowspan`` covers empty and skipped by
later cells; a rowspan ends with its row group. What spans cover is kept per column (the row until which it is
taken), clamped to the limits: a span reaching beyond them holds nothing there, only its top-left is checked.

A cell's text is all text inside it, ``<br>`` (and a block such as ``<p>``) a line break, other whitespace runs
one space, stripped; a table nested in a cell is words of that cell. Nothing outside cells is read, nor raw-text
elements (script, style, title, iframe…) or LibreOffice's cell notes (``<comment>``). :class:`HTMLParser` fetches
nothing (images, links, frames are tags like any other) and resolves only HTML's own character references, never
a DOCTYPE's entity: ``&e;`` stays the text ``&e;``.

Values are text (numbers are read later by :mod:`ingest.read.numbers`) except where the file carries the machine
value: LibreOffice's ``sdval`` unless its ``sdnum`` format is a date, time or boolean one (the display text is
kept), Excel's ``x:num="…"``, or a bare ``x:num`` on a cell whose text is a plain machine number. An error
(``#DIV/0!``, ``Err:502``) stays text, though LibreOffice writes ``sdval="0"`` for it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from html.parser import HTMLParser

from ingest.read.exports.text import decode_text
from ingest.read.grid import GridBuilder, Sheet
from ingest.read.limits import Limits

log = logging.getLogger(__name__)

KIND = "html"
_CHARSET_PREFIX = 4096
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
# WHATWG: documents labelled Latin-1 or ASCII are decoded as Windows-1252 (what such pages really hold)
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252",
                    "ascii": "cp1252", "windows-1258": "cp1258", "x-cp1258": "cp1258"}
# raw text in a browser (never shown, no markup inside: HTMLParser itself only knows script and style so)
_RAW = frozenset({"script", "style", "title", "iframe", "noembed", "noframes", "template"})
_HIDDEN = frozenset({"comment"})  # LibreOffice's cell notes, hidden by its stylesheet
_BLOCKS = frozenset({"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
                     "pre", "blockquote", "address", "center", "section", "article", "header", "footer"})
_GROUPS = frozenset({"thead", "tbody", "tfoot"})
_MAX_COLSPAN, _MAX_ROWSPAN = 1000, 65534  # the HTML table model's own clamps
_MAX_NAME = 100
_SPACES = re.compile(r"\s+")
_LONE_LT = re.compile(r"<(?![A-Za-z/!?])")
_COMPACT = 1024  # pieces of text a cell gathers before they are joined (a page of "&amp;" is one piece each)
_NO_ATTRS: dict[str, str | None] = {}
_SPAN = re.compile(r"\s*\+?(\d{1,9})")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PLAIN = re.compile(r"-?\d+(?:\.\d+)?")
_ERROR = re.compile(r"#(?:DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|NULL!|SPILL!|CALC!|GETTING_DATA)|Err:\d{3}")
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|[_*].|(?i:general|standard)|[eE][-+]')


def read_html_table(data: bytes, limits: Limits) -> list[Sheet]:
    """The page's top-level tables as sheets (none: the reader says the export holds no table); raise
    :class:`Refused` on a breached limit."""
    parser = _TableParser(GridBuilder(KIND, limits), limits)
    # "<" that starts no markup is text to HTMLParser, but one call of its loop each: as "&lt;" (the same text)
    # a page of "<<<<" costs what a page of letters does. Fed in one piece: HTMLParser rescans an unfinished
    # construct at every feed.
    parser.feed(_LONE_LT.sub("&lt;", decode(data)))
    parser.close()
    parser.finish()
    return parser.builder.sheets() if parser.tables else []


def decode(data: bytes) -> str:
    """The page's text (:func:`~ingest.read.exports.text.decode_text`), in the charset its ``<meta>`` declares in
    the first 4 KB when Python knows it."""
    m = _META_CHARSET.search(data, 0, _CHARSET_PREFIX)
    return decode_text(data, _codec(m.group(1).decode("ascii")) if m else None)


def _codec(label: str) -> str | None:
    """A declared charset Python can decode markup with, or None (unknown, a bytes-to-bytes codec, or one
    that is not ASCII-compatible such as UTF-16, which a ``<meta>`` found in ASCII cannot truly mean)."""
    name = _CHARSET_ALIASES.get(label.lower(), label)
    try:
        if b"<meta>".decode(name) == "<meta>":
            return name
    except (LookupError, UnicodeDecodeError):
        pass
    log.debug("html: declared charset %r not usable", label)
    return None


def _span(value: str | None, clamp: int, zero: int) -> int:
    """A colspan/rowspan by HTML's rules for non-negative integers (``"3px"`` is 3, junk is 1)."""
    m = _SPAN.match(value) if value else None
    if not m:
        return 1
    n = int(m.group(1))
    return zero if n == 0 else min(n, clamp)


def _number(text: str | None) -> float | None:
    if text is None or not _NUMBER.fullmatch(text.strip()):
        return None
    n = float(text)
    return n if n - n == 0 else None  # not inf/nan


def _numeric_format(sdnum: str | None) -> bool:
    """LibreOffice's ``sdnum="lang;lang;format"`` shows a number (``#,##0``, ``0.00%``), not a date, time or
    boolean: no letter is left once quoted text, ``[...]`` colours/currencies, escapes and exponents are gone."""
    parts = (sdnum or "").split(";", 2)
    fmt = _FORMAT_NOISE.sub("", parts[2] if len(parts) > 2 else "")
    return not any(ch.isalpha() for ch in fmt)


def cell_value(text: str, attrs: dict[str, str | None]) -> object:
    """A cell's value from its text and its attributes (see the module's docstring)."""
    if "x:err" in attrs or _ERROR.fullmatch(text):
        return text
    if "sdval" in attrs and _numeric_format(attrs.get("sdnum")):
        number = _number(attrs["sdval"])
        if number is not None:
            return number
    if "x:num" in attrs:
        raw = attrs["x:num"]
        if raw is None or not raw.strip():
            return float(text) if _PLAIN.fullmatch(text) else text
        number = _number(raw)
        if number is not None:
            return number
    return text


class _Cell:
    """The open cell: where it sits, its attributes and its text so far (lines done, the current one)."""

    def __init__(self, row: int, col: int, attrs: dict[str, str | None]) -> None:
        self.row, self.col, self.attrs = row, col, attrs
        self.lines: list[str] = []
        self.buf: list[str] = []

    def add(self, data: str) -> None:
        self.buf.append(data)
        if len(self.buf) > _COMPACT:  # whitespace runs collapse the same in pieces: memory stays the text's
            self.buf[:] = [_SPACES.sub(" ", "".join(self.buf))]

    def line_break(self, hard: bool) -> None:
        """``<br>`` ends the line; a block boundary only ends a line that holds something."""
        if not self.buf:
            if hard:
                self.lines.append("")
            return
        line = _SPACES.sub(" ", "".join(self.buf)).strip()
        self.buf.clear()
        if line or hard:
            self.lines.append(line)

    def text(self) -> str:
        if not self.lines and not self.buf:
            return ""
        self.line_break(hard=False)
        return "\n".join(self.lines).strip()


class _Table:
    """The open top-level table: the cursor and, per column, until which row a rowspan takes it (and in which
    row group: a rowspan ends with its group)."""

    def __init__(self) -> None:
        self.row, self.col, self.in_row, self.group = -1, 0, False, 0
        self.until: list[int] = []
        self.group_of: list[int] = []

    def new_row(self) -> None:
        self.row, self.col, self.in_row = self.row + 1, 0, True

    def place(self, colspan: int, rowspan: int, limits: Limits) -> tuple[int, int]:
        """The next free position of the current row for a cell of this span; mark what it covers."""
        row, col = self.row, self.col
        while col < len(self.until) and self.group_of[col] == self.group and self.until[col] > row:
            col += 1
        self.col = col + colspan
        end = min(col + colspan, limits.max_columns)
        if rowspan > 1 and row < limits.max_rows and col < end:
            if len(self.until) < end:
                grow = end - len(self.until)
                self.until.extend([0] * grow)
                self.group_of.extend([-1] * grow)
            self.until[col:end] = [min(row + rowspan, limits.max_rows)] * (end - col)
            self.group_of[col:end] = [self.group] * (end - col)
        return row, col


class _TableParser(HTMLParser):
    """Tags to sheets, rows and cells. Only text inside a cell is ever read (never the head, a heading but the
    sheet name, a caption); a raw-text element (script, style, title, iframe…) hides everything up to its end tag,
    as in a browser, and a hidden element (LibreOffice's ``<comment>``) its text."""

    def __init__(self, builder: GridBuilder, limits: Limits) -> None:
        super().__init__(convert_charrefs=True)
        self.builder, self.limits = builder, limits
        self.tables = 0
        self.names: set[str] = set()
        self.table: _Table | None = None  # the open top-level table
        self.cell: _Cell | None = None  # its open cell
        self.nested = 0  # tables open inside that cell
        self.raw: str | None = None  # the open raw-text element
        self.hidden = 0  # open hidden elements
        self.heading: list[str] | None = None  # the <em> text of an open <h1> outside tables
        self.em = 0
        self.pending_name: str | None = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # HTML ignores the "/" of "<td/>" or "<iframe/>": a start tag

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.raw is None:
            if tag in _RAW:
                self.raw = tag
            else:
                self._tag(tag, True, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.raw is None:
            self._tag(tag, False, ())
        elif tag == self.raw:
            self.raw = None

    def handle_data(self, data: str) -> None:
        if self.raw is not None or self.hidden:
            return
        if self.cell is not None:
            self.cell.add(data)
        elif self.heading is not None and self.em and sum(map(len, self.heading)) < _MAX_NAME:
            self.heading.append(data)

    def finish(self) -> None:
        """End what the page left open."""
        self.nested = 0
        self._end_table()

    def _tag(self, tag: str, start: bool, attrs: Sequence[tuple[str, str | None]]) -> None:
        cell, table = self.cell, self.table
        if tag in _HIDDEN:
            self.hidden = self.hidden + 1 if start else max(0, self.hidden - 1)
        elif tag == "table":
            self._start_table() if start else self._end_table()
        elif cell is not None and self.nested:  # inside a table in the cell: its cells are words of the cell
            if tag in ("tr", "td", "th"):
                cell.add(" ")
            elif tag == "br":
                cell.line_break(hard=True)
        elif tag in ("td", "th"):
            self._start_cell(dict(attrs) if attrs else _NO_ATTRS) if start else self._end_cell()
        elif tag == "tr" or tag in _GROUPS:
            if table is not None:
                self._end_cell()
                table.in_row = False
                if tag == "tr" and start:
                    table.new_row()
                elif tag != "tr":
                    table.group += 1  # a rowspan ends with its row group
        elif cell is not None:
            if tag == "br" or tag in _BLOCKS:  # HTML reads "</br>" as "<br>"
                cell.line_break(hard=tag == "br")
        elif table is None and (tag == "h1" or (tag == "em" and self.heading is not None)):
            self._heading(tag, start)

    def _start_table(self) -> None:
        if self.cell is not None:  # a table in a cell: its text is the cell's
            self.nested += 1
            self.cell.add(" ")
            return
        self._end_table()  # a <table> directly in a table (not in a cell) closes it, as browsers do
        self.tables += 1
        name = self.pending_name or f"Sheet{self.tables}"
        self.pending_name, self.heading = None, None
        unique, n = name, 1
        while unique in self.names:
            n += 1
            unique = f"{name} ({n})"
        self.names.add(unique)
        self.builder.sheet(unique)
        self.table = _Table()

    def _end_table(self) -> None:
        if self.nested:
            self.nested -= 1
            if self.cell is not None:
                self.cell.add(" ")
            return
        self._end_cell()
        self.table = None

    def _start_cell(self, attrs: dict[str, str | None]) -> None:
        table = self.table
        if table is None:
            return  # a cell outside any table: browsers drop it
        self._end_cell()
        if not table.in_row:
            table.new_row()  # a cell directly in a table or row group opens a row
        colspan = _span(attrs.get("colspan"), _MAX_COLSPAN, zero=1)
        rowspan = _span(attrs.get("rowspan"), _MAX_ROWSPAN, zero=_MAX_ROWSPAN)
        row, col = table.place(colspan, rowspan, self.limits)
        self.cell, self.hidden = _Cell(row, col, attrs), 0

    def _end_cell(self) -> None:
        cell = self.cell
        if cell is None:
            return
        self.cell, self.hidden, self.nested = None, 0, 0  # closing a cell closes what is open in it
        text = cell.text()
        if text or cell.attrs:
            self.builder.put(cell.row, cell.col, cell_value(text, cell.attrs))

    def _heading(self, tag: str, start: bool) -> None:
        """``<h1>…<em>name</em></h1>``: the name of the next table (an ``<h1>`` without one clears it)."""
        if tag == "em":
            self.em = self.em + 1 if start else max(0, self.em - 1)
        elif start:
            self.heading, self.em, self.pending_name, self.hidden = [], 0, None, 0
        elif self.heading is not None:
            name = _SPACES.sub(" ", "".join(self.heading)).strip()[:_MAX_NAME]
            self.pending_name, self.heading, self.em = name or None, None, 0
