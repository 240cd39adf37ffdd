"""`make bench` at the province-month scale, as CI runs it: a smoke check of the harness, not a timed test.

The harness generates January 2024's inbox into a temporary bench directory, runs the real DAGs on it, the floor
and a two-file naive baseline, and writes its report; every stage must have been measured, and the marts must
hold the month's submissions. No figure is compared with a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench.run import STAGES

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_bench_province_month(tmp_path: Path, airflow_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SECTORSTATS"))}
    env["SECTORSTATS_BENCH_DIR"] = str(tmp_path / "bench")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "province-month", "--naive-sample", "2", "--no-incremental",
         "--airflow-template", str(airflow_home), "--results", str(tmp_path / "results")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    run = tmp_path / "bench" / "runs" / "province-month"
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    for name, _ in STAGES:
        stage = results["stages"][name]
        assert stage["wall_s"] > 0 and stage["cpu_s"] > 0 and stage["files_per_s"] > 0, (name, stage)
        assert stage["peak_rss_mb"] > 0, (name, stage)
    total = results["total"]
    assert total["wall_s"] > 0 and total["cpu_s"] > 0 and total["peak_rss_mb"] > 0
    assert results["floor"]["files"] == results["inbox"]["files"] and results["floor"]["cells"] > 0
    assert results["naive"]["files"] == 2 and results["naive"]["sampled"]
    assert results["naive"]["extrapolated_wall_s"] > results["naive"]["wall_s"]

    report = next((tmp_path / "results").glob("*-province-month.md")).read_text(encoding="utf-8")
    for name, _ in STAGES:
        assert f"| {name} |" in report
    assert "ours vs naive" in report and "the floor" in report and "## Targets" in report

    # the marts hold January's reports: every unit's two monthly forms, less what the inbox lacks
    missing = {(m["unit_code"], m["form_code"]) for m in json.loads(
        next((tmp_path / "bench").glob("province-month-*/manifest.json")).read_text(encoding="utf-8"))["missing"]}
    con = duckdb.connect(str(run / "data" / "warehouse.duckdb"), read_only=True)
    try:
        got = set(con.execute("select distinct unit_code, form_code from marts.fct_submission "
                              "where period_start = date '2024-01-01' and submission_id is not null").fetchall())
        units = {r[0] for r in con.execute(
            "select unit_code from marts.dim_reporting_unit "
            "where unit_level = 'district' and valid_to >= date '2024-01-31'").fetchall()}
    finally:
        con.close()
    expected = {(u, f) for u in units for f in ("01/LĐVL-H", "03/BTXH-H")} - missing
    assert len(units) == 13 and got == expected
