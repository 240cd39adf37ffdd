"""ingest.marts.calendar: the reporting calendar — what each unit owes, and in which state, as of a day."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ingest import warehouse
from ingest.catalogue import load_catalogue
from ingest.marts import calendar as monitor

CAT = load_catalogue()
EMPLOYMENT, TRAINING = "01/LĐVL-H", "02/GDNN-H"


def vn(day: str, hour: int = 9) -> dt.datetime:
    """A Vietnamese local time as the naive UTC timestamp the ledger stores."""
    return dt.datetime.fromisoformat(day) + dt.timedelta(hours=hour - 7)


def ledger(con: warehouse.Connection, rows: list[tuple]) -> None:
    """rows: (unit, form, period_start, status, version, received_at)."""
    frame = pd.DataFrame([{
        "sha256": f"{u}{f}{p}{v}", "submission_id": f"{u}{p}{v}", "file_name": "x.xlsx", "folder_unit_code": u,
        "received_at": at, "unit_code": u, "form_code": f, "form_version": "2024",
        "period_type": CAT.form(f).period_type, "period_start": dt.date.fromisoformat(p), "source_sheet": "B",
        "status": s, "n_errors": int(s == "rejected"), "n_warnings": 0, "version": v, "parser_version": 1,
        "load_id": "l1"} for u, f, p, s, v, at in rows])
    warehouse.insert_frame(con, "raw.submissions", frame)


def state(grid: pd.DataFrame, unit: str, form: str, period: str) -> tuple:
    row = grid[(grid.unit_code == unit) & (grid.form_code == form)
               & (grid.period_start == dt.date.fromisoformat(period))]
    assert len(row) == 1, (unit, form, period, len(row))
    r = row.iloc[0]
    return r.state, int(r.days_overdue)


def test_states_of_reports_around_their_due_dates(con) -> None:
    ledger(con, [
        ("440", EMPLOYMENT, "2024-01-01", "accepted", 1, vn("2024-02-10", 23)),  # the due day, 23:00 in Vietnam
        ("443", EMPLOYMENT, "2024-01-01", "accepted_with_warnings", 1, vn("2024-02-11", 6)),  # 06:00 the next day
        ("441", EMPLOYMENT, "2024-01-01", "rejected", 1, vn("2024-02-05")),
        ("442", EMPLOYMENT, "2024-01-01", "rejected", 1, vn("2024-02-05")),
        ("442", EMPLOYMENT, "2024-01-01", "accepted", 2, vn("2024-02-09")),  # corrected in time
        ("444", EMPLOYMENT, "2024-02-01", "accepted", 1, vn("2024-03-07")),  # February, early
        ("445", EMPLOYMENT, "2024-02-01", "accepted", 1, vn("2024-03-09")),  # arrives after the as-of day
    ])
    grid = monitor.reporting_status(con, CAT, dt.date(2024, 3, 8))
    assert state(grid, "440", EMPLOYMENT, "2024-01-01") == ("on_time", 0)
    assert state(grid, "443", EMPLOYMENT, "2024-01-01") == ("late", 0)
    assert state(grid, "441", EMPLOYMENT, "2024-01-01") == ("rejected", 27)
    assert state(grid, "442", EMPLOYMENT, "2024-01-01") == ("on_time", 0)
    assert state(grid, "436", EMPLOYMENT, "2024-01-01") == ("missing", 27)
    # February is due on 2024-03-10: within the 3-day reminder window on the 8th
    assert state(grid, "436", EMPLOYMENT, "2024-02-01") == ("due_soon", 0)
    assert state(grid, "444", EMPLOYMENT, "2024-02-01") == ("on_time", 0)
    assert state(grid, "445", EMPLOYMENT, "2024-02-01") == ("due_soon", 0)  # not received yet on the 8th
    # Q1 training is due 2024-04-15: not in the grid yet (beyond the reminder window)
    assert grid[grid.form_code == TRAINING].empty
    # 13 units × (Jan + Feb) of two monthly forms; Q4 2023 is before reporting_start
    assert len(grid) == 13 * 2 * 2
    assert monitor.state_counts(grid) == {"due_soon": 25, "on_time": 3, "late": 1,
                                          "rejected": 1, "missing": 22}


def test_a_report_is_due_soon_only_within_the_reminder_window(con) -> None:
    before = monitor.reporting_status(con, CAT, dt.date(2024, 3, 6))  # due 2024-03-10: 4 days ahead
    assert before[before.period_start == dt.date(2024, 2, 1)].empty
    on_due_day = monitor.reporting_status(con, CAT, dt.date(2024, 3, 10))
    assert state(on_due_day, "436", EMPLOYMENT, "2024-02-01") == ("due_soon", 0)
    after = monitor.reporting_status(con, CAT, dt.date(2024, 3, 11))
    assert state(after, "436", EMPLOYMENT, "2024-02-01") == ("missing", 1)


def test_units_owe_only_the_periods_they_existed_in(con) -> None:
    grid = monitor.reporting_status(con, CAT, dt.date(2025, 2, 15))
    loc_ha = grid[grid.unit_code == "448"]
    assert loc_ha.period_start.max() == dt.date(2024, 12, 1)  # dissolved 2025-01-01: owes nothing for 2025
    assert sorted(grid[grid.period_start == dt.date(2025, 1, 1)].unit_code.unique()) == sorted(
        u.code for u in CAT.units if u.exists_on(dt.date(2025, 1, 1)) and u.level == "district")
    # from 2025-07-01 the communes report, the districts no longer do
    grid = monitor.reporting_status(con, CAT, dt.date(2025, 8, 12))
    july = grid[(grid.period_start == dt.date(2025, 7, 1)) & (grid.form_code == EMPLOYMENT)]
    assert len(july) == 69 and set(july.unit_code) == {u.code for u in CAT.units if u.level == "commune"}
    june = grid[(grid.period_start == dt.date(2025, 6, 1)) & (grid.form_code == EMPLOYMENT)]
    assert len(june) == 12
    # a quarter that straddles no boundary: Q3 2025 is owed by the communes only, once it is near due
    q3 = monitor.reporting_status(con, CAT, dt.date(2025, 10, 14))
    assert set(q3[(q3.form_code == TRAINING) & (q3.period_start == dt.date(2025, 7, 1))].unit_code) == {
        u.code for u in CAT.units if u.level == "commune"}


def test_write_status_replaces_the_previous_grid(con) -> None:
    monitor.write_status(con, monitor.reporting_status(con, CAT, dt.date(2024, 3, 8)))
    monitor.write_status(con, monitor.reporting_status(con, CAT, dt.date(2024, 3, 11)))
    assert con.exec_driver_sql("select distinct as_of from ops.reporting_status").fetchall() == [
        (dt.date(2024, 3, 11),)]
    assert con.exec_driver_sql("select count(*) from ops.reporting_status").fetchone() == (13 * 2 * 2,)
