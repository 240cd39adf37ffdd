"""The warehouse: its connection, and the raw and ops tables ingest writes (declared in :mod:`.tables`).

Two backends, chosen by ``SECTORSTATS_WAREHOUSE_URL`` (a SQLAlchemy URL, see :func:`ingest.settings.warehouse_url`):

- **DuckDB** (the default, ``duckdb:///<data dir>/warehouse.duckdb``): one file, one writer. Every write goes
  through :func:`connect` inside one task at a time (the DAGs use a pool of one slot), and the connection is
  closed as soon as the task is done; analysts read a published copy (:mod:`ingest.marts.publish`).
- **PostgreSQL** (``postgresql+psycopg2://…``): the production option; the pipeline's role owns the schemas,
  analysts read the marts through a read-only role (:mod:`ingest.warehouse.roles`).

Every statement goes through a SQLAlchemy connection, written once in SQL both accept. Bulk data never goes row
by row: into DuckDB a frame or a parquet file is inserted by DuckDB itself; into Postgres it is streamed with
``COPY`` as CSV that DuckDB writes, each column cast to the table's type first.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ingest.settings import data_dir, duckdb_memory_limit, warehouse_url
from ingest.warehouse.tables import tables

log = logging.getLogger(__name__)

Connection = sa.Connection
BACKENDS = ("duckdb", "postgresql")

def url() -> sa.URL:
    """The warehouse's SQLAlchemy URL; a backend other than DuckDB or PostgreSQL is refused here, by name."""
    parsed = sa.make_url(warehouse_url())
    if parsed.get_backend_name() not in BACKENDS:
        raise ValueError(f"SECTORSTATS_WAREHOUSE_URL: backend {parsed.get_backend_name()!r} is not supported "
                         f"(one of {', '.join(BACKENDS)})")
    return parsed


def backend() -> str:
    """``duckdb`` or ``postgresql``."""
    return url().get_backend_name()


def duckdb_file() -> Path | None:
    """The DuckDB file of the warehouse, or ``None`` on Postgres."""
    parsed = url()
    return Path(parsed.database or "").resolve() if parsed.get_backend_name() == "duckdb" else None


def exists() -> bool:
    """Whether the warehouse has been created (a DuckDB file that is there; a Postgres database always is)."""
    path = duckdb_file()
    return path is None or path.exists()


def engine(path: Path | None = None, *, read_only: bool = False) -> sa.Engine:
    """An engine without a pool: a connection is opened by :func:`connect` and really closed after it (DuckDB
    holds its file for as long as a connection is open). ``path`` names another DuckDB file (tests, publish)."""
    if path is not None:
        target: sa.URL = sa.make_url(f"duckdb:///{Path(path).resolve()}")
    else:
        target = url()
    if target.get_backend_name() == "duckdb":
        if not read_only:
            Path(target.database or "").parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(target, poolclass=NullPool, connect_args={
            "read_only": read_only, "config": {"memory_limit": duckdb_memory_limit()}})
    options = {"postgresql_readonly": True} if read_only else {}
    return sa.create_engine(target, poolclass=NullPool, execution_options=options,
                            connect_args={"application_name": "sectorstats"})


@contextlib.contextmanager
def connect(path: Path | None = None, *, read_only: bool = False) -> Iterator[Connection]:
    """A connection to the warehouse: one transaction, committed when the block ends (or earlier by the caller's
    ``con.commit()``), rolled back if it raises; closed on exit."""
    eng = engine(path, read_only=read_only)
    try:
        with eng.connect() as con:
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()
    finally:
        eng.dispose()


def is_duckdb(con: Connection) -> bool:
    return con.dialect.name == "duckdb"


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for work on parquet files and frames, under the same memory limit, spilling into the
    data directory (not the worker's current directory)."""
    spill = data_dir() / "tmp" / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={"memory_limit": duckdb_memory_limit(), "temp_directory": str(spill)})


def _native(con: Connection) -> Any:
    """The DuckDB connection under a SQLAlchemy one, in the SQLAlchemy connection's transaction: begun here if no
    statement has begun it yet (DuckDB's own connection commits every statement outside a transaction, and a
    rollback would then leave the rows in)."""
    if not con.in_transaction():
        con.begin()
    return con.connection.driver_connection


def execute(con: Connection, sql: str, params: Mapping[str, Any] | None = None) -> sa.CursorResult:
    """Run one statement (``:name`` parameters). A list of texts is matched with
    ``x in (select unnest(cast(:values as varchar[])))``: one array parameter on both backends, empty or not, in
    read-only transactions too."""
    return con.execute(sa.text(sql), dict(params or {}))


