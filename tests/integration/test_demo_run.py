"""The whole demo inbox (the one `make run` uses) through ingest, dbt and alerts, checked against its manifest.

The demo generator records what it planted (late, missing, wrong sums, a file in the wrong folder, a
damaged file, …) and every number it wrote with its cell; the warehouse must say exactly that.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from devtools.demo import generate_demo
from ingest.catalogue import load_catalogue
from ingest.catalogue.constants import REPORT_STATES
from tests import golden
from tests.integration.helpers import query

pytestmark = pytest.mark.integration

AS_OF = dt.date(2025, 1, 31)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.setenv("SECTORSTATS_DATA_DIR", str(data))
    mp.setenv("SECTORSTATS_AS_OF", AS_OF.isoformat())
    mp.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    mp.delenv("SECTORSTATS_INBOX_DIR", raising=False)
    from ingest.marts.calendar import build_calendar
    from ingest.marts.dbt import run_dbt
    from ingest.pipeline import run_ingest
    from ingest.tell.alerts import dispatch
    from ingest.tell.summary import write_summary

    manifest = generate_demo(data / "inbox", year=2024, seed=2024)
    run_ingest("demo-load-1")
    run_dbt("build", as_of=AS_OF)
    alerts = dispatch(AS_OF)
    calendar = build_calendar(AS_OF)
    summary = write_summary(AS_OF)
    yield data, manifest, alerts, summary, calendar
    mp.undo()


def test_every_file_gets_the_status_its_scenario_calls_for(demo) -> None:
    data, manifest, _, _, _ = demo
    status = dict(query(data, "select sha256, status from raw.submissions"))
    # Outlier and stock-jump warnings are statistical: an "ok" file may get one, never anything else
    statistical = {sha for sha, in query(data, """
        select sha256 from raw.problems group by sha256
        having bool_and(rule in ('outlier-zscore', 'outlier-minmax', 'stock-jump'))""")}
    expected = {f.sha256: f.expected_status for f in manifest.files if f.expected_status}
    got = {sha: ("accepted" if status.get(sha) == "accepted_with_warnings" and sha in statistical
                 and expected[sha] == "accepted" else status.get(sha)) for sha in expected}
    assert got == expected
    assert len(statistical) <= 0.05 * len(expected)  # a warning a district can trust is a rare one
    scenario = {f.sha256: f.scenario for f in manifest.files}
    rules = query(data, "select sha256, rule from raw.problems where severity = 'error'")
    by_scenario: dict[str, set[str]] = {}
    for sha, rule in rules:
        by_scenario.setdefault(scenario[sha], set()).add(rule)
    assert by_scenario["wrong_folder"] == {"unit-folder-mismatch"}
    assert by_scenario["damaged"] == {"file-damaged"}
    assert by_scenario["not_spreadsheet"] == {"file-not-spreadsheet"}
    assert by_scenario["arithmetic_error"] <= {"sum-mismatch", "part-exceeds-whole", "negative-value",
                                               "ytd-below-period"}
    assert "ok" not in by_scenario and "late" not in by_scenario


def test_missing_and_late_reports_match_what_was_planted(demo) -> None:
    data, manifest, _, _, _ = demo
    missing = {(m.unit_code, m.form_code, m.period_start) for m in manifest.missing}
    got = set(query(data, "select unit_code, form_code, period_start from marts.fct_submission "
                          "where status = 'missing'"))
    assert got == missing
    late = {(f.unit_code, f.form_code, f.period_start) for f in manifest.files
            if f.is_late and f.scenario != "correction_bad"}
    got_late = set(query(data, "select unit_code, form_code, period_start from marts.fct_submission "
                               "where on_time = false"))
    assert got_late == late


def test_every_accepted_number_is_in_the_marts_at_its_cell(demo) -> None:
    data, manifest, _, _, _ = demo
    facts = {(s, r, m): (v, c) for s, r, m, v, c in query(data, """
        select submission_id, row_code, measure, value, source_cell from marts.fct_indicator_value""")}
    codes = {(f.code, r.code) for f in load_catalogue().forms for r in f.rows}
    sub_of = dict(query(data, "select sha256, submission_id from raw.submissions"))
    checked: set[tuple[str, str, str]] = set()
    latest = {(u, f, p): s for u, f, p, s in query(data, """
        select unit_code, form_code, period_start, submission_id from marts.fct_submission
        where status in ('accepted', 'accepted_with_warnings')""")}
    for f in manifest.files:
        sid = sub_of.get(f.sha256)
        if sid is None or latest.get((f.unit_code, f.form_code, f.period_start)) != sid:
            continue
        for v in f.values:
            if v.value is None or (f.form_code, v.row_code) not in codes:  # unknown rows are reported, not loaded
                continue
            assert facts[(sid, v.row_code, v.measure)] == (pytest.approx(v.value), v.cell)
            checked.add((sid, v.row_code, v.measure))
    assert checked == set(facts)  # and nothing in the marts that was not written


def test_duplicates_are_one_submission(demo) -> None:
    data, manifest, _, _, _ = demo
    for f in manifest.by_scenario("duplicate"):
        arrivals = query(data, "select file_name, is_duplicate from raw.arrivals where sha256 = ? "
                               "order by received_at", [f.sha256])
        assert len(arrivals) == 2 and [d for _, d in arrivals] == [False, True]
        assert query(data, "select count(*) from raw.submissions where sha256 = ?", [f.sha256]) == [(1,)]


def test_alerts_are_recorded_once(demo) -> None:
    data, manifest, alerts, _, _ = demo
    from ingest.tell.alerts import dispatch

    rows = dict(query(data, "select kind, count(*) from ops.alert_log group by kind"))
    outcome = ("new", "sent", "failed", "waiting", "withdrawn", "owed", "oldest_owed")
    assert rows == {k: v for k, v in alerts.items() if k not in outcome}
    # no Airflow connection here: everything recorded, nothing sent
    assert alerts["sent"] == alerts["failed"] == 0
    unaccepted = query(data, "select count(*) from marts.fct_submission where status in ('missing', 'rejected')")
    assert rows["overdue"] == rows["escalation"] == unaccepted[0][0] >= len(manifest.missing)
    assert "reminder" not in rows  # as of 2025-01-31 nothing is due within three days
    assert dispatch(AS_OF) == {"new": 0, "sent": 0, "failed": 0, "waiting": 0, "withdrawn": 0, "owed": 0,
                               "oldest_owed": None}  # a second run records nothing again (and owes nothing)


def test_the_reporting_calendar_says_where_every_report_stands(demo) -> None:
    """marts.fct_report_status is the one calendar: every report due as of 2025-01-31 in its state, the same
    reports fct_submission expects, and the monitor's build for the day says the same."""
    data, manifest, _, _, calendar = demo
    states = dict(query(data, "select state, count(*) from marts.fct_report_status group by state"))
    assert calendar == {s: states.get(s, 0) for s in REPORT_STATES}
    assert states.get("due_soon", 0) == 0  # January's reports are due 2025-02-10: not within 3 days of the 31st
    assert sum(states.values()) == manifest.expected_reports == 416
    missing = {(m.unit_code, m.form_code, m.period_start) for m in manifest.missing}
    assert set(query(data, "select unit_code, form_code, period_start from marts.fct_report_status "
                           "where state = 'missing'")) == missing
    mismatches = query(data, """
        select * from marts.fct_report_status r full join marts.fct_submission s using (report_id)
        where (r.is_due or s.is_expected) and (r.report_id is null or s.report_id is null or r.status <> s.status
                                              or r.on_time is distinct from s.on_time)""")
    assert mismatches == []


