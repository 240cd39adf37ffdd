"""ingest.marts.calendar: the reporting calendar dbt built, read as it is, and never one of another day.

Which reports are owed and in which state is dbt's (fct_report_status: its unit tests, and the integration tests
that build it); here, what the Python side does with it."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest import warehouse
from ingest.marts.calendar import CalendarOutOfDate, read_calendar, state_counts
from tests.unit.calendar_rows import Got, calendar, write_calendar

AS_OF = dt.date(2024, 3, 8)


def test_the_calendar_is_read_with_dates_and_counted_by_state(con: warehouse.Connection) -> None:
    assert read_calendar(con).empty  # before dbt built it
    grid = calendar(AS_OF, ["01/LĐVL-H"], ["2024-01-01", "2024-02-01"],
                    {("440", "01/LĐVL-H", "2024-01-01"): Got("on_time", accepted_received="2024-02-10")})
    write_calendar(con, grid)
    got = read_calendar(con, AS_OF)
    assert len(got) == 26 and list(got.columns) == list(grid.columns)
    row = got[(got.unit_code == "440") & (got.period_start == dt.date(2024, 1, 1))].iloc[0]
    assert (row.due_date, row.accepted_received_date, row.as_of) == (
        dt.date(2024, 2, 10), dt.date(2024, 2, 10), AS_OF)
    assert state_counts(got) == {"due_soon": 13, "on_time": 1, "late": 0, "rejected": 0, "unreadable": 0,
                                 "missing": 12}


def test_a_calendar_of_another_day_is_refused(con: warehouse.Connection) -> None:
    write_calendar(con, calendar(AS_OF, ["01/LĐVL-H"], ["2024-01-01"]))
    with pytest.raises(CalendarOutOfDate, match=r"as of 2024-03-08, not 2024-03-09: build it for that day with "
                                                r"`python -m ingest monitor`"):
        read_calendar(con, AS_OF + dt.timedelta(days=1))
