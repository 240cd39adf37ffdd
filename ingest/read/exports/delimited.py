"""CSV and tab-separated text, as Excel ("CSV", "Unicode Text"), LibreOffice and districts' web systems write it.

Decoding: a byte-order mark says UTF-8 or UTF-16 (Excel's "Unicode Text" is UTF-16 LE with a BOM and tabs);
without one the text is UTF-8 if it decodes strictly, else Windows-1258 (Vietnamese Windows, which writes
tone marks as combining characters). Either way the text is normalised to NFC.

Delimiter: Excel's first-line directive ``sep=;`` sets it (and is not data); otherwise it is sniffed among
``,`` ``;`` tab and ``|`` from the first lines, outside quoted fields: the one whose count per line agrees on
the most lines wins (``,`` when none occurs). Fields are read with the :mod:`csv` module (doubled quotes in
quoted fields, line breaks inside them) and kept as text: numbers are read later by :mod:`ingest.read.numbers`
by Vietnamese rules, and text starting with ``=``, ``+``, ``-`` or ``@`` is text, never a formula.

The text is streamed record by record into :class:`~ingest.read.grid.GridBuilder`, no row kept: 10 million
empty lines build nothing, 10 million rows are refused at the first non-empty cell past the row limit. A field
longer than Excel's 32,767 characters is stopped by the :mod:`csv` module's field limit (process-wide: set
for the read, put back after it) before it is built, and refused naming its cell.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
from collections import Counter

from ingest.read.exports.text import decode_text
from ingest.read.grid import GridBuilder, Sheet
from ingest.read.limits import EXCEL_CELL_CHARS, Limits
from ingest.read.safety import Refused
from ingest.text import cell_address

log = logging.getLogger(__name__)

KIND = "csv"
SHEET_NAME = "Sheet1"
DELIMITERS = (",", ";", "\t", "|")  # in order of preference when two are equally consistent
_SNIFF_LINES = 50
_SNIFF_CHARS = 64 * 1024
_SEP_DIRECTIVE = re.compile(r"sep=([^\r\n\"])[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)
# a quoted field: starting a line or after any candidate delimiter (a quote inside a field is a character),
# possibly still open where the sample ends
_QUOTED = re.compile(r'(?:^|(?<=[,;\t|]))"(?:[^"]|"")*(?:"|\Z)', re.MULTILINE)
_BIG_FIELD = 2**31 - 1  # field limit for reading again the record that broke Excel's: the rest of the text bounds it


def read_delimited(data: bytes, limits: Limits) -> list[Sheet]:
    """The one sheet ("Sheet1") of a CSV / tab-separated file; raise :class:`Refused` on a breached limit."""
    text = decode_text(data)
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise Refused("file-damaged", f"csv: NUL character on line {line}", value=f"line {line}")
    delimiter, start = _directive(text)
    if delimiter is None:
        delimiter = sniff_delimiter(text[start:start + _SNIFF_CHARS])
    log.debug("csv: delimiter %r", delimiter)
    builder = GridBuilder(KIND, limits)
    builder.sheet(SHEET_NAME)
    body = text[start:] if start else text
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    previous = csv.field_size_limit(EXCEL_CELL_CHARS)
    row = -1
    try:
        for row, fields in enumerate(reader):  # a blank line is a row with no fields
            if fields:
                for col, value in enumerate(fields):
                    if value and not value.isspace():
                        builder.put(row, col, value)
    except csv.Error as e:
        raise _record_error(e, body, delimiter, row + 1, builder) from None
    finally:
        csv.field_size_limit(previous)
    return builder.sheets()


def _directive(text: str) -> tuple[str | None, int]:
    """Excel's ``sep=X`` first line: the delimiter it sets and where the data starts after it."""
    m = _SEP_DIRECTIVE.match(text)
    return (m.group(1), m.end()) if m else (None, 0)


def sniff_delimiter(sample: str) -> str:
    """The most consistent of :data:`DELIMITERS` over the sample's first non-empty lines, outside quotes.

    For each candidate the count per line is taken; its score is the number of lines holding its most common
    non-zero count, then the number of lines where it occurs at all, then that count. A Vietnamese decimal
    comma (``12,5``) in a semicolon file or a comma in a label of a tab-separated file occurs on some lines
    only, so the real delimiter, on every line the same number of times, wins."""
    unquoted = _QUOTED.sub("", sample)  # quoted fields may hold delimiters and line breaks
    lines = [line for line in unquoted.splitlines() if line][:_SNIFF_LINES]  # "\t\t" is a line of tabs
    best, best_score = ",", (0, 0, 0)
    for delimiter in DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        present = [n for n in counts if n]
        if not present:
            continue
        mode = Counter(present).most_common(1)[0][0]
        score = (counts.count(mode), len(present), mode)
        if score > best_score:  # strictly better: ties keep the earlier (preferred) delimiter
            best, best_score = delimiter, score
    return best


def _record_error(error: csv.Error, body: str, delimiter: str, row: int, builder: GridBuilder) -> Refused:
    """What a :class:`csv.Error` while reading the record at zero-based ``row`` means: a field over Excel's
    limit, else a damaged file. The records are read again without the limit up to that one to name the cell:
    this costs one more pass over the text, and only on the way to refusing the file."""
    if "field larger than field limit" not in str(error):
        return Refused("file-damaged", f"csv: {error} (row {row + 1})", value=f"row {row + 1}")
    csv.field_size_limit(_BIG_FIELD)
    records = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    fields = next(itertools.islice(records, row, None), [])
    col = next((i for i, f in enumerate(fields) if len(f) > EXCEL_CELL_CHARS), len(fields))
    chars = len(fields[col]) if col < len(fields) else EXCEL_CELL_CHARS + 1
    builder.check_position(row, col)  # a cell beyond the row or column limit is refused for that first, as put()
    where = cell_address(row, col)
    return Refused("cell-too-long", f"{KIND} cell {where}: {chars} characters of text", sheet=SHEET_NAME,
                   cell=where, value=str(chars), expected=str(EXCEL_CELL_CHARS))