def test_summary_counts(demo) -> None:
    data, manifest, _, summary, _ = demo
    assert summary.splitlines()[0] == "sectorstats — submissions due up to 2025-01-31"
    total = next(line for line in summary.splitlines() if line.startswith("total"))
    expected, accepted, warnings, rejected, missing = (int(x) for x in total.split()[1:6])
    assert expected == manifest.expected_reports == 416
    assert missing == len(manifest.missing)
    assert accepted + warnings + rejected + missing == expected
    assert (Path(data) / "reports" / "summary.json").exists()


def test_a_period_corrected_through_year_to_date_is_derived_in_the_marts(demo) -> None:
    data, manifest, _, _, _ = demo
    by_report = {(f.unit_code, f.form_code, f.period_start): f for f in manifest.files
                 if f.form_code and f.expected_status in ("accepted", "accepted_with_warnings")}
    planted = manifest.by_scenario("ytd_correction")
    assert len(planted) == 2
    for f in planted:
        sid = query(data, "select submission_id from raw.submissions where sha256 = ?", [f.sha256])[0][0]
        warnings = query(data, "select rule, row_code, source_cell from raw.problems where submission_id = ? "
                               "and rule not in ('outlier-zscore', 'outlier-minmax', 'stock-jump') order by 2",
                         [sid])
        rows = f.note.split("rows ")[1].split(" includes")[0].split(", ")
        ytd_cell = {v.row_code: v.cell for v in f.values if v.measure == "ytd"}
        assert warnings == [("ytd-continuity", r, ytd_cell[r]) for r in sorted(rows)]
        step = 1 if load_catalogue().form(f.form_code).frequency == "monthly" else 3
        before = by_report[(f.unit_code, f.form_code,
                            dt.date(f.period_start.year, f.period_start.month - step, 1))]
        for r in rows:
            got = query(data, """
                select reported_value, value, obs_status, source_cell, source_cell_ytd
                from marts.fct_indicator_period_value
                where submission_id = ? and row_code = ?""", [sid, r])
            derived = round(f.value(r, "ytd") - before.value(r, "ytd"), 1)
            period_cell = next(v.cell for v in f.values if v.row_code == r and v.measure == "period")
            assert got == [(f.value(r, "period"), derived, "derived", period_cell, ytd_cell[r])]
            assert derived > f.value(r, "period")


