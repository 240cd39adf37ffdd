"""ingest/marts/dbt.py: each load builds the marts with their data tests (not dbt's unit tests), the documentation
is generated from that build's manifest without compiling again, and the unit tests run on their own (here, in
`make test`); each kind of run in its own dbt target directory, sharing one parse of the project.

Run on the small development warehouse (dbt_project/scripts/make_dev_warehouse.py), with real dbt."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from ingest.marts.dbt import (
    PARSE_STATE,
    TransformError,
    build_marts,
    generate_docs,
    run_dbt,
    run_unit_tests,
    target_dir,
)
from tests.integration.helpers import make_dev_warehouse

pytestmark = pytest.mark.integration

AS_OF = dt.date(2025, 1, 31)


@pytest.fixture
def dev_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_dev_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    return path


def _results(target: str) -> list[dict]:
    return json.loads((target_dir(target) / "run_results.json").read_text(encoding="utf-8"))["results"]


def _kinds(results: list[dict]) -> Counter[str]:
    return Counter(r["unique_id"].split(".")[0] for r in results)


def _manifest_kinds() -> dict[str, int]:
    manifest = json.loads((target_dir() / "manifest.json").read_text(encoding="utf-8"))
    return _kinds([{"unique_id": k} for k in [*manifest["nodes"], *manifest["unit_tests"]]])


def test_the_build_runs_the_data_tests_and_the_docs_reuse_its_manifest(dev_warehouse: Path) -> None:
    built = build_marts(AS_OF)
    declared = _manifest_kinds()
    # every seed, model and data test of the project, no unit test
    assert _kinds(_results("marts")) == {k: declared[k] for k in ("seed", "model", "test")}
    assert "unit_test" not in _kinds(_results("marts")) and declared["unit_test"] >= 17
    assert set(built) == {"success", "pass"}
    con = duckdb.connect(str(dev_warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from marts.fct_submission").fetchone()[0] > 0
    finally:
        con.close()

    docs = generate_docs(AS_OF)
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    models = [n for k, n in manifest["nodes"].items() if k.startswith("model.")]
    # the site shows every model's compiled SQL, compiled once, by the build
    assert models and all(n.get("compiled_code") for n in models)
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    assert "model.sectorstats.fct_indicator_value" in catalog["nodes"]


def test_the_unit_tests_run_on_their_own_from_the_shared_parse(dev_warehouse: Path) -> None:
    build_marts(AS_OF)
    counts = run_unit_tests(AS_OF)
    declared = _manifest_kinds()["unit_test"]
    assert counts == {"pass": declared}
    assert _kinds(_results("unit-tests")) == {"unit_test": declared}
    # the unit tests started from the build's parse of the project, copied: no second full parse
    assert (target_dir("unit-tests") / PARSE_STATE).read_bytes() == (target_dir() / PARSE_STATE).read_bytes()
    log = (dev_warehouse.parent / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert log.count("Unable to do partial parsing") == 1  # the build's, the first run of the project


def test_a_failed_data_test_names_itself(dev_warehouse: Path) -> None:
    build_marts(AS_OF)
    con = duckdb.connect(str(dev_warehouse))
    try:  # a second row for a form: dim_form's key is no longer unique
        con.execute("insert into marts.dim_form select * from marts.dim_form limit 1")
    finally:
        con.close()
    with pytest.raises(TransformError) as failed:
        run_dbt("test", as_of=AS_OF, extra=["--select", "dim_form"])
    assert str(failed.value).startswith("dbt test failed: test.sectorstats.declared_constraints_dim_form_")
    failures = [r["unique_id"].split(".")[2] for r in _results("marts") if r["status"] == "fail"]
    assert failures == ["declared_constraints_dim_form_"]
    shown = str(failed.value).split(" (first rows: ")[1].removesuffix(")").split("; ")
    assert sorted(shown) == ["('form_code unique', 1)", "('form_id unique', 1)"]
    # a dbt that fails before running anything is told in its own words, not with the last command's failures
    with pytest.raises(TransformError) as failed:
        run_dbt("test", as_of=AS_OF, extra=["--no-such-option"])
    assert "declared_constraints" not in str(failed.value)
    assert "Error: No such option '--no-such-option'" in str(failed.value)


def test_the_declared_constraints_are_checked_in_one_test_that_says_which(dev_warehouse: Path) -> None:
    """declared_constraints: one test node per model for every constraint its YAML declares; its rows name the
    constraints broken and by how many rows (or values). A check lets null through, as SQL's CHECK does; a
    foreign key ignores nulls."""
    build_marts(AS_OF)
    con = duckdb.connect(str(dev_warehouse))
    try:
        con.execute("update marts.dim_form set domain = null, title_vi = null where form_code = '01/LĐVL-H'")
        con.execute("update marts.dim_form set form_id = null where form_code = '02/GDNN-H'")
        con.execute("update marts.dim_form set frequency = 'weekly' where form_code in ('03/BTXH-H', '04/TTr-H')")
    finally:
        con.close()
    with pytest.raises(TransformError) as failed:
        run_dbt("test", as_of=AS_OF, extra=["--select", "dim_form,test_name:declared_constraints"])
    assert str(failed.value).startswith("dbt test failed: test.sectorstats.declared_constraints_dim_form_")
    assert "Got 3 results" in str(failed.value)  # title_vi is not declared not null
    # the error shows the rows: which constraints, how many rows break each
    shown = str(failed.value).split(" (first rows: ")[1]
    assert sorted(shown.removesuffix(")").split("; ")) == [
        "(\"frequency: frequency in ('monthly', 'quarterly')\", 2)", "('domain not null', 1)",
        "('form_id not null', 1)"]
    compiled = next((target_dir() / "compiled").rglob("declared_constraints_dim_form_*.sql")).read_text(
        encoding="utf-8")
    con = duckdb.connect(str(dev_warehouse))
    try:
        assert sorted(con.execute(compiled).fetchall()) == [
            ("domain not null", 1), ("form_id not null", 1),
            ("frequency: frequency in ('monthly', 'quarterly')", 2)]
        con.execute("update marts.dim_form set frequency = null where form_code in ('03/BTXH-H', '04/TTr-H')")
        assert sorted(con.execute(compiled).fetchall()) == [("domain not null", 1), ("form_id not null", 1)]
        # a foreign key: an indicator of a form dim_form does not have; a null reference is no break
        con.execute("update marts.dim_indicator set form_code = '99/XX' where indicator_id = '01/LĐVL-H|01'")
        con.execute("update marts.dim_indicator set form_code = null where indicator_id = '01/LĐVL-H|02'")
    finally:
        con.close()
    with pytest.raises(TransformError) as failed:
        run_dbt("test", as_of=AS_OF, extra=["--select", "dim_indicator,test_name:declared_constraints"])
    assert str(failed.value).endswith("(first rows: ('form_code references dim_form.form_code', 1))")


def test_each_run_keeps_its_own_target_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    assert [target_dir(t).relative_to(tmp_path).as_posix() for t in ("marts", "calendar", "unit-tests")] == [
        "dbt/target", "dbt/target-calendar", "dbt/target-unit-tests"]
    with pytest.raises(ValueError, match="unknown dbt target directory 'docs'"):
        target_dir("docs")
