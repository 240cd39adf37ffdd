"""ingest.pipeline.parse_file: a bug of ours on one file is recorded on that file, never fatal."""

from __future__ import annotations

import pytest

from ingest import pipeline
from ingest.catalogue import load_catalogue
from ingest.reader import ReadFailure


def test_an_unexpected_error_becomes_an_internal_error_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(sheets, catalogue):
        raise IndexError("list index out of range")

    monkeypatch.setattr(pipeline, "parse_sheets", broken)
    from ingest.workbook import form_bytes

    cat = load_catalogue()
    data = form_bytes(cat.form("01/LĐVL-H"), cat.unit("443")).data
    assert pipeline.parse_file(data, cat) == ReadFailure("internal-error", "IndexError: list index out of range")
