"""ingest.parse.stage: a bug of ours on one file is recorded on that file, never fatal; which files a load takes."""

from __future__ import annotations

import pytest

from ingest import warehouse
from ingest.catalogue import load_catalogue
from ingest.catalogue.problems import Problem
from ingest.package import OBSERVATION_COLUMNS
from ingest.parse import stage as parsing


def test_an_unexpected_error_becomes_an_internal_error_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(sheets, catalogue):
        raise IndexError("list index out of range")

    monkeypatch.setattr(parsing, "parse_sheets", broken)
    from ingest.tell.official_forms import form_bytes

    cat = load_catalogue()
    data = form_bytes(cat.form("01/LĐVL-H"), cat.unit("443")).data
    assert parsing.parse_file(data, cat) == Problem.at("internal-error", detail="IndexError: list index out of range")


def test_pending_files_are_the_first_arrival_of_contents_not_parsed_by_this_parser(con: warehouse.Connection) -> None:
    import datetime as dt

    t = dt.datetime(2024, 11, 5, 2)
    for i, (sha, name, hours) in enumerate([("a", "first.xlsx", 0), ("a", "again.xlsx", 5), ("b", "b.xlsx", 1),
                                            ("c", "c.xlsx", 2), ("d", "d.xlsx", 3)]):
        con.exec_driver_sql("insert into raw.arrivals values (?, ?, '443', ?, 1, 1, ?, false, 'x', 'L', null)",
                    (f"id{i}", sha, name, t + dt.timedelta(hours=hours)))
    for sha, version in (("b", parsing.PARSER_VERSION), ("c", parsing.PARSER_VERSION - 1)):
        con.exec_driver_sql("""insert into raw.submissions (sha256, file_name, folder_unit_code, received_at, status,
                       n_errors, n_warnings, parser_version, load_id) values (?, 'x', '443', ?, 'accepted', 0, 0, ?,
                       'L')""", (sha, t, version))
    pending = parsing.pending_files(con)
    assert list(pending[["sha256", "file_name"]].itertuples(index=False, name=None)) == [
        ("a", "first.xlsx"), ("c", "c.xlsx"), ("d", "d.xlsx")]
    assert list(parsing.pending_files(con, reprocess=True)["sha256"]) == ["a", "b", "c", "d"]


def test_reprocessing_a_period_range_takes_the_reports_of_those_periods(con: warehouse.Connection) -> None:
    import datetime as dt

    t = dt.datetime(2024, 11, 5, 2)
    periods = {"jan": dt.date(2024, 1, 1), "q2": dt.date(2024, 4, 1), "jun": dt.date(2024, 6, 1),
               "jul": dt.date(2024, 7, 1), "unknown": None}
    for i, (sha, period) in enumerate(periods.items()):
        con.exec_driver_sql("insert into raw.arrivals values (?, ?, '443', ?, 1, 1, ?, false, 'x', 'L', null)",
                    (f"id{i}", sha, f"{sha}.xlsx", t + dt.timedelta(hours=i)))
        con.exec_driver_sql("""insert into raw.submissions (sha256, file_name, folder_unit_code, received_at,
                       period_start, status, n_errors, n_warnings, parser_version, load_id)
                       values (?, 'x', '443', ?, ?, 'accepted', 0, 0, ?, 'L')""",
                    (sha, t, period, parsing.PARSER_VERSION))
    first_half = parsing.period_range("2024-01", "2024-06")
    assert list(parsing.pending_files(con, True, first_half)["sha256"]) == ["jan", "q2", "jun"]
    assert list(parsing.pending_files(con, True, parsing.period_range("2024-06", None))["sha256"]) == ["jun", "jul"]
    assert list(parsing.pending_files(con, True)["sha256"]) == ["jan", "q2", "jun", "jul", "unknown"]
    assert parsing.pending_files(con, False, first_half).empty  # nothing to do without --reprocess


def test_an_observation_is_a_row_of_raw_observations() -> None:
    """parse_chunk writes each Observation as (submission_id, *observation) under the declared columns."""
    from ingest.parse.parser import Observation

    assert ["submission_id", *Observation._fields] == OBSERVATION_COLUMNS


def test_a_file_that_cannot_be_read_still_says_which_report_it_is_for() -> None:
    """The claims the calendar reads for a file never identified: the sheet's word, else the file name's."""
    import datetime as dt

    from ingest.parse.parser import ParsedSubmission

    cat = load_catalogue()
    jul = dt.datetime(2024, 7, 20, 2)
    assert parsing.claims("bieu01_T6.xlsx", "443", jul, None, cat) == {
        "claimed_unit_code": "443", "claimed_form_code": "01/LĐVL-H", "claimed_period_start": dt.date(2024, 6, 1)}
    # a sheet that names its form and period (its table unreadable) is believed before the name
    said = ParsedSubmission(form=cat.form("03/BTXH-H"), period_start=dt.date(2024, 5, 1))
    assert parsing.claims("bieu01_T6.xlsx", "443", jul, said, cat)["claimed_form_code"] == "03/BTXH-H"
    assert parsing.claims("bieu01_T6.xlsx", "443", jul, said, cat)["claimed_period_start"] == dt.date(2024, 5, 1)
    # the form from the sheet, the period from the name when they agree on the form
    form_only = ParsedSubmission(form=cat.form("01/LĐVL-H"))
    assert parsing.claims("bieu01_T6.xlsx", "443", jul, form_only, cat)["claimed_period_start"] == dt.date(2024, 6, 1)
    # nothing claimed without a form and a period, or from a folder that is no unit
    none = {"claimed_unit_code": None, "claimed_form_code": None, "claimed_period_start": None}
    assert parsing.claims("BC thang 6.xlsx", "443", jul, None, cat) == none
    assert parsing.claims("bieu01_T6.xlsx", "", jul, None, cat) == none
