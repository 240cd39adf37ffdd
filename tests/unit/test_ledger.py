"""ingest.warehouse.ledger: the versions of a report numbered by arrival, and the one that counts marked."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ingest import warehouse
from ingest.warehouse.ledger import number_versions
from ingest.warehouse.tables import table


def _ledger(con: warehouse.Connection, rows: list[tuple]) -> None:
    """rows: (sha256, unit, form, period, status, received_at); a None unit is a file never identified."""
    frame = pd.DataFrame([{
        "sha256": sha, "submission_id": sha if unit else None, "file_name": f"{sha}.xlsx", "folder_unit_code": "443",
        "received_at": dt.datetime.fromisoformat(at), "unit_code": unit, "form_code": form,
        "period_start": dt.date.fromisoformat(period) if period else None, "status": status,
        "n_errors": 0, "n_warnings": 0, "parser_version": 1, "load_id": "l"}
        for sha, unit, form, period, status, at in rows], columns=table("raw.submissions").names)
    warehouse.insert_frame(con, "raw.submissions", frame)


def test_the_highest_accepted_version_counts_and_a_later_rejection_never_replaces_it(con) -> None:
    _ledger(con, [
        ("a1", "436", "M", "2024-10-01", "accepted", "2024-11-05 02:00"),
        ("a2", "436", "M", "2024-10-01", "rejected", "2024-11-12 03:00"),  # v2 rejected: v1 still counts
        ("b1", "445", "M", "2024-11-01", "accepted_with_warnings", "2024-12-09 02:00"),
        ("b2", "445", "M", "2024-11-01", "accepted", "2024-12-11 02:00"),  # v2 accepted: it counts
        ("c1", "448", "M", "2024-12-01", "rejected", "2025-01-09 08:00"),
        ("c2", "448", "M", "2024-12-01", "rejected", "2025-01-10 08:00"),  # never accepted: nothing counts
        ("d3", "436", "Q", "2024-10-01", "accepted", "2025-01-15 02:00"),  # loaded out of order
        ("d1", "436", "Q", "2024-10-01", "accepted", "2025-01-13 02:00"),
        ("d2", "436", "Q", "2024-10-01", "accepted", "2025-01-14 02:00"),
        ("x0", "436", "Q", "2024-10-01", "accepted", "2025-01-14 02:00"),  # same time as d2: by sha256 first
        ("zz", None, None, None, "rejected", "2025-01-09 09:00"),  # not identified: no version
    ])
    number_versions(con)
    got = dict((sha, (v, latest)) for sha, v, latest in warehouse.execute(
        con, "select sha256, version, is_latest_accepted from raw.submissions").fetchall())
    assert got == {"a1": (1, True), "a2": (2, False), "b1": (1, False), "b2": (2, True), "c1": (1, False),
                   "c2": (2, False), "d1": (1, False), "d2": (2, False), "x0": (3, False), "d3": (4, True),
                   "zz": (None, None)}
    number_versions(con)  # idempotent
    assert warehouse.execute(con, "select count(*) from raw.submissions where is_latest_accepted").scalar() == 3


def test_a_ledger_from_before_the_flag_is_marked_when_the_schema_is_upgraded(tmp_path) -> None:
    path = tmp_path / "old.duckdb"
    with warehouse.connect(path) as con:  # raw.submissions as released before is_latest_accepted
        warehouse.execute(con, "create schema raw")
        warehouse.execute(con, table("raw.submissions").ddl().replace(" is_latest_accepted boolean,", ""))
        warehouse.execute(con, """insert into raw.submissions (sha256, submission_id, file_name, folder_unit_code,
                received_at, unit_code, form_code, period_start, status, n_errors, n_warnings, version,
                parser_version, load_id) values
            ('a1', 'a1', 'a.xlsx', '436', timestamp '2024-11-05 02:00', '436', 'M', date '2024-10-01', 'accepted',
             0, 0, 1, 1, 'l'),
            ('a2', 'a2', 'b.xlsx', '436', timestamp '2024-11-12 02:00', '436', 'M', date '2024-10-01', 'accepted',
             0, 0, 2, 1, 'l')""")
    with warehouse.connect(path) as con:
        warehouse.ensure_schema(con)
        got = warehouse.execute(con, "select sha256, is_latest_accepted from raw.submissions order by 1").fetchall()
    assert got == [("a1", False), ("a2", True)]