def test_the_warehouse_is_the_one_recorded_cell_for_cell(demo, request: pytest.FixtureRequest) -> None:
    """Refactoring changes no number: the marts, the raw tables and the alerts of the demo equal the fingerprints
    kept in tests/integration/golden/demo.json (see tests/golden.py; --update-golden writes them again)."""
    data, _, _, _, _ = demo
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        got = golden.fingerprint(con, ["raw", "ops", "marts"], data_dir=data)
    finally:
        con.close()
    if request.config.getoption("--update-golden"):
        golden.write("demo", got)
        pytest.skip("golden fingerprints written")
    assert golden.differences(golden.read("demo"), got) == []


# The province report (issue 19): the demo's December 2024 reports of the four forms, read back by the parser.
PROVINCE_MONTH = dt.date(2024, 12, 1)


@pytest.fixture(scope="module")
def province_reports(demo) -> dict[str, Path]:
    from ingest.tell.province_report import form_period, write_province_reports

    forms = load_catalogue().forms
    paths = write_province_reports([(f.code, form_period(f, PROVINCE_MONTH)) for f in forms])
    return {f.code: p for f, p in zip(forms, paths, strict=True)}


def _province_rows(data: Path, form_code: str, period_id: str) -> dict[tuple[str, str], float]:
    from ingest.tell.province_report import MEASURE_COLUMNS

    columns = ", ".join(MEASURE_COLUMNS.values())
    rows = query(data, f"select row_code, {columns} from marts.mart_province_indicator "
                       "where form_code = ? and period_id = ?", [form_code, period_id])
    return {(r[0], measure): v for r in rows for measure, v in zip(MEASURE_COLUMNS, r[1:], strict=True)
            if v is not None}


