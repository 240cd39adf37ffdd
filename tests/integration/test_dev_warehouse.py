"""dbt_project/scripts/make_dev_warehouse.py: the small development warehouse is made of the declared tables and
builds every model and test of the dbt project, with the edge cases its docstring promises."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.marts.dbt import dbt_args
from tests.integration.helpers import make_dev_warehouse

pytestmark = pytest.mark.integration


def test_the_dev_warehouse_builds_the_marts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_dev_warehouse(tmp_path / "dev.duckdb")
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE_URL", raising=False)
    dbt = Path(sys.executable).with_name("dbt")
    proc = subprocess.run([str(dbt), *dbt_args("build", dt.date(2025, 1, 31))], capture_output=True, text=True,
                          env={"SECTORSTATS_WAREHOUSE": str(path), "PATH": str(dbt.parent),
                               "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    con = duckdb.connect(str(path), read_only=True)
    try:
        got = dict(con.execute("""
            select unit_code || ' ' || form_code || ' ' || strftime(period_start, '%Y-%m'), status || ' ' || on_time
            from marts.fct_submission where unit_code in ('436', '445') and form_code = '01/LĐVL-H'
              and period_start >= date '2024-10-01'""").fetchall())
    finally:
        con.close()
    # 436 Oct: v1 accepted then v2 rejected, v1 counts; Nov: 23:30 in Vietnam on the due day, on time; Jan 2025:
    # sent before it is due, received and not expected. 445 Oct: missing; Nov: v1 with warnings replaced by v2,
    # received after the due date; Dec: 00:30 in Vietnam the day after the due date, late.
    assert got == {"436 01/LĐVL-H 2024-10": "accepted true", "436 01/LĐVL-H 2024-11": "accepted true",
                   "436 01/LĐVL-H 2024-12": "accepted true", "436 01/LĐVL-H 2025-01": "accepted true",
                   "445 01/LĐVL-H 2024-10": None, "445 01/LĐVL-H 2024-11": "accepted false",
                   "445 01/LĐVL-H 2024-12": "accepted false"}
