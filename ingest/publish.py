"""Publishing for analysts: a read-only snapshot of the warehouse and the dbt documentation.

DuckDB allows one writer per file, and a reader cannot even open a file a writer holds. Analysts therefore
never open the pipeline's warehouse: after each successful ``dbt build`` the warehouse is checkpointed,
copied, and the copy is swapped into ``$SECTORSTATS_DATA_DIR/analyst/warehouse.duckdb`` with an atomic
rename. Readers never see a half-built warehouse (the copy is taken after the build) and never block a run
(they hold the previous snapshot's file, which the rename leaves intact until they reconnect).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from ingest import warehouse
from ingest.settings import data_dir, reports_dir, warehouse_path

log = logging.getLogger(__name__)


def analyst_warehouse_path() -> Path:
    return data_dir() / "analyst" / "warehouse.duckdb"


def publish_snapshot(source: Path | None = None, target: Path | None = None) -> Path:
    """Checkpoint the warehouse and swap a copy of it in as the analysts' read-only snapshot."""
    source = source or warehouse_path()
    target = target or analyst_warehouse_path()
    with warehouse.connect(source) as con:
        con.execute("checkpoint")  # everything in the main file, nothing left in the write-ahead log
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    log.info("published the analysts' snapshot %s (%d bytes)", target, target.stat().st_size)
    return target


def publish_dbt_docs(target_dir: Path, out: Path | None = None) -> Path:
    """Copy the static dbt documentation site (``dbt docs generate`` output) to ``reports/dbt_docs/``."""
    out = out or reports_dir() / "dbt_docs"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "manifest.json", "catalog.json"):
        shutil.copyfile(target_dir / name, out / name)
    return out / "index.html"
