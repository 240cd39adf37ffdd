"""Fuzzing whole workbooks: whatever the layout and however the numbers are typed, every number written
is read back at its cell, or a problem is recorded on that cell — never a crash, never a silent wrong number."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.catalogue import load_catalogue
from ingest.parse.stage import parse_file
from ingest.read.numbers import format_vi
from ingest.tell.official_forms import Quirks, form_bytes

CAT = load_catalogue()
MEASURES = ("plan_year", "period", "ytd", "ytd_prev_year")
JUNK = ["n/a", "12/15", "1.234,5.6", "x", "không có", "1,2,3", "--5", "12 34", "1,234", "0,5.5"]


@st.composite
def typed_cell(draw: st.DrawFn) -> tuple[object, float | None, str | None, bool]:
    """(what is typed, the value it means, its qualifier, whether it is a problem)."""
    n = draw(st.one_of(st.integers(0, 2_000_000), st.integers(0, 99_999).map(lambda x: x / 10)))
    kind = draw(st.sampled_from(["number", "text", "dash", "qualified", "blank", "junk"]))
    if kind == "number":
        return n, float(n), None, False
    if kind == "text":
        decimals = 0 if float(n).is_integer() else 1
        return format_vi(n, decimals), float(n), None, False
    if kind == "dash":
        return "-", 0.0, None, False
    if kind == "qualified":
        word, qualifier = draw(st.sampled_from([("khoảng", "about"), ("trên", "over"), ("gần", "nearly"),
                                                ("ước", "estimate")]))
        return f"{word} {format_vi(n, 0 if float(n).is_integer() else 1)}", float(n), qualifier, False
    if kind == "blank":
        return None, None, None, False
    return draw(st.sampled_from(JUNK)), None, None, True


@st.composite
def workbook(draw: st.DrawFn):
    form = draw(st.sampled_from(CAT.forms))
    # a district-level unit of 2024, or a commune-level unit in the second half of 2025 (they report from July)
    unit = draw(st.one_of(st.sampled_from([u for u in CAT.units if u.exists_on(dt.date(2024, 12, 31))]),
                          st.sampled_from([u for u in CAT.units if u.is_commune])))
    year, first_month = (2025, 7) if unit.is_commune else (2024, 1)
    if form.frequency == "monthly":
        month = draw(st.integers(first_month, 12))
    else:
        month = 3 * draw(st.integers((first_month - 1) // 3, 3)) + 1
    typed = {(r.code, m): draw(typed_cell()) for r in form.rows for m in MEASURES}
    quirks = Quirks(
        extra_rows_before=draw(st.integers(0, 4)),
        note_row_after=draw(st.one_of(st.none(), st.sampled_from(form.row_codes))),
        sheet_name=draw(st.sampled_from([None, "Sheet1", "BC thang", "Biểu mẫu"])),
        extra_sheet_first=draw(st.booleans()),
        unknown_row=draw(st.one_of(st.none(), st.just("99"))),
    )
    return form, unit, dt.date(year, month, 1), typed, quirks


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workbook())
def test_every_number_read_back_or_reported_at_its_cell(case) -> None:
    form, unit, period, typed, quirks = case
    rendered = form_bytes(form, unit, period, {k: v[0] for k, v in typed.items()}, options=quirks)
    parsed = parse_file(rendered.data, CAT)
    assert parsed.form == form and parsed.unit_code == unit.code and parsed.period_start == period
    got = {(o.row_code, o.measure): o for o in parsed.observations}
    problems = {(f.where.row_code, f.where.measure): f for f in parsed.problems if f.rule == "value-not-number"}
    stock = {r.code for r in form.rows if r.kind == "stock"}
    for key, cell in rendered.cells.items():
        code, measure = key
        value, _, qualifier, is_problem = typed[key]
        if code in stock and measure == "ytd" and typed[key][0] is None:
            value, _, qualifier, is_problem = typed[(code, "period")]  # the writer repeats the period
        if code in stock and measure == "plan_year":
            assert key not in problems and (key not in got or got[key].value is None)
            continue
        if is_problem:
            assert key not in got
            assert (problems[key].where.cell, problems[key].value) == (cell, value)
            continue
        assert key not in problems
        expected_value = typed[key][1] if not (code in stock and measure == "ytd" and typed[key][0] is None) \
            else typed[(code, "period")][1]
        assert (got[key].value, got[key].qualifier, got[key].source_cell) == (expected_value, qualifier, cell)
    # no number read that was not written: an empty cell is read as no value
    assert {k for k, o in got.items() if o.value is not None} <= set(rendered.cells)
    assert {f.rule for f in parsed.problems} <= {"value-not-number"}
