"""ingest/marts/dbt.py: the marts are built first (seeds and models, no tests), tested next, and the documentation
is generated from the models' run; each step in its own dbt target directory, sharing one parse of the project.

Run on the small development warehouse (dbt_project/scripts/make_dev_warehouse.py), with real dbt."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.marts.dbt import PARSE_STATE, TransformError, build_models, generate_docs, run_data_tests, target_dir
from tests.integration.helpers import REPO

pytestmark = pytest.mark.integration

AS_OF = dt.date(2025, 1, 31)


@pytest.fixture
def dev_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    subprocess.run([sys.executable, str(REPO / "dbt_project" / "scripts" / "make_dev_warehouse.py"), str(path)],
                   check=True, capture_output=True, text=True)
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    return path


def _results(target: str) -> list[dict]:
    return json.loads((target_dir(target) / "run_results.json").read_text(encoding="utf-8"))["results"]


def _kinds(results: list[dict]) -> set[str]:
    return {r["unique_id"].split(".")[0] for r in results}


def test_models_then_tests_then_docs(dev_warehouse: Path) -> None:
    built = build_models(AS_OF)
    assert _kinds(_results("marts")) == {"seed", "model"}  # no test on the way to the marts
    assert set(built) == {"success"}
    con = duckdb.connect(str(dev_warehouse), read_only=True)
    try:
        submissions = con.execute("select count(*) from marts.fct_submission").fetchone()[0]
    finally:
        con.close()
    assert submissions > 0

    tested = run_data_tests(AS_OF)
    assert _kinds(_results("tests")) == {"test", "unit_test"}
    assert set(tested) == {"pass"} and tested["pass"] > 300
    # the tests ran from the models' parse of the project, copied: no second full parse
    log = (dev_warehouse.parent / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert log.count("Partial parsing enabled, no changes found") >= 1
    assert (target_dir("tests") / PARSE_STATE).read_bytes() == (target_dir("marts") / PARSE_STATE).read_bytes()

    docs = generate_docs(AS_OF)
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    models = [n for k, n in manifest["nodes"].items() if k.startswith("model.")]
    # the site shows every model's compiled SQL: the manifest is the models' run's, not the tests'
    assert models and all(n.get("compiled_code") for n in models)
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    assert "model.sectorstats.fct_indicator_value" in catalog["nodes"]


def test_a_failed_data_test_names_itself(dev_warehouse: Path) -> None:
    build_models(AS_OF)
    con = duckdb.connect(str(dev_warehouse))
    try:  # a second row for a form: dim_form's key is no longer unique
        con.execute("insert into marts.dim_form select * from marts.dim_form limit 1")
    finally:
        con.close()
    with pytest.raises(TransformError) as failed:
        run_data_tests(AS_OF)
    assert str(failed.value).startswith("dbt test failed: test.sectorstats.unique_dim_form_")
    failures = sorted(r["unique_id"].split(".")[2] for r in _results("tests") if r["status"] == "fail")
    assert failures == ["unique_dim_form_form_code", "unique_dim_form_form_id"]


def test_each_run_keeps_its_own_target_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    assert [target_dir(t).relative_to(tmp_path).as_posix() for t in ("marts", "tests", "calendar")] == [
        "dbt/target", "dbt/target-tests", "dbt/target-calendar"]
    with pytest.raises(ValueError, match="unknown dbt target directory 'docs'"):
        target_dir("docs")