def frame(con: Connection, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The result of a query as a DataFrame, with the same column types from either backend: dates and
    timestamps as ``datetime64[us]``. From DuckDB the rows are converted by DuckDB itself (columnar: what made
    reading a national year's history take seconds rather than minutes)."""
    result = execute(con, sql, params)
    if is_duckdb(con):
        return result.cursor.df()
    columns, description = list(result.keys()), result.cursor.description  # the cursor closes after the fetch
    out = pd.DataFrame(result.fetchall(), columns=columns)
    for column, field in zip(columns, description, strict=True):
        if field.type_code in _PG_DATETIME_OIDS:
            out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out


_PG_DATETIME_OIDS = {1082, 1114}  # date, timestamp (without time zone)


def has_table(con: Connection, schema: str, name: str) -> bool:
    return bool(execute(con, "select count(*) from information_schema.tables where table_schema = :schema "
                             "and table_name = :name", {"schema": schema, "name": name}).scalar())


RETIRED_TABLES = ("ops.reporting_status",)
"""Tables an older release wrote and nothing reads any more, dropped so that nobody takes them for current:
``ops.reporting_status`` (the reporting calendar is ``marts.fct_report_status`` since 2026-12)."""


def ensure_schema(con: Connection) -> None:
    """Create the raw and ops tables that are missing, and add to existing ones the columns declared since (never
    drops data; only a retired table, which held nothing that is not computed again, is dropped): every table as
    :mod:`ingest.warehouse.tables` reads it from the dbt source files."""
    declared = tables().values()
    for schema in sorted({t.schema for t in declared}):
        execute(con, f"create schema if not exists {schema}")
    for t in declared:
        execute(con, t.ddl())
    present = {(s, t, c) for s, t, c in execute(con, """
        select table_schema, table_name, column_name from information_schema.columns
        where table_schema in (select unnest(cast(:schemas as varchar[])))""",
                                              {"schemas": sorted({t.schema for t in declared})}).fetchall()}
    added = set()
    for t in declared:
        for c in t.columns:
            if (t.schema, t.name, c.name) not in present:
                log.info("adding column %s.%s (%s), declared since the table was made", t.qualified, c.name, c.type)
                execute(con, f"alter table {t.qualified} add column if not exists {c.name} {c.type}")
                added.add(f"{t.qualified}.{c.name}")
    if "raw.submissions.is_latest_accepted" in added:  # a ledger from before 2026-12: mark what counts now
        from ingest.warehouse.ledger import number_versions

        number_versions(con)
    for retired in RETIRED_TABLES:
        execute(con, f"drop table if exists {retired}")


def insert_frame(con: Connection, table: str, frame: pd.DataFrame) -> int:
    """Append a DataFrame to ``table`` in bulk, matching columns by name."""
    if frame.empty:
        return 0
    if is_duckdb(con):
        native = _native(con)
        native.register("_incoming", frame)
        try:
            cols = _columns(frame.columns)
            native.execute(f"insert into {table} ({cols}) select {cols} from _incoming")
        finally:
            native.unregister("_incoming")
        return len(frame)
    with contextlib.closing(scratch()) as work:
        work.register("_incoming", frame)
        return _copy_into_postgres(con, table, list(frame.columns), work, "_incoming")


def insert_parquet(con: Connection, table: str, path: Path, columns: list[str],
                   constants: Mapping[str, Any] | None = None) -> int:
    """Append ``columns`` of a parquet file to ``table``, with ``constants`` (column → text) on every row, without
    the rows passing through Python. Returns the number of rows."""
    constants = dict(constants or {})
    selected = [_quote(c) for c in columns] + [f"{_text_literal(v)} as {_quote(c)}" for c, v in constants.items()]
    source = f"(select {', '.join(selected)} from read_parquet('{sql_path(path)}'))"
    names = [*columns, *constants]
    if is_duckdb(con):
        row = _native(con).execute(f"insert into {table} ({_columns(names)}) select * from {source}").fetchone()
        return int(row[0]) if row else 0
    with contextlib.closing(scratch()) as work:
        return _copy_into_postgres(con, table, names, work, source)


def replace_frame(con: Connection, table: str, frame: pd.DataFrame) -> int:
    """Replace the whole contents of a small table (catalogue tables)."""
    execute(con, f"delete from {table}")
    return insert_frame(con, table, frame)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _columns(names: Iterable[str]) -> str:
    return ", ".join(map(_quote, names))


def _text_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def sql_path(path: Path) -> str:
    """A path as the inside of a DuckDB string literal."""
    return str(path).replace("'", "''")


# Postgres column types (format_type) → what DuckDB casts a column to before writing it as CSV for COPY
_DUCKDB_CAST = {
    "integer": "integer", "bigint": "bigint", "smallint": "smallint", "double precision": "double",
    "real": "float", "boolean": "boolean", "date": "date", "timestamp without time zone": "timestamp",
    "character varying": "varchar", "text": "varchar", "numeric": "double",
}


def _postgres_types(con: Connection, table: str) -> dict[str, str]:
    rows = execute(con, """
        select a.attname, format_type(a.atttypid, null) from pg_attribute a
        where a.attrelid = cast(:table as regclass) and a.attnum > 0 and not a.attisdropped""",
                   {"table": table}).fetchall()
    return {name: type_ for name, type_ in rows}


def _copy_into_postgres(con: Connection, table: str, columns: list[str], work: duckdb.DuckDBPyConnection,
                        relation: str) -> int:
    """Stream ``relation`` of the DuckDB ``work`` connection into the Postgres ``table`` with ``COPY``: DuckDB casts
    each column to the table's type and writes CSV (every value quoted, so that an empty text stays an empty text
    and only a missing value is NULL), which Postgres reads in the caller's transaction."""
    types = _postgres_types(con, table)
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise ValueError(f"{table} has no column(s) {', '.join(unknown)}")
    select = ", ".join(f"cast({_quote(c)} as {_DUCKDB_CAST.get(types[c], 'varchar')}) as {_quote(c)}" for c in columns)
    folder = data_dir() / "tmp" / "copy"
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / f"{table.replace('.', '_')}.{os.getpid()}.csv"
    try:
        work.execute(f"copy (select {select} from {relation}) to '{sql_path(csv)}' "
                     "(format csv, header false, force_quote *)")
        cursor = con.connection.driver_connection.cursor()
        with csv.open("rb") as data:
            cursor.copy_expert(f"copy {table} ({_columns(columns)}) from stdin with (format csv)", data)
        return int(cursor.rowcount)
    finally:
        csv.unlink(missing_ok=True)
