"""Readers of what districts' other software exports instead of a workbook: an HTML table saved as ``.xls``
(:mod:`.html_table`), Excel 2003 XML (:mod:`.spreadsheetml`), CSV (:mod:`.delimited`) and flat ODS
(:mod:`.flat_ods`).

Each reader takes the file's bytes and the :class:`~ingest.read.limits.Limits`, builds its sheets through
:class:`~ingest.read.grid.GridBuilder` (the same row, column, sheet, cell-length and total-text limits as a
workbook) and returns them, or raises :class:`~ingest.read.safety.Refused`. None of them resolves an entity,
fetches anything over the network, or runs anything the file holds: a formula is never evaluated, only its
cached value read; text starting with ``=`` is text. :mod:`ingest.read.reader` picks the reader from the
format :mod:`ingest.read.formats` finds in the bytes.
"""
