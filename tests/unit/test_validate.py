"""The Great Expectations suites: generated from the catalogue, stored in great_expectations/, each rule
failing and passing, every failure mapped back to its submission and cell."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from devtools.generate import write_suites
from ingest.catalogue import Row, load_catalogue
from ingest.check.validate import GX_ROOT, SuitesOutOfDate, Validator, validate_batch

CAT = load_catalogue()
F01 = CAT.form("01/LĐVL-H")
F03 = CAT.form("03/BTXH-H")


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    mp = pytest.MonkeyPatch()
    mp.setenv("SECTORSTATS_DATA_DIR", str(tmp_path_factory.mktemp("gxdata")))
    yield Validator(CAT)
    mp.undo()


def submission(sid: str, form_code: str = "01/LĐVL-H", unit: str = "443", folder: str = "443",
               period: str = "2024-10-01", received: str = "2024-11-08 02:00") -> dict:
    return {"sha256": sid * 4, "submission_id": sid, "file_name": f"{sid}.xlsx", "folder_unit_code": folder,
            "received_at": pd.Timestamp(received), "unit_code": unit, "form_code": form_code,
            "period_type": CAT.form(form_code).period_type, "period_start": pd.Timestamp(period),
            "source_sheet": "Bieu", "form_version": "current"}


def consistent(form_code: str = "01/LĐVL-H") -> dict[tuple[str, str], float]:
    """Values of form 01 that satisfy every rule (row 01 = 03 + 04, 04 = 05..08, parts ≤ wholes)."""
    period = {"05": 10, "06": 20, "07": 5, "08": 3, "03": 100, "09": 50, "10": 30, "11": 25, "12": 120.3,
              "13": 7, "14": 350}
    period["04"] = period["05"] + period["06"] + period["07"] + period["08"]
    period["01"] = period["03"] + period["04"]
    period["02"] = 60
    out = {}
    for code, v in period.items():
        out[(code, "period")] = float(v)
        out[(code, "ytd")] = float(v) * 10
    return out


def observations(sid: str, values: dict[tuple[str, str], float], form_code: str = "01/LĐVL-H") -> list[dict]:
    form = CAT.form(form_code)
    rows = {r.code: 13 + i for i, r in enumerate(form.rows)}
    cols = {"plan_year": "E", "period": "F", "ytd": "G", "ytd_prev_year": "H"}
    return [{"submission_id": sid, "form_code": form_code, "row_code": r, "measure": m, "value": v,
             "source_sheet": "Bieu", "source_cell": f"{cols[m]}{rows[r]}"} for (r, m), v in values.items()]


HISTORY_RULES = {"ytd-continuity", "ytd-decreased", "prev-year-mismatch", "plan-changed", "stock-ytd-not-period",
                 "stock-jump", "outlier-zscore", "outlier-minmax"}


def run(validator: Validator, subs: list[dict], obs: list[dict], history: pd.DataFrame | None = None,
        rules: set[str] | None = None) -> list[tuple]:
    """The failures as tuples; by default only the rules on the report itself (history rules: ``rules=``)."""
    failures = validate_batch(pd.DataFrame(subs), pd.DataFrame(obs), CAT, validator, history)
    keep = rules if rules is not None else {f.rule for f in failures} - HISTORY_RULES
    sid_of = {s["sha256"]: s["submission_id"] for s in subs}
    return sorted((f.rule, sid_of[f.sha256], f.where.cell, f.where.row_code, f.where.measure, f.value,
                   tuple(sorted(f.details.items()))) for f in failures if f.rule in keep)


def test_consistent_submission_passes_every_suite(validator: Validator) -> None:
    assert run(validator, [submission("a")], observations("a", consistent())) == []


def test_sum_mismatch_points_at_the_total(validator: Validator) -> None:
    values = consistent()
    values[("01", "period")] = 999.0
    assert run(validator, [submission("a")], observations("a", values)) == [
        ("sum-mismatch", "a", "F13", "01", "period", "999", (("expected", "138"), ("parts", "03, 04"))),
    ]


def test_sum_with_decimals_is_compared_after_rounding(validator: Validator) -> None:
    values = consistent()  # amounts with one decimal summing to x.3 must pass
    values[("05", "period")], values[("06", "period")] = 10.1, 20.2
    values[("04", "period")] = 10.1 + 20.2 + 5 + 3  # 38.300000000000004 in binary floating point
    values[("01", "period")] = 100 + values[("04", "period")]
    assert run(validator, [submission("a")], observations("a", values)) == []


def test_part_exceeding_its_whole_points_at_the_part(validator: Validator) -> None:
    values = consistent()
    values[("11", "ytd")] = 301.0  # decisions (11) of applications (10): 300
    assert run(validator, [submission("a")], observations("a", values)) == [
        ("part-exceeds-whole", "a", "G23", "11", "ytd", "301", (("expected", "300"), ("whole_row", "10"))),
    ]


def test_negative_value(validator: Validator) -> None:
    values = consistent()
    values[("09", "period")] = -5.0
    values[("09", "ytd")] = 0.0
    got = run(validator, [submission("a")], observations("a", values))
    assert got == [("negative-value", "a", "F21", "09", "period", "-5", ())]


def test_ytd_below_period(validator: Validator) -> None:
    values = consistent()
    values[("13", "ytd")] = 6.0
    assert run(validator, [submission("a")], observations("a", values)) == [
        ("ytd-below-period", "a", "G25", "13", "ytd", "6", (("expected", "7"),)),
    ]


def test_sheet_unit_not_the_uploading_folder(validator: Validator) -> None:
    assert run(validator, [submission("a", folder="440")], observations("a", consistent())) == [
        ("unit-folder-mismatch", "a", None, None, None, None,
         (("folder_unit", "440"), ("period", "10/2024"), ("sheet_unit", "443"))),
    ]


def test_unit_that_did_not_exist_in_the_period(validator: Validator) -> None:
    # Lộc Hà (448) was dissolved on 2025-01-01
    ok = submission("a", unit="448", folder="448", period="2024-12-01", received="2025-01-05")
    gone = submission("b", unit="448", folder="448", period="2025-01-01", received="2025-02-05")
    got = run(validator, [ok, gone], observations("a", consistent()) + observations("b", consistent()))
    assert got == [("unit-not-in-period", "b", None, None, None, None,
                    (("folder_unit", "448"), ("period", "01/2025"), ("sheet_unit", "448")))]



def test_districts_until_june_2025_and_communes_from_july(validator: Validator) -> None:
    """The district level ended on 2025-06-30; the communes (Xã Cẩm Bình, 18685) report from 2025-07-01."""
    subs = [submission("a", unit="445", folder="445", period="2025-06-01", received="2025-07-05"),
            submission("b", unit="445", folder="445", period="2025-07-01", received="2025-08-05"),
            submission("c", unit="18685", folder="18685", period="2025-07-01", received="2025-08-05"),
            submission("d", unit="18685", folder="18685", period="2025-06-01", received="2025-07-05")]
    got = run(validator, subs, [o for sid in "abcd" for o in observations(sid, consistent())])
    assert got == [
        ("unit-not-in-period", "b", None, None, None, None,
         (("folder_unit", "445"), ("period", "07/2025"), ("sheet_unit", "445"))),
        ("unit-not-in-period", "d", None, None, None, None,
         (("folder_unit", "18685"), ("period", "06/2025"), ("sheet_unit", "18685"))),
    ]

def test_period_in_the_future_of_its_arrival(validator: Validator) -> None:
    # received 2024-10-31 at 18:00 UTC = 1 November in Vietnam: November's report is then not in the future
    early = submission("a", period="2024-12-01", received="2024-11-20 03:00")
    boundary = submission("b", period="2024-11-01", received="2024-10-31 18:00")
    got = run(validator, [early, boundary], observations("a", consistent()) + observations("b", consistent()))
    assert [(g[0], g[1]) for g in got] == [("period-in-future", "a")]


def test_a_batch_maps_each_failure_to_its_own_submission(validator: Validator) -> None:
    bad = consistent()
    bad[("04", "ytd")] = 1.0
    got = run(validator, [submission("a"), submission("b", unit="440", folder="440")],
              observations("a", consistent()) + observations("b", bad))
    # row 04 (abroad) year to date typed as 1: its total row 01, itself, its four parts and ytd ≥ period all fail
    assert sorted((g[0], g[1], g[2]) for g in got) == [
        ("part-exceeds-whole", "b", "G17"), ("part-exceeds-whole", "b", "G18"), ("part-exceeds-whole", "b", "G19"),
        ("part-exceeds-whole", "b", "G20"), ("sum-mismatch", "b", "G13"), ("sum-mismatch", "b", "G16"),
        ("ytd-below-period", "b", "G16")]


def test_unidentified_files_are_not_validated(validator: Validator) -> None:
    sub = submission("a") | {"submission_id": None}
    assert validate_batch(pd.DataFrame([sub]), pd.DataFrame(observations("a", consistent())), CAT, validator) == []


# --- the suites in great_expectations/ -------------------------------------------------------------------------

def test_committed_suites_are_the_catalogue_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    root = tmp_path / "gx"
    shutil.copytree(GX_ROOT, root)
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert write_suites(CAT, root) == []  # nothing to write: great_expectations/ is up to date
    Validator(CAT, root)
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before


def test_a_catalogue_change_needs_the_suites_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    root = tmp_path / "gx"
    shutil.copytree(GX_ROOT, root)
    extra = Row(code="15", name="loan_women", kind="flow", unit="người", label_vi="Trong đó: nữ",
                label_en="of which women", section="III", of="13")
    changed = dataclasses.replace(CAT, forms=(dataclasses.replace(F01, rows=(*F01.rows, extra)), *CAT.forms[1:]))
    with pytest.raises(SuitesOutOfDate, match=r"arithmetic_01_LDVL-H.*make generate"):
        Validator(changed, root)
    assert write_suites(changed, root) == ["arithmetic_01_LDVL-H"]
    Validator(changed, root)


def test_suites_are_written_into_an_empty_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    root = tmp_path / "gx"
    root.mkdir()
    shutil.copy(GX_ROOT / "great_expectations.yml", root)
    text = (root / "great_expectations.yml").read_text(encoding="utf-8")
    (root / "great_expectations.yml").write_text(text.split("fluent_datasources:")[0], encoding="utf-8")
    written = write_suites(CAT, root)
    assert sorted(written) == sorted(["submissions", "cells", "history", "arithmetic_01_LDVL-H", "arithmetic_02_GDNN-H",
                                      "arithmetic_03_BTXH-H", "arithmetic_04_TTr-H"])
    assert run(Validator(CAT, root), [submission("a")], observations("a", consistent())) == []
    assert sorted(p.name for p in (root / "expectations").glob("*.json")) == sorted(f"{n}.json" for n in written)
    # the run's results went to the data directory, not into the project
    assert not list(root.rglob("*validations/*/*.json")) and list((tmp_path / "data" / "gx").rglob("*.json"))


# --- history rules: the report against the unit's own earlier reports ----------------------------------------

def hist(unit: str, form_code: str, period: str, values: dict[tuple[str, str], float], sid: str = "h") -> list[dict]:
    return [{"submission_id": f"{sid}{period}", "unit_code": unit, "form_code": form_code,
             "period_start": pd.Timestamp(period), "row_code": r, "measure": m, "value": v,
             "received_at": pd.Timestamp(period) + pd.Timedelta(days=40)} for (r, m), v in values.items()]


def history(*parts: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([row for part in parts for row in part])


def test_ytd_continues_from_the_previous_month(validator: Validator) -> None:
    sept = {("13", "ytd"): 63.0, ("13", "plan_year"): 100.0}
    octo = {("13", "period"): 7.0, ("13", "ytd"): 70.0, ("13", "plan_year"): 100.0}
    ok = run(validator, [submission("a")], observations("a", octo), history(hist("443", "01/LĐVL-H", "2024-09-01",
                                                                               sept)), rules=HISTORY_RULES)
    assert ok == []
    bad = dict(octo)
    bad[("13", "ytd")] = 75.0
    got = run(validator, [submission("a")], observations("a", bad),
              history(hist("443", "01/LĐVL-H", "2024-09-01", sept)), rules=HISTORY_RULES)
    assert got == [("ytd-continuity", "a", "G25", "13", "ytd", "75",
                    (("expected", "70"), ("period_value", "7"), ("previous", "63")))]


def test_ytd_in_january_is_the_month(validator: Validator) -> None:
    jan = {("13", "period"): 7.0, ("13", "ytd"): 9.0}
    got = run(validator, [submission("a", period="2024-01-01", received="2024-02-05")], observations("a", jan),
              rules=HISTORY_RULES)
    assert got == [("ytd-continuity", "a", "G25", "13", "ytd", "9", (("expected", "7"), ("period_value", "7"),
                                                                     ("previous", "0")))]


def test_ytd_decreased_and_plan_changed(validator: Validator) -> None:
    sept = {("13", "ytd"): 80.0, ("13", "plan_year"): 100.0}
    octo = {("13", "period"): 7.0, ("13", "ytd"): 70.0, ("13", "plan_year"): 120.0}
    got = run(validator, [submission("a")], observations("a", octo),
              history(hist("443", "01/LĐVL-H", "2024-09-01", sept)), rules=HISTORY_RULES)
    assert [(g[0], g[2], g[6]) for g in got] == [
        ("plan-changed", "E25", (("expected", "100"),)),
        ("ytd-continuity", "G25", (("expected", "87"), ("period_value", "7"), ("previous", "80"))),
        ("ytd-decreased", "G25", (("expected", "80"),)),
    ]


def test_same_period_last_year_is_what_was_reported_a_year_ago(validator: Validator) -> None:
    last_year = {("13", "ytd"): 66.0}
    octo = {("13", "period"): 7.0, ("13", "ytd_prev_year"): 60.0}
    history_ = history(hist("443", "01/LĐVL-H", "2023-10-01", last_year))
    got = run(validator, [submission("a")], observations("a", octo), history_, rules={"prev-year-mismatch"})
    assert got == [("prev-year-mismatch", "a", "H25", "13", "ytd_prev_year", "60", (("expected", "66"),))]
    octo[("13", "ytd_prev_year")] = 66.0
    assert run(validator, [submission("a")], observations("a", octo), history_, rules={"prev-year-mismatch"}) == []


def test_the_batch_is_its_own_history(validator: Validator) -> None:
    # January and February sent together: February's year to date is checked against January's
    jan = {("13", "period"): 7.0, ("13", "ytd"): 7.0}
    feb = {("13", "period"): 5.0, ("13", "ytd"): 13.0}
    subs = [submission("j", period="2024-01-01", received="2024-02-05"),
            submission("f", period="2024-02-01", received="2024-03-05")]
    got = run(validator, subs, observations("j", jan) + observations("f", feb), rules=HISTORY_RULES)
    assert got == [("ytd-continuity", "f", "G25", "13", "ytd", "13", (("expected", "12"), ("period_value", "5"),
                                                                      ("previous", "7")))]


def stock_sub(sid: str, period: str) -> dict:
    return submission(sid, form_code="03/BTXH-H", period=period, received="2024-11-08")


def test_stock_jump_and_stock_year_to_date(validator: Validator) -> None:
    sept = {("08", "period"): 1000.0, ("08", "ytd"): 1000.0}
    octo = {("08", "period"): 1500.0, ("08", "ytd"): 1400.0}
    got = run(validator, [stock_sub("s", "2024-10-01")], observations("s", octo, "03/BTXH-H"),
              history(hist("443", "03/BTXH-H", "2024-09-01", sept)), rules=HISTORY_RULES)
    assert [(g[0], g[2], g[6]) for g in got] == [
        ("stock-jump", "F20", (("change", "50%"), ("expected", "1.000"))),
        ("stock-ytd-not-period", "G20", (("expected", "1.500"),)),
    ]
    fine = {("08", "period"): 1300.0, ("08", "ytd"): 1300.0}  # +30 %: under the 40 % threshold
    assert run(validator, [stock_sub("s", "2024-10-01")], observations("s", fine, "03/BTXH-H"),
               history(hist("443", "03/BTXH-H", "2024-09-01", sept)), rules=HISTORY_RULES) == []


def test_outliers_against_the_unit_s_own_history(validator: Validator) -> None:
    earlier = history(*(hist("443", "01/LĐVL-H", f"2024-{m:02d}-01", {("09", "period"): v})
                        for m, v in zip(range(1, 10), [50, 52, 48, 51, 49, 53, 50, 47, 52], strict=True)))
    normal = {("09", "period"): 55.0}
    assert run(validator, [submission("a")], observations("a", normal), earlier,
               rules={"outlier-zscore", "outlier-minmax"}) == []
    spike = {("09", "period"): 500.0}
    got = run(validator, [submission("a")], observations("a", spike), earlier,
              rules={"outlier-zscore", "outlier-minmax"})
    assert [(g[0], g[2], g[5]) for g in got] == [("outlier-minmax", "F21", "500"), ("outlier-zscore", "F21", "500")]
    assert dict(got[1][6]) == {"expected": "50", "score": "151,8"}  # 0.6745 × (500 − 50) / MAD 2
    assert dict(got[0][6]) == {"expected": "27 – 73"}  # min 47, max 53, margin 1.0 × max(6, 5.3, 20)


def test_too_little_history_is_no_outlier(validator: Validator) -> None:
    earlier = history(*(hist("443", "01/LĐVL-H", f"2024-{m:02d}-01", {("09", "period"): 50.0}) for m in range(5, 10)))
    assert run(validator, [submission("a")], observations("a", {("09", "period"): 5000.0}), earlier,
               rules={"outlier-zscore", "outlier-minmax"}) == []


def test_data_docs_show_the_suites_and_the_runs(validator: Validator) -> None:
    run(validator, [submission("a")], observations("a", consistent()))
    index = validator.build_data_docs()
    html = index.read_text(encoding="utf-8")
    for suite in ("submissions", "cells", "history", "arithmetic_01_LDVL-H"):
        assert suite in html
    runs = list((index.parent / "validations").rglob("*.html"))
    assert runs and str(index).startswith(str(Path(os.environ["SECTORSTATS_DATA_DIR"])))
