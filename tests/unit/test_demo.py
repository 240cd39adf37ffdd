"""The demo inbox: deterministic, arithmetically consistent, with every planted case present."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from devtools.demo import SCENARIOS, DemoFile, DemoManifest, generate_demo
from ingest.catalogue import load_catalogue

CAT = load_catalogue()
ACCEPTED = ("ok", "late", "correction_fixed", "wrong_folder", "duplicate", "unknown_row", "ytd_correction")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, DemoManifest, float]:
    inbox = tmp_path_factory.mktemp("inbox")
    start = time.perf_counter()
    manifest = generate_demo(inbox, year=2024, seed=2024)
    return inbox, manifest, time.perf_counter() - start


def _rc(address: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", address)
    assert m, address
    return int(m[2]) - 1, ord(m[1]) - 65


def _arithmetic_problems(f: DemoFile) -> list[str]:
    """What is wrong with a file's numbers by the form's rules (empty when consistent)."""
    form = CAT.form(f.form_code)
    vm = {k: v for k, v in f.value_map().items() if k[0] in form.row_codes}  # an unknown row has no rules
    out = []
    for (code, m), v in vm.items():
        if v < 0:
            out.append(f"{code}/{m} negative")
        if round(v, 1) != v:
            out.append(f"{code}/{m} more than one decimal")
    for row in form.rows:
        for m in ("plan_year", "period", "ytd", "ytd_prev_year"):
            if (row.code, m) not in vm:
                continue
            if row.sum_of:
                parts = [vm.get((p, m)) for p in row.sum_of]
                if any(p is None for p in parts) or round(sum(parts), 1) != vm[(row.code, m)]:
                    out.append(f"{row.code}/{m} ≠ sum of {row.sum_of}")
            if row.of and vm[(row.code, m)] > vm.get((row.of, m), float("inf")):
                out.append(f"{row.code}/{m} > {row.of}")
    return out


def test_generation_is_fast_enough(demo):
    _, _, seconds = demo
    assert seconds < 20, seconds  # about 4 s on a laptop; generous for CI


def test_same_seed_same_manifest_and_bytes(tmp_path):
    a = generate_demo(tmp_path / "a", seed=7, unit_codes=["441", "437"])
    b = generate_demo(tmp_path / "b", seed=7, unit_codes=["441", "437"])
    assert a.to_json() == b.to_json()
    c = generate_demo(tmp_path / "c", seed=8, unit_codes=["441", "437"])
    assert c.to_json() != a.to_json()


def test_json_round_trip(demo):
    _, manifest, _ = demo
    again = DemoManifest.from_json(manifest.to_json())
    assert again == manifest


def test_expected_reports_cover_every_unit_form_and_period(demo):
    inbox, manifest, _ = demo
    assert manifest.expected_reports == 13 * (12 + 12 + 4 + 4)
    folders = {p.name for p in inbox.iterdir() if p.is_dir()}
    assert folders == {u.code for u in CAT.units if u.exists_on(dt.date(2024, 1, 1))}
    identified = {(f.unit_code, f.form_code, f.period_start) for f in manifest.files if f.form_code}
    missing = {(m.unit_code, m.form_code, m.period_start) for m in manifest.missing}
    assert not identified & missing
    assert len(identified) + len(missing) == manifest.expected_reports


def test_scenario_counts(demo):
    _, manifest, _ = demo
    counts = manifest.scenario_counts()
    assert set(counts) == set(SCENARIOS)
    assert counts["correction_bad"] == counts["correction_fixed"] == 2
    assert counts["duplicate"] == 2
    assert counts["ytd_correction"] == 2
    for one in ("wrong_folder", "not_spreadsheet", "damaged", "note"):
        assert counts[one] == 1, one
    assert 2 <= counts["unknown_row"] <= 6
    n = manifest.expected_reports
    assert 0.02 * n <= counts["arithmetic_error"] <= 0.04 * n
    assert 0.02 * n <= len(manifest.missing) <= 0.04 * n
    late = sum(f.is_late for f in manifest.files if f.form_code)
    assert 0.05 * n <= late <= 0.11 * n
    assert sum(counts.values()) == len(manifest.files)
    assert 400 <= len(manifest.files) <= 440


def test_files_on_disk_match_the_manifest(demo):
    inbox, manifest, _ = demo
    on_disk = {str(p.relative_to(inbox)) for p in inbox.rglob("*") if p.is_file()}
    assert on_disk == {f.relative_path for f in manifest.files}
    for f in manifest.files:
        path = inbox / f.folder / f.file_name
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256
        assert len(data) == f.size_bytes
        assert os.stat(path).st_mtime == f.received_at.timestamp()
        assert f.received_at.utcoffset() == dt.timedelta(0)


def test_arrivals_spread_around_the_due_date(demo):
    _, manifest, _ = demo
    for f in manifest.files:
        if not f.form_code or f.scenario in ("duplicate", "correction_fixed"):
            continue
        due = CAT.form(f.form_code).due_date(f.period_start)
        local = CAT.local_date(f.received_at)
        days = (local - due).days
        assert f.is_late == (days > 0)
        assert -9 <= days <= 20, (f.relative_path, days)
        period_months = 1 if CAT.form(f.form_code).frequency == "monthly" else 3
        y, m = divmod(f.period_start.month - 1 + period_months, 12)
        assert local >= dt.date(f.period_start.year + y, m + 1, 1)  # never before the period ended
    on_time = [f for f in manifest.files if f.scenario == "ok"]
    assert all(not f.is_late for f in on_time)
    assert all(f.is_late for f in manifest.by_scenario("late"))


def test_accepted_files_are_arithmetically_consistent(demo):
    _, manifest, _ = demo
    for f in manifest.files:
        if f.scenario in ACCEPTED:
            assert _arithmetic_problems(f) == [], f.relative_path


def test_planted_errors_break_a_rule(demo):
    _, manifest, _ = demo
    planted = manifest.by_scenario("arithmetic_error") + manifest.by_scenario("correction_bad")
    assert planted
    for f in planted:
        assert _arithmetic_problems(f), f.relative_path
        assert f.expected_status == "rejected" and f.note


def test_ytd_is_a_running_sum_and_stocks_repeat(demo):
    _, manifest, _ = demo
    series: dict[tuple[str, str], dict[dt.date, DemoFile]] = defaultdict(dict)
    for f in manifest.files:
        if f.scenario in ("ok", "late", "correction_fixed", "wrong_folder", "unknown_row"):
            series[(f.unit_code, f.form_code)][f.period_start] = f
    checked = 0
    for (_, form_code), by_period in series.items():
        form = CAT.form(form_code)
        starts = sorted(by_period)
        plans = {}
        for row in form.rows:
            plans[row.code] = {by_period[s].value(row.code, "plan_year") for s in starts}
            assert len(plans[row.code]) == 1, (form_code, row.code, plans[row.code])  # constant through the year
            if row.kind == "stock":
                assert plans[row.code] == {None}
        step = 1 if form.frequency == "monthly" else 3
        for s in starts:
            f = by_period[s]
            for row in form.rows:
                period, ytd = f.value(row.code, "period"), f.value(row.code, "ytd")
                if row.kind == "stock" or s.month == 1:
                    assert ytd == period
                else:
                    prev = dt.date(s.year, s.month - step, 1)
                    if prev in by_period:
                        assert round(by_period[prev].value(row.code, "ytd") + period, 1) == ytd, (f.relative_path,
                                                                                                 row.code)
                        checked += 1
    assert checked > 1000


def test_a_ytd_correction_shows_only_in_the_year_to_date(demo):
    _, manifest, _ = demo
    files = {(f.unit_code, f.form_code, f.period_start): f for f in manifest.files
             if f.scenario in ACCEPTED and f.scenario != "duplicate"}
    planted = manifest.by_scenario("ytd_correction")
    assert sorted(CAT.form(f.form_code).frequency for f in planted) == ["monthly", "quarterly"]
    for f in planted:
        form = CAT.form(f.form_code)
        step = 1 if form.frequency == "monthly" else 3
        before = files[(f.unit_code, f.form_code, dt.date(f.period_start.year, f.period_start.month - step, 1))]
        jumps = {}
        for row in form.rows:
            if row.kind == "stock":
                continue
            gap = round(f.value(row.code, "ytd") - before.value(row.code, "ytd") - f.value(row.code, "period"), 1)
            if gap:
                jumps[row.code] = gap
        rows = f.note.split("rows ")[1].split(" includes")[0].split(", ")
        amount = int(f.note.split("includes ")[1].split(" ")[0])
        assert jumps == dict.fromkeys(rows, amount), f.relative_path
        assert amount >= 3 and _arithmetic_problems(f) == []
        later = [g for (u, fc, s), g in files.items() if u == f.unit_code and fc == f.form_code
                 and s > f.period_start]
        for g in later:  # the months after carry the correction on: their own running sums hold
            prev = files.get((g.unit_code, g.form_code, dt.date(g.period_start.year, g.period_start.month - step, 1)))
            if prev is not None:
                for code in rows:
                    assert round(prev.value(code, "ytd") + g.value(code, "period"), 1) == g.value(code, "ytd")


def test_stocks_move_slowly(demo):
    _, manifest, _ = demo
    by_key = defaultdict(dict)
    for f in manifest.files:
        if f.scenario in ("ok", "late") and f.form_code == "03/BTXH-H":
            by_key[f.unit_code][f.period_start.month] = f.value("10", "period")  # households
    for unit, months in by_key.items():
        for m in months:
            if m - 1 in months:
                assert abs(months[m] - months[m - 1]) <= 0.02 * months[m - 1], (unit, m)


def test_magnitudes_resemble_the_province(demo):
    _, manifest, _ = demo
    # December (or Q4) year-to-date over the accepted files, scaled up for the ones missing
    def province(form_code: str, row: str, measure: str, start: dt.date) -> tuple[float, int]:
        got = [f.value(row, measure) for f in manifest.files
               if f.form_code == form_code and f.period_start == start and f.scenario in ACCEPTED]
        return sum(got) * 13 / len({f.unit_code for f in manifest.files if f.form_code == form_code
                                    and f.period_start == start and f.scenario in ACCEPTED}), len(got)

    jobs, _ = province("01/LĐVL-H", "01", "ytd", dt.date(2024, 12, 1))
    assert 18_000 <= jobs <= 28_000
    abroad, _ = province("01/LĐVL-H", "04", "ytd", dt.date(2024, 12, 1))
    assert 9_000 <= abroad <= 15_000
    recipients, _ = province("03/BTXH-H", "01", "period", dt.date(2024, 12, 1))
    assert 55_000 <= recipients <= 80_000
    enrolment, _ = province("02/GDNN-H", "01", "ytd", dt.date(2024, 10, 1))
    assert 11_000 <= enrolment <= 19_000
    # uneven: the city carries more than the smallest district
    city = [f.value("01", "ytd") for f in manifest.files if f.unit_code == "436" and f.form_code == "01/LĐVL-H"
            and f.period_start.month == 12 and f.scenario in ACCEPTED]
    small = [f.value("01", "ytd") for f in manifest.files if f.unit_code == "441" and f.form_code == "01/LĐVL-H"
             and f.period_start.month == 12 and f.scenario in ACCEPTED]
    if city and small:
        assert city[0] > 2 * small[0]


def test_values_read_back_from_the_sheets(demo):
    inbox, manifest, _ = demo
    sample = [f for f in manifest.files if f.form_code and (f.quirks or f.scenario != "ok")]
    sample += [f for f in manifest.files if f.scenario == "ok"][:20]
    texts = formulas = 0
    for f in sample:
        if f.scenario == "damaged":
            continue
        rows = CalamineWorkbook.from_path(inbox / f.folder / f.file_name).get_sheet_by_name(f.sheet_name).to_python()
        assert rows[5][0].endswith(f"(mã {f.unit_code})")
        for v in f.values:
            r, c = _rc(v.cell)
            assert rows[r][c] == (v.text if v.text is not None else v.value), (f.relative_path, v)
            texts += v.text is not None
        formulas += "sum_formulas" in f.quirks
    assert texts > 0 and formulas > 0


def test_special_files(demo):
    inbox, manifest, _ = demo
    (wrong,) = manifest.by_scenario("wrong_folder")
    assert wrong.folder != wrong.unit_code
    (pdf,) = manifest.by_scenario("not_spreadsheet")
    assert pdf.file_name.endswith(".xlsx") and (inbox / pdf.relative_path).read_bytes().startswith(b"%PDF")
    (damaged,) = manifest.by_scenario("damaged")
    data = (inbox / damaged.relative_path).read_bytes()
    assert data.startswith(b"PK")
    with pytest.raises(Exception):  # noqa: B017 - any reader error will do
        CalamineWorkbook.from_path(inbox / damaged.relative_path).get_sheet_by_name("Bieu 01").to_python()
    (note,) = manifest.by_scenario("note")
    assert note.file_name.endswith(".txt") and note.form_code is None
    for dup in manifest.by_scenario("duplicate"):
        same = [f for f in manifest.files if f.sha256 == dup.sha256 and f is not dup]
        assert len(same) == 1 and same[0].received_at < dup.received_at and same[0].file_name != dup.file_name
    bad = sorted(manifest.by_scenario("correction_bad"), key=lambda f: (f.unit_code, f.form_code))
    fixed = sorted(manifest.by_scenario("correction_fixed"), key=lambda f: (f.unit_code, f.form_code))
    for b, g in zip(bad, fixed, strict=True):
        assert (b.unit_code, b.form_code, b.period_start, b.folder) == (g.unit_code, g.form_code, g.period_start,
                                                                       g.folder)
        assert 1 <= (g.received_at - b.received_at).total_seconds() / 86400 <= 7
        assert b.file_name != g.file_name and b.sha256 != g.sha256
    for f in manifest.by_scenario("unknown_row"):
        assert "unknown_row" in f.quirks and any(v.row_code == "99" for v in f.values)
        assert f.expected_status == "accepted_with_warnings"


def test_file_names_vary_and_quirks_are_a_minority(demo):
    _, manifest, _ = demo
    reports = [f for f in manifest.files if f.form_code]
    assert len({f.file_name for f in reports}) > 100
    assert any(any(ch in f.file_name for ch in "áạảãàâăêôơưđ") for f in reports)
    quirky = sum(bool(set(f.quirks) - {"unknown_row"}) for f in reports) / len(reports)
    assert 0.15 <= quirky <= 0.35


def test_a_2025_demo_has_the_districts_until_june_and_the_communes_from_july(tmp_path):
    """2025: the district-level units report January–June, the commune-level units July–December; every report
    file reads back as its unit and period."""
    from ingest.parse.stage import parse_file

    inbox = tmp_path / "inbox"
    manifest = generate_demo(inbox, year=2025, seed=11, unit_codes=["443", "18685", "18073"])
    # per unit: 6 months × 2 monthly forms + 2 quarters × 2 quarterly forms
    assert manifest.expected_reports == 3 * (6 + 6 + 2 + 2)
    assert {p.name for p in inbox.iterdir() if p.is_dir()} == {"443", "18685", "18073"}
    reports = [f for f in manifest.files if f.form_code and f.scenario != "damaged"]
    months = defaultdict(set)
    for f in reports:
        months[f.unit_code].add(f.period_start.month)
        parsed = parse_file((inbox / f.folder / f.file_name).read_bytes(), CAT)
        assert (parsed.unit_code, parsed.period_start, parsed.form.code) == (f.unit_code, f.period_start,
                                                                           f.form_code), f.relative_path
    assert max(months["443"]) <= 6
    assert min(months["18685"]) >= 7 and min(months["18073"]) >= 7
    expected = ({(f.unit_code, f.form_code, f.period_start) for f in reports}
                | {(m.unit_code, m.form_code, m.period_start) for m in manifest.missing})
    assert {(u, p.month) for u, _, p in expected} == (
        {("443", m) for m in range(1, 7)} | {(c, m) for c in ("18685", "18073") for m in range(7, 13)})
    cam_binh = next(f for f in reports if f.unit_code == "18685" and f.scenario != "wrong_folder")
    rows = CalamineWorkbook.from_path(inbox / cam_binh.folder / cam_binh.file_name).get_sheet_by_name(
        cam_binh.sheet_name).to_python()
    header = [c for r in rows[:10] for c in r if isinstance(c, str)]
    assert "UBND XÃ CẨM BÌNH" in header
    assert any(c.endswith("Phòng Văn hóa - Xã hội xã Cẩm Bình (mã 18685)") for c in header)
