"""The warehouse connection and the raw tables ingest writes (see ``docs/raw_schema.md``).

DuckDB allows one writer per file: every write goes through :func:`connect` inside one task at a
time (the DAGs use a pool of one slot), and the connection is closed as soon as the task is done.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from ingest.settings import data_dir, duckdb_memory_limit, warehouse_path

log = logging.getLogger(__name__)

RAW_TABLES: dict[str, str] = {
    "arrivals": """
        arrival_id varchar primary key, sha256 varchar not null, folder_unit_code varchar not null,
        file_name varchar not null, size_bytes bigint not null, mtime_ns bigint not null,
        received_at timestamp not null, is_duplicate boolean not null, archive_path varchar not null,
        load_id varchar not null""",
    "submissions": """
        sha256 varchar primary key, submission_id varchar, file_name varchar not null,
        folder_unit_code varchar not null, received_at timestamp not null, unit_code varchar,
        form_code varchar, form_version varchar, period_type varchar, period_start date, source_sheet varchar,
        status varchar not null, n_errors integer not null, n_warnings integer not null, version integer,
        parser_version integer not null, load_id varchar not null""",
    "observations": """
        submission_id varchar not null, row_code varchar not null, measure varchar not null, value double,
        value_text varchar, qualifier varchar, source_sheet varchar not null, source_cell varchar not null,
        load_id varchar not null""",
    "problems": """
        problem_id varchar not null, sha256 varchar not null, submission_id varchar, file_name varchar not null,
        folder_unit_code varchar not null, stage varchar not null, severity varchar not null, rule varchar not null,
        row_code varchar, measure varchar, source_sheet varchar, source_cell varchar, value_text varchar,
        message_vi varchar not null, message_en varchar not null, load_id varchar not null""",
    "loads": """
        load_id varchar primary key, started_at timestamp not null, finished_at timestamp,
        files_seen integer, files_new integer, submissions integer, problems integer, catalogue_version integer""",
    "catalogue_forms": """
        form_code varchar primary key, domain varchar, title_vi varchar, title_en varchar, frequency varchar,
        period_type varchar, due_day integer, catalogue_version integer""",
    "catalogue_indicators": """
        form_code varchar, row_code varchar, indicator_name varchar, kind varchar, unit varchar, label_vi varchar,
        label_en varchar, section_vi varchar, of_row_code varchar, sum_of varchar, sort_order integer""",
    "catalogue_settings": """
        catalogue_version integer, reporting_start date, reminder_days_before integer,
        escalate_days_after integer""",
}

OPS_TABLES: dict[str, str] = {
    # one row per alert (the outbox): what is said, to whom, why; send_status/sent_at summarise its deliveries
    "alert_log": """
        alert_id varchar primary key, kind varchar not null, unit_code varchar, form_code varchar,
        period_start date, recipient varchar not null, channel varchar not null, subject varchar not null,
        body varchar not null, reason varchar not null, created_at timestamp not null, sent_at timestamp,
        send_status varchar not null, attachments varchar""",
    # one row per (alert, channel): pending → sent | failed (retried) | no_connection | no_recipient
    "alert_delivery": """
        alert_id varchar not null, channel varchar not null, recipient varchar not null, status varchar not null,
        attempts integer not null, created_at timestamp not null, last_attempt_at timestamp, sent_at timestamp,
        last_error varchar, primary key (alert_id, channel)""",
    # the reporting calendar as of the monitoring DAG's last run (ingest/monitor.py)
    "reporting_status": """
        unit_code varchar not null, unit_name varchar not null, form_code varchar not null,
        period_type varchar not null, period_start date not null, period_label varchar not null,
        due_date date not null, state varchar not null, n_versions integer not null, last_received_date date,
        accepted_received_date date, days_overdue integer not null, as_of date not null""",
}

# Columns added to existing tables after their first release: (table, column, type). ensure_schema adds them to
# a warehouse created before, so an upgrade never needs a rebuild.
ADDED_COLUMNS: list[tuple[str, str, str]] = [
    ("ops.alert_log", "attachments", "varchar"),
]


@contextlib.contextmanager
def connect(path: Path | None = None, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file, closed on exit."""
    target = Path(path) if path else warehouse_path()
    if not read_only:
        target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target), read_only=read_only, config={"memory_limit": duckdb_memory_limit()})
    try:
        yield con
    finally:
        con.close()


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for work on parquet files and frames, under the same memory limit, spilling into the
    data directory (not the worker's current directory)."""
    spill = data_dir() / "tmp" / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={"memory_limit": duckdb_memory_limit(), "temp_directory": str(spill)})


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and ops tables if they are missing, and add columns added since (never drops data)."""
    for schema, tables in (("raw", RAW_TABLES), ("ops", OPS_TABLES)):
        con.execute(f"create schema if not exists {schema}")
        for name, columns in tables.items():
            con.execute(f"create table if not exists {schema}.{name} ({columns})")
    for table, column, type_ in ADDED_COLUMNS:
        con.execute(f"alter table {table} add column if not exists {column} {type_}")


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Append a DataFrame to ``table`` in bulk, matching columns by name."""
    if frame.empty:
        return 0
    con.register("_incoming", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"insert into {table} ({cols}) select {cols} from _incoming")
    finally:
        con.unregister("_incoming")
    return len(frame)


def replace_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Replace the whole contents of a small table (catalogue tables)."""
    con.execute(f"delete from {table}")
    return insert_frame(con, table, frame)
