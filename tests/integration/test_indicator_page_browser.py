"""The indicator page of a realistic year, drawn from real marts and opened in headless Chromium.

Demo submissions of four units for 2024 (Lộc Hà, 448, among them: its numbers are restated on Thạch Hà and the city
of Hà Tĩnh) go through ingest and ``dbt build``; ``write_indicator_page`` draws ``reports/indicators.html``; Chromium
loads it from disk with no console error, draws every chart, and the number of every mark, read back from the DOM
Chromium built, equals the marts' number for its series (province, reported, restated), unit, indicator, period and
measure — queried here from the marts directly, not through the page's own reader.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from ingest.tell.indicator_page import PAGE_NAME, page_spec
from tests.doors.browser import Chromium

pytestmark = pytest.mark.integration

AS_OF = dt.date(2025, 1, 31)
UNITS = ["436", "441", "443", "448"]
MEASURES = {"period": "value", "ytd": "value_ytd", "ytd_prev_year": "value_prev_year_ytd", "plan_year": "plan_year"}

MARKS_JS = """[...document.querySelectorAll('svg.chart [data-measure]')].map(m => {
    const svg = m.closest('svg');
    return [svg.dataset.series, svg.dataset.unit || null, svg.dataset.indicator, m.dataset.period,
            m.dataset.measure, Number(m.dataset.value)];
})"""
SIZES_JS = """[...document.querySelectorAll('svg.chart')].map(s => {
    const box = s.getBoundingClientRect(); return [box.width, box.height, s.querySelectorAll('title').length];
})"""


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("indicator-page")
    mp = pytest.MonkeyPatch()
    mp.setenv("SECTORSTATS_DATA_DIR", str(data))
    mp.setenv("SECTORSTATS_AS_OF", AS_OF.isoformat())
    mp.setenv("SECTORSTATS_PARSE_WORKERS", "1")
    for name in ("SECTORSTATS_WAREHOUSE", "SECTORSTATS_WAREHOUSE_URL", "SECTORSTATS_INBOX_DIR"):
        mp.delenv(name, raising=False)
    from devtools.demo import generate_demo
    from ingest.marts.dbt import build_marts
    from ingest.pipeline import run_ingest
    from ingest.tell.indicator_page import write_indicator_page

    generate_demo(data / "inbox", year=2024, seed=2024, unit_codes=UNITS)
    run_ingest("indicator-page-load")
    build_marts(AS_OF)
    path = write_indicator_page(AS_OF)
    yield data, path
    mp.undo()


def expected_marks(data: Path) -> set[tuple]:
    """What the page must draw, from the marts: per unit as reported, per 2025 unit restated where the reform
    changed it, for the rows of indicator_page.yaml and the form's own periods of 2024."""
    import duckdb

    spec = page_spec()
    wanted = {(f, r) for f, rows in spec.rows.items() for r in rows}
    out: set[tuple] = set()
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        reported = con.sql("""select unit_code, form_code, row_code, period_start, value, value_ytd,
                                     value_prev_year_ytd, plan_year
                              from marts.fct_indicator_period_value
                              where not is_rollup and year(period_start) = 2024""").fetchall()
        province = con.sql("""select form_code, row_code, period_start, value, value_ytd, value_prev_year_ytd,
                                     plan_year
                              from marts.mart_province_indicator where year(period_start) = 2024""").fetchall()
        restated = con.sql("""
            select restated_unit_code, form_code, row_code, period_start, measure, sum(restated_value)
            from marts.fct_indicator_value_restated
            where year(period_start) = 2024 and restated_unit_code in (
                select restated_unit_code from marts.fct_indicator_value_restated where is_restated)
            group by all""").fetchall()
        kinds = dict(((f, r), k) for f, r, k in con.sql(
            "select form_code, row_code, kind from marts.dim_indicator").fetchall())
    marks = []
    for unit, form, row, start, *values in reported:
        for measure, value in zip(MEASURES, values, strict=True):
            marks.append(("reported", unit, form, row, start, measure, value))
    marks += [("restated", unit, form, row, start, measure, value)
              for unit, form, row, start, measure, value in restated]
    for form, row, start, *values in province:
        for measure, value in zip(MEASURES, values, strict=True):
            marks.append(("province", None, form, row, start, measure, value))
    plans: dict[tuple, tuple] = {}  # one plan line per chart: the plan of its latest period that has one
    for series, unit, form, row, start, measure, value in marks:
        if (form, row) not in wanted or value is None:
            continue
        if kinds[(form, row)] == "stock" and measure in ("ytd", "plan_year"):
            continue  # a stock is its level: no year to date, no plan drawn
        mark = (series, unit, f"{form}|{row}", f"{start:%Y-%m}", measure, float(value))
        if measure == "plan_year":
            plans[mark[:3]] = max(plans.get(mark[:3], mark), mark, key=lambda m: m[3])
        else:
            out.add(mark)
    return out | set(plans.values())


def test_chromium_draws_the_marts_numbers(drawn, tmp_path: Path) -> None:
    data, path = drawn
    assert path == Path(os.environ["SECTORSTATS_DATA_DIR"]).resolve() / "reports" / PAGE_NAME
    browser = Chromium(tmp_path / "profile")
    try:
        tab = browser.new_tab()
        tab.open(path.as_uri())
        marks = tab.evaluate(MARKS_JS)
        sizes = tab.evaluate(SIZES_JS)
        title = tab.evaluate("document.title")
        errors = tab.errors()
    finally:
        browser.close()
    assert errors == []
    assert title == "sectorstats — chỉ tiêu năm 2024 / indicators 2024"
    # every chart was laid out at its size, with a tooltip per mark
    assert sorted({(w, h) for w, h, _ in sizes}) == [(250, 120), (520, 200)] and all(n > 0 for *_, n in sizes)
    got = [tuple(m) for m in marks]
    assert len(got) == len(set(got))  # no mark drawn twice
    assert set(got) == expected_marks(data)
    # Lộc Hà (448) reported, its numbers restated on Thạch Hà (445) and the city (436); the others unchanged
    charts = {(s, u) for s, u, *_ in got}
    assert {u for s, u in charts if s == "restated"} == {"436", "445"}
    assert {u for s, u in charts if s == "reported"} == set(UNITS)
    assert ("province", None) in charts
    # the province's chart is the sum of the units' as reported (flows here: the first row of the first form)
    jobs = {m[3]: m[5] for m in got if m[1:3] == (None, "01/LĐVL-H|01") and m[4] == "period"}
    units = [m for m in got if m[0] == "reported" and m[2] == "01/LĐVL-H|01" and m[4] == "period"]
    assert jobs == {p: sum(m[5] for m in units if m[3] == p) for p in jobs} and len(jobs) == 12
