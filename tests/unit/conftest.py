"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest import warehouse


@pytest.fixture
def con(tmp_path: Path) -> Iterator[warehouse.Connection]:
    """A fresh DuckDB warehouse file with the raw and ops tables, open for the test (committed at its end)."""
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        warehouse.ensure_schema(con)
        yield con