def test_province_reports_read_back_as_the_marts_province_rows(demo, province_reports) -> None:
    """A round trip: the written workbook, read by the project's own parser, is a valid form of the province
    for the period, whose numbers are the marts' province rows exactly (and the domain marts' province totals)."""
    from ingest.parse.parser import parse_sheets
    from ingest.read.reader import read_workbook
    from ingest.tell.province_report import form_period

    data = demo[0]
    catalogue = load_catalogue()
    for code, path in province_reports.items():
        form = catalogue.form(code)
        period_id = form_period(form, PROVINCE_MONTH)
        assert path == data / "reports" / "province" / period_id / f"{code.replace('/', '_')}_toan_tinh.xlsx"
        parsed = parse_sheets(read_workbook(path.read_bytes()), catalogue, province=True)
        assert (parsed.form, parsed.unit_code, parsed.period_start) == (form, "42", PROVINCE_MONTH.replace(
            month=10 if form.frequency == "quarterly" else 12))
        assert parsed.problems == []
        got = {(o.row_code, o.measure): o.value for o in parsed.observations if o.value is not None}
        expected = _province_rows(data, code, period_id)
        assert got == expected and len(expected) >= 3 * len(form.rows)
        totals = query(data, f"""select * from marts.mart_{form.domain}
                                where is_province_total and form_code = ? and period_id = ?""", [code, period_id])
        columns = [c for c, in query(data, "select column_name from information_schema.columns where "
                                           "table_schema = 'marts' and table_name = ? order by ordinal_position",
                                     [f"mart_{form.domain}"])]
        total = dict(zip(columns, totals[0], strict=True))
        assert {(r.code, "period"): total[r.name] for r in form.rows if total[r.name] is not None} == \
            pytest.approx({k: v for k, v in expected.items() if k[1] == "period"}, abs=1e-6)
        narrative = path.with_suffix(".txt").read_text(encoding="utf-8")
        assert narrative.startswith(f"{form.period_label_vi(parsed.period_start)}, toàn tỉnh ")
        (counted, owed), = query(data, """select count(*) filter (where coverage = 'counted'), count(*)
                                         from marts.mart_province_report_coverage
                                         where form_code = ? and period_id = ?""", [code, period_id])
        assert 0 < counted <= owed
        assert narrative.endswith(f" Số liệu tổng hợp từ báo cáo của {counted}/{owed} đơn vị.\n")


def test_province_report_coverage_lists_the_missing_and_rejected_units(demo, province_reports) -> None:
    import openpyxl

    from ingest.tell.province_report import form_period, load_config

    data, manifest = demo[0], demo[1]
    config = load_config()
    label_of = {v: k for k, v in config.coverage_labels.items()}
    for code, path in province_reports.items():
        form = load_catalogue().form(code)
        period_id = form_period(form, PROVINCE_MONTH)
        ws = openpyxl.load_workbook(path, read_only=True)[config.sheets["coverage"]]
        rows = [r for r in ws.iter_rows(min_row=6, values_only=True) if r[0] is not None]
        listed = {(r[1], label_of[r[3]]) for r in rows}
        start = dict(query(data, "select period_id, period_start from marts.dim_period where period_id = ?",
                           [period_id]))[period_id]
        missing = {m.unit_code for m in manifest.missing if m.form_code == code and m.period_start == start}
        rejected = {u for u, in query(data, "select unit_code from marts.fct_submission where form_code = ? "
                                            "and period_start = ? and status = 'rejected'", [code, start])}
        counted = {u for u, in query(data, "select distinct unit_code from marts.mart_province_indicator_source "
                                           "where form_code = ? and period_id = ?", [code, period_id])}
        assert {u for u, c in listed if c == "missing"} == missing
        assert {u for u, c in listed if c == "rejected"} == rejected
        assert {u for u, c in listed if c == "counted"} == counted
        assert len(rows) == len(listed) == len(missing) + len(rejected) + len(counted)
    # the demo plants missing and rejected reports; December's forms hold some of them
    assert any(m.period_start.year == 2024 and m.period_start.month >= 10 for m in manifest.missing)


