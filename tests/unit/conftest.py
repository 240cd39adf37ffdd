"""Fixtures shared by the unit tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest import warehouse
from ingest.read import grid, reader


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


@pytest.fixture
def put_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every position handed to GridBuilder.put during the test (a reader that loops over a huge repeat or span
    would show here, without timing anything)."""
    calls: list[tuple[int, int]] = []
    original = grid.GridBuilder.put

    def spy(self: grid.GridBuilder, row: int, col: int, value: object, *, uncached: bool = False) -> None:
        calls.append((row, col))
        original(self, row, col, value, uncached=uncached)

    monkeypatch.setattr(grid.GridBuilder, "put", spy)
    return calls


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if anything opens a connection (an entity, a DTD or an image fetched by a reader)."""
    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("the reader opened a connection")

    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
