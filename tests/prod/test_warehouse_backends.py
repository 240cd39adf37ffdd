"""ingest.warehouse on both backends: what goes in comes back the same, from DuckDB and from Postgres.

Needs the machine's PostgreSQL (127.0.0.1:5432, as `make test-prod`): each run makes its own database and drops it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from ingest import warehouse
from ingest.marts import dbt as transform
from tests.prod.test_production import _admin

TABLE = """create table if not exists raw.sample (
    t varchar, x double precision, d date, ts timestamp, b boolean, i integer, load_id varchar)"""
SAMPLE = pd.DataFrame({
    "t": ["a", "", None, 'quote " comma , new\nline', "=1+1", "Hà Tĩnh"],
    "x": [0.1, 1 / 3, None, 1e-300, 123456789.12345679, -0.0],
    "d": pd.to_datetime(["2024-01-01", None, "2024-02-29", "2025-07-01", "2024-12-31", "2020-01-01"]),
    "ts": pd.to_datetime(["2024-01-01 12:34:56.123456", None, "2024-02-29 23:59:59", "2025-07-01 00:00:00",
                          "2024-12-31 16:59:59.999999", "2020-01-01 07:00:00"], format="ISO8601"),
    "b": [True, False, None, True, False, True],
    "i": [1, None, 3, -4, 2_147_483_647, 0],
})


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    database = f"sectorstats_whtest_{uuid.uuid4().hex[:10]}"
    _admin(f"create database {database}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"
    finally:
        _admin(f"drop database if exists {database} with (force)")


@pytest.fixture(params=["duckdb", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    if request.param == "duckdb":
        monkeypatch.delenv("SECTORSTATS_WAREHOUSE_URL", raising=False)
    else:
        monkeypatch.setenv("SECTORSTATS_WAREHOUSE_URL", request.getfixturevalue("postgres_url"))
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        warehouse.ensure_schema(con)  # twice: creating what exists changes nothing
        warehouse.execute(con, "drop table if exists raw.sample")
        warehouse.execute(con, TABLE)
    assert warehouse.backend() == request.param
    return request.param


def _read() -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        return warehouse.frame(con, "select t, x, d, ts, b, i from raw.sample order by i nulls last")


def test_a_frame_comes_back_as_it_went_in(backend: str) -> None:
    with warehouse.connect() as con:
        assert warehouse.insert_frame(con, "raw.sample", SAMPLE) == 6
    got = _read()
    expected = SAMPLE.sort_values("i", na_position="last").reset_index(drop=True)
    assert got["t"].tolist() == expected["t"].tolist()  # the empty text stays empty, the missing one is missing
    assert [None if pd.isna(v) else v for v in got["x"]] == [None if pd.isna(v) else v for v in expected["x"]]
    assert got["d"].tolist() == expected["d"].tolist() and str(got["d"].dtype) == "datetime64[us]"
    assert got["ts"].tolist() == expected["ts"].tolist() and str(got["ts"].dtype) == "datetime64[us]"
    assert [None if pd.isna(v) else bool(v) for v in got["b"]] == [None if pd.isna(v) else v for v in expected["b"]]
    assert [None if pd.isna(v) else int(v) for v in got["i"]] == [None if pd.isna(v) else int(v) for v in expected["i"]]


def test_a_parquet_file_is_loaded_with_its_constants(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "sample.parquet"
    with warehouse.scratch() as work:  # as the parse stage writes the package
        work.register("sample", SAMPLE)
        work.execute(f"copy sample to '{warehouse.sql_path(path)}' (format parquet)")
    with warehouse.connect() as con:
        n = warehouse.insert_parquet(con, "raw.sample", path, ["t", "x", "d", "ts", "b", "i"], {"load_id": "it's"})
    assert n == 6
    with warehouse.connect(read_only=True) as con:
        assert warehouse.execute(con, "select distinct load_id from raw.sample").fetchall() == [("it's",)]
    assert _read()["t"].tolist() == SAMPLE.sort_values("i", na_position="last")["t"].tolist()


def test_a_block_that_raises_leaves_nothing_behind(backend: str) -> None:
    with pytest.raises(RuntimeError, match="stop"), warehouse.connect() as con:
        warehouse.insert_frame(con, "raw.sample", SAMPLE)
        warehouse.execute(con, "insert into raw.sample (t) values ('more')")
        raise RuntimeError("stop")
    assert _read().empty


def test_a_read_only_connection_reads_lists_and_refuses_writes(backend: str) -> None:
    with warehouse.connect() as con:
        warehouse.insert_frame(con, "raw.sample", SAMPLE)
    with warehouse.connect(read_only=True) as con:
        matching = "select count(*) from raw.sample where t in (select unnest(cast(:values as varchar[])))"
        assert warehouse.execute(con, matching, {"values": ["a", "", "=1+1", "absent"]}).scalar() == 3
        assert warehouse.execute(con, matching, {"values": []}).scalar() == 0
        with pytest.raises(sa.exc.DBAPIError, match=r"read-only"):
            warehouse.execute(con, "insert into raw.sample (t) values ('x')")


def test_dbt_gets_the_target_and_connection_of_the_url(backend: str, postgres_url: str) -> None:
    if backend == "duckdb":
        assert transform.dbt_target() == "duckdb"
        assert transform.dbt_environment() == {"SECTORSTATS_WAREHOUSE": str(warehouse.duckdb_file())}
        return
    assert transform.dbt_target() == "postgres"
    assert transform.dbt_environment() == {
        "SECTORSTATS_PG_HOST": "127.0.0.1", "SECTORSTATS_PG_PORT": "5432", "SECTORSTATS_PG_USER": "postgres",
        "SECTORSTATS_PG_PASSWORD": "", "SECTORSTATS_PG_DBNAME": sa.make_url(postgres_url).database}


def test_another_backend_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_WAREHOUSE_URL", "sqlite:///warehouse.db")
    with pytest.raises(ValueError, match="backend 'sqlite' is not supported"):
        warehouse.connect().__enter__()


def test_times_are_naive_utc_on_both(backend: str) -> None:
    when = dt.datetime(2025, 1, 10, 16, 59, 59)
    with warehouse.connect() as con:
        warehouse.execute(con, "insert into raw.sample (ts) values (:when)", {"when": when})
        got = warehouse.frame(con, "select ts, cast(ts + interval '7 hours' as date) as vn_day from raw.sample")
    assert got.iloc[0].tolist() == [pd.Timestamp(when), pd.Timestamp("2025-01-10")]