def test_province_reports_hold_values_never_formulas_and_every_number_traces_back(demo, province_reports) -> None:
    import openpyxl

    from ingest.tell.province_report import load_config

    config = load_config()
    for path in province_reports.values():
        wb = openpyxl.load_workbook(path)  # formulas as written, not their cached values
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f" and not (isinstance(cell.value, str)
                                                          and cell.value.startswith("=")), (ws.title, cell.coordinate)
        form_sheet, lineage = wb.worksheets[0], wb[config.sheets["lineage"]]
        sums: dict[str, float] = {}
        for r in lineage.iter_rows(min_row=5, values_only=True):
            sums[r[0]] = sums.get(r[0], 0.0) + r[5]
            assert r[6] and r[7] and r[8] and r[10]  # file, sheet, cell, submission
        numbers = {c.coordinate: c.value for row in form_sheet.iter_rows(min_row=12) for c in row
                   if isinstance(c.value, int | float) and c.column >= 5}
        assert numbers and set(numbers) == set(sums)
        assert all(sums[a] == pytest.approx(v, abs=1e-6) for a, v in numbers.items())


def test_a_report_over_its_sheet_limits_says_where_the_numbers_are(demo, tmp_path: Path) -> None:
    """At national scale the annex (a column per unit) and the lineage (a row per unit's number) are left out over
    their limits: each sheet then says, under its title, how large it would have been and which mart holds it;
    the form's own numbers are the same."""
    import dataclasses

    import openpyxl

    from ingest import warehouse
    from ingest.parse.parser import parse_sheets
    from ingest.read.reader import read_workbook
    from ingest.tell.province_report import load_config, write_province_report

    data = demo[0]
    config = load_config()
    small = dataclasses.replace(config, limits=dataclasses.replace(config.limits, annex_units=3, lineage_rows=10))
    (n_sources, n_units), = query(data, """select count(*), count(distinct unit_code) filter (where measure = 'period')
                                          from marts.mart_province_indicator_source
                                          where form_code = '01/LĐVL-H' and period_id = '2024-12'""")
    with warehouse.connect(read_only=True) as con:
        path = write_province_report(con, "01/LĐVL-H", "2024-12", config=small, out_dir=tmp_path)
    wb = openpyxl.load_workbook(path, read_only=True)
    annex = [r for r in wb[config.sheets["annex"]].iter_rows(values_only=True)]
    lineage = [r for r in wb[config.sheets["lineage"]].iter_rows(values_only=True)]
    assert len(annex) == len(lineage) == 4  # title, date, blank, the note
    assert annex[3][0] == (f"Phụ lục này có {n_units} đơn vị, nhiều hơn 3 đơn vị một sheet ghi được: số liệu của "
                           "từng đơn vị ở bảng marts.mart_province_indicator_source (form_code = '01/LĐVL-H', "
                           "period_id = '2024-12', measure = 'period').")
    assert n_sources == 728  # written the Vietnamese way below when over a thousand
    assert lineage[3][0] == ("Nguồn của các số liệu có 728 dòng, nhiều hơn 10 dòng một sheet ghi được: "
                             "xem bảng marts.mart_province_indicator_source (form_code = '01/LĐVL-H', "
                             "period_id = '2024-12').")
    parsed = parse_sheets(read_workbook(path.read_bytes()), load_catalogue(), province=True)
    assert {(o.row_code, o.measure): o.value for o in parsed.observations if o.value is not None} == \
        _province_rows(data, "01/LĐVL-H", "2024-12")


def test_the_transform_writes_the_province_reports_whose_figures_changed(demo, tmp_path: Path) -> None:
    """What the transform DAG's province_reports task does: every (form, period) the marts hold the first time,
    none the second, and a report gone is written again."""
    from ingest.tell.province_report import write_changed_province_reports

    data = demo[0]
    pairs = set(query(data, "select distinct form_code, period_id from marts.mart_province_report_coverage"))
    first = write_changed_province_reports(out_dir=tmp_path)
    assert len(first) == len(pairs) and len(pairs) >= 4 * 12 // 2
    assert write_changed_province_reports(out_dir=tmp_path) == []
    first[0].unlink()
    assert write_changed_province_reports(out_dir=tmp_path) == [first[0]]
