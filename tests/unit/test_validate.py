"""The Great Expectations suites: generated from the catalogue, stored in great_expectations/, each rule
failing and passing, every failure mapped back to its submission and cell."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ingest.catalogue import Row, load_catalogue
from ingest.validate import GX_ROOT, SuitesOutOfDate, Validator, validate_batch, write_suites

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


def run(validator: Validator, subs: list[dict], obs: list[dict]) -> list[tuple]:
    failures = validate_batch(pd.DataFrame(subs), pd.DataFrame(obs), CAT, validator)
    return sorted((f.rule, f.submission_id, f.cell, f.row_code, f.measure, f.value, tuple(sorted(f.details.items())))
                  for f in failures)


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
    with pytest.raises(SuitesOutOfDate, match=r"arithmetic_01_LDVL-H.*python -m ingest gx-suites"):
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
    assert sorted(written) == sorted(["submissions", "cells", "arithmetic_01_LDVL-H", "arithmetic_02_GDNN-H",
                                      "arithmetic_03_BTXH-H", "arithmetic_04_TTr-H"])
    assert run(Validator(CAT, root), [submission("a")], observations("a", consistent())) == []
    assert sorted(p.name for p in (root / "expectations").glob("*.json")) == sorted(f"{n}.json" for n in written)
    # the run's results went to the data directory, not into the project
    assert not list(root.rglob("*validations/*/*.json")) and list((tmp_path / "data" / "gx").rglob("*.json"))
