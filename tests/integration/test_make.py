"""The README's commands as a newcomer types them: `make run` honours the documented settings.

Every documented variable must work with every make target that uses it: with SECTORSTATS_DATA_DIR,
SECTORSTATS_INBOX_DIR and SECTORSTATS_WAREHOUSE pointing elsewhere, `make run` reads and writes only there, and
nothing appears in (or changes under) the repository's own ./data.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.integration.helpers import REPO

pytestmark = pytest.mark.integration


def _listing(folder: Path) -> dict[str, int] | None:
    """Every file under ``folder`` with its modification time, or None when the folder does not exist."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_make_run_writes_only_where_the_settings_say(tmp_path: Path) -> None:
    before = _listing(REPO / "data")
    data, inbox, warehouse = tmp_path / "data", tmp_path / "uploads", tmp_path / "db" / "sectorstats.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECTORSTATS_", "AIRFLOW"))}
    env.update(SECTORSTATS_DATA_DIR=str(data), SECTORSTATS_INBOX_DIR=str(inbox), SECTORSTATS_WAREHOUSE=str(warehouse))
    proc = subprocess.run(["make", "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    assert _listing(REPO / "data") == before  # nothing written, nothing touched in ./data
    assert len(list(inbox.rglob("*.xls*"))) > 300  # the demo went to the inbox named
    assert not (data / "inbox").exists()
    assert not (data / "warehouse.duckdb").exists() and warehouse.exists()
    assert (data / "airflow" / "airflow.db").exists() and (data / "reports" / "summary.txt").exists()
    assert f"(log: {data}/logs/sectorstats_ingest.log)" in proc.stdout
    # the pages it prints are there
    for line in ("status page:    {}/reports/status.html", "indicator page: {}/reports/indicators.html"):
        assert line.format(data) in proc.stdout.splitlines()
        assert Path(line.format(data).split()[-1]).is_file()
    total = next(line for line in proc.stdout.splitlines() if line.startswith("total"))
    assert total.split()[1:6] == ["416", "372", "19", "13", "12"]
    province = [Path(line) for line in proc.stdout.splitlines() if "/reports/province/" in line]
    assert [p.relative_to(data / "reports" / "province") for p in province] == [
        Path(f"{period}/{form}_toan_tinh.{ext}") for period, form in (
            ("2024-12", "01_LĐVL-H"), ("2024-Q4", "02_GDNN-H"), ("2024-12", "03_BTXH-H"), ("2024-Q4", "04_TTr-H"))
        for ext in ("xlsx", "txt")]
    assert all(p.exists() for p in province)
    # the transform DAG's province_reports task wrote every form and period of the run, and kept their signatures
    written = json.loads((data / "reports" / "province" / ".written.json").read_text(encoding="utf-8"))
    assert {k for k in written if k.startswith("01/LĐVL-H|2024-")} == {f"01/LĐVL-H|2024-{m:02d}" for m in range(1, 13)}
    assert {k for k in written if k.startswith("04/TTr-H|2024-")} == {f"04/TTr-H|2024-Q{q}" for q in range(1, 5)}
    assert (data / "reports" / "province" / "2024-Q2" / "04_TTr-H_toan_tinh.xlsx").exists()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from marts.fct_submission").fetchone() == (416,)
    finally:
        con.close()
