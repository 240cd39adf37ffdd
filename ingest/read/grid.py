"""A workbook as the parser sees it — sheets of cell grids at absolute positions — and the one builder every
reader of a text export (HTML table, SpreadsheetML 2003, CSV, flat ODS) fills it through.

calamine gives :class:`Sheet` grids for the binary and zip workbooks; the export readers of
:mod:`ingest.read.exports` build them cell by cell with :class:`GridBuilder`, which holds each cell to the
same limits the safety inspection holds a workbook to (rows, columns, sheets, Excel's 32,767 characters per
cell, ``max_text_chars`` for the whole file), so an export costs what the equivalent ``.xlsx`` may cost and
is refused with the same problem codes, naming the limit and the cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.read.limits import EXCEL_CELL_CHARS, Limits
from ingest.read.safety import cell_too_long, check_sheet_count, check_text_total, sheet_too_large

Grid = list[list[object]]


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: Grid  # absolute positions: rows[r][c] is the cell at zero-based (r, c)
    # zero-based (r, c) of formula cells with no cached value (calamine reads them as empty): xlsx/xlsm/ods
    uncached: frozenset[tuple[int, int]] = frozenset()

    def cell(self, r: int, c: int) -> object:
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return None


class GridBuilder:
    """Collects the cells of one file's sheets, refusing (:class:`~ingest.read.safety.Refused`) the first cell
    that breaches a limit. ``kind`` names the format in the technical detail ("html", "csv", …).

    Cells are kept sparse until :meth:`sheets` lays them out, so a lone cell far away costs nothing before
    it is refused; empty text is not a cell (as calamine reads an empty cell)."""

    def __init__(self, kind: str, limits: Limits) -> None:
        self.kind, self.limits = kind, limits
        self._sheets: list[tuple[str, dict[tuple[int, int], object], set[tuple[int, int]]]] = []
        self.chars = 0

    def sheet(self, name: str) -> None:
        """Start the next sheet (cells go to the last one started)."""
        check_sheet_count(f"{self.kind} sheets", len(self._sheets) + 1, self.limits)
        self._sheets.append((name, {}, set()))

    @property
    def current(self) -> str:
        return self._sheets[-1][0] if self._sheets else ""

    def check_position(self, row: int, col: int) -> None:
        """Refuse a cell beyond the row or column limit before anything is built for it."""
        if row >= self.limits.max_rows or col >= self.limits.max_columns:
            raise sheet_too_large(self.kind, self.current, row, col, self.limits)

    def put(self, row: int, col: int, value: object, *, uncached: bool = False) -> None:
        """One cell at zero-based (row, col): a number, a bool, a date or text; ``None`` or ``""`` is no cell.
        ``uncached``: a formula whose value the file does not carry (the parser reports it)."""
        if not self._sheets:
            self.sheet("Sheet1")
        if value is None or value == "":
            if not uncached:
                return
            value = None
        self.check_position(row, col)
        if isinstance(value, str):
            n = len(value)
            if n > EXCEL_CELL_CHARS:
                raise cell_too_long(self.kind, self.current, row, col, n)
            self.chars += n
            check_text_total(self.kind, self.chars, self.limits)
        _, cells, missing = self._sheets[-1]
        cells[(row, col)] = value
        if uncached:
            missing.add((row, col))

    def sheets(self) -> list[Sheet]:
        out = []
        for name, cells, missing in self._sheets:
            height = max((r for r, _ in cells), default=-1) + 1
            width = max((c for _, c in cells), default=-1) + 1
            rows: Grid = [[None] * width for _ in range(height)]
            for (r, c), v in cells.items():
                rows[r][c] = v
            out.append(Sheet(name=name, rows=rows, uncached=frozenset(missing)))
        return out
