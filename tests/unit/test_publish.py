"""ingest.marts.publish: analysts read a snapshot swapped in atomically, never the pipeline's own file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.marts.publish import publish_snapshot


def _write(path: Path, n: int) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create or replace table t as select range as i from range(?)", [n])
    finally:
        con.close()


def test_snapshot_is_a_read_only_copy_swapped_in_whole(tmp_path: Path) -> None:
    source, target = tmp_path / "warehouse.duckdb", tmp_path / "analyst" / "warehouse.duckdb"
    _write(source, 3)
    publish_snapshot(source, target)
    old_reader = duckdb.connect(str(target), read_only=True)
    try:
        assert old_reader.execute("select count(*) from t").fetchone() == (3,)
        _write(source, 5)  # the next run rebuilds the warehouse ...
        publish_snapshot(source, target)  # ... and publishes while an analyst is still connected
        assert old_reader.execute("select count(*) from t").fetchone() == (3,)  # their snapshot is intact
    finally:
        old_reader.close()
    new_reader = duckdb.connect(str(target), read_only=True)
    try:
        assert new_reader.execute("select count(*) from t").fetchone() == (5,)
    finally:
        new_reader.close()
    assert oct(target.stat().st_mode & 0o777) == "0o444"
    assert sorted(p.name for p in target.parent.iterdir()) == ["warehouse.duckdb"]  # no temporary left


def test_readers_of_the_snapshot_do_not_block_the_writer(tmp_path: Path) -> None:
    source, target = tmp_path / "warehouse.duckdb", tmp_path / "analyst" / "warehouse.duckdb"
    _write(source, 2)
    publish_snapshot(source, target)
    reader = duckdb.connect(str(target), read_only=True)
    try:
        _write(source, 4)  # would fail with a lock error if the reader held the pipeline's file
        publish_snapshot(source, target)
    finally:
        reader.close()


def test_a_bi_tool_reads_the_snapshot_through_sqlalchemy(tmp_path: Path) -> None:
    """The connection the analyst guide documents for BI tools: SQLAlchemy with duckdb-engine, read-only."""
    import pandas as pd
    import sqlalchemy as sa

    source, target = tmp_path / "warehouse.duckdb", tmp_path / "analyst" / "warehouse.duckdb"
    _write(source, 4)
    publish_snapshot(source, target)
    engine = sa.create_engine(f"duckdb:///{target}", connect_args={"read_only": True})
    try:
        with engine.connect() as con:
            assert con.execute(sa.text("select count(*), sum(i) from t")).one() == (4, 6)
            assert pd.read_sql("select i from t order by i", con)["i"].tolist() == [0, 1, 2, 3]
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.execute(sa.text("insert into t values (9)"))
    finally:
        engine.dispose()
