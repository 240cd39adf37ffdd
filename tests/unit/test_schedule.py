"""ingest.orchestration.schedule: the DAGs' timetables follow the reporting calendar of the catalogue."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from ingest.catalogue import load_catalogue
from ingest.orchestration import schedule
from ingest.parse.stage import period_range

CAT = load_catalogue()


def test_window_covers_every_due_day_and_the_escalation_delay() -> None:
    assert {f.due_day for f in CAT.forms} == {10, 15} and CAT.escalate_days_after == 7
    assert schedule.reporting_window_days(CAT) == (1, 22)
    assert schedule.ingest_crons(CAT) == ("0 * 1-22 * *", "0 */6 23-31 * *")


def test_window_follows_the_catalogue() -> None:
    late = dataclasses.replace(CAT, escalate_days_after=20)
    assert schedule.reporting_window_days(late) == (1, 28)  # capped: every month has a 28th


def _runs(timetable, start: pendulum.DateTime, n: int) -> list[pendulum.DateTime]:
    out, last = [], None
    restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
    for _ in range(n):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        out.append(info.run_after.in_tz(schedule.TIMEZONE))
        last = DataInterval(info.run_after, info.run_after)
    return out


def test_hourly_inside_the_window_six_hourly_outside() -> None:
    tt = schedule.ingest_timetable(CAT)
    vn = pendulum.timezone(schedule.TIMEZONE)
    inside = _runs(tt, pendulum.datetime(2024, 11, 10, 0, 30, tz=vn), 3)
    assert [r.strftime("%d %H:%M") for r in inside] == ["10 01:00", "10 02:00", "10 03:00"]
    outside = _runs(tt, pendulum.datetime(2024, 11, 22, 22, 30, tz=vn), 4)
    assert [r.strftime("%d %H:%M") for r in outside] == ["22 23:00", "23 00:00", "23 06:00", "23 12:00"]


def test_monitor_runs_at_eight_in_vietnam() -> None:
    runs = _runs(schedule.monitor_timetable(), pendulum.datetime(2024, 11, 10, 9, tz="UTC"), 2)
    assert [(r.day, r.hour, r.utcoffset()) for r in runs] == [(11, 8, dt.timedelta(hours=7)),
                                                               (12, 8, dt.timedelta(hours=7))]


def test_period_range_for_reprocessing() -> None:
    assert period_range(None, None) is None
    assert period_range("2024-01", "2024-06") == (dt.date(2024, 1, 1), dt.date(2024, 6, 1))
    assert period_range("2024-04", None) == (dt.date(2024, 4, 1), dt.date(9999, 12, 1))
    with pytest.raises(ValueError, match=r"period '2024-13' is not a month \(YYYY-MM\)"):
        period_range("2024-13", None)
    with pytest.raises(ValueError, match=r"period range 2024-06 … 2024-01 is empty"):
        period_range("2024-06", "2024-01")
