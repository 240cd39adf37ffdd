"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest import warehouse
from ingest.read import reader


@pytest.fixture
def con(tmp_path: Path) -> Iterator[warehouse.Connection]:
    """A fresh DuckDB warehouse file with the raw and ops tables, open for the test (committed at its end)."""
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        warehouse.ensure_schema(con)
        yield con


@pytest.fixture
def no_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if calamine is asked to open the bytes: the refusal must come before it."""
    class Forbidden:
        @staticmethod
        def from_filelike(*_: object) -> None:
            raise AssertionError("calamine opened a file that should have been refused")

    monkeypatch.setattr(reader, "CalamineWorkbook", Forbidden)
