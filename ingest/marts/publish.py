"""Publishing for analysts: a read-only snapshot of the warehouse and the dbt documentation.

On Postgres there is no snapshot: analysts query the marts in the warehouse itself, as its read-only role
(:mod:`ingest.warehouse.roles`), and Postgres shows them the last committed build.

On DuckDB, which allows one writer per file and where a reader cannot even open a file a writer holds, analysts
never open the pipeline's warehouse: after each successful ``dbt build`` the warehouse is checkpointed, copied,
and the copy is swapped into ``$SECTORSTATS_DATA_DIR/analyst/warehouse.duckdb`` with an atomic rename. Readers
never see a half-built warehouse (the copy is taken after the build) and never block a run (they hold the
previous snapshot's file, which the rename leaves intact until they reconnect).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from ingest import warehouse
from ingest.settings import data_dir, reports_dir

log = logging.getLogger(__name__)


def analyst_warehouse_path() -> Path:
    return data_dir() / "analyst" / "warehouse.duckdb"


def publish_snapshot(source: Path | None = None, target: Path | None = None) -> Path | None:
    """Checkpoint the DuckDB warehouse and swap a copy of it in as the analysts' read-only snapshot; ``None`` (nothing
    to do) on Postgres."""
    source = source or warehouse.duckdb_file()
    if source is None:
        log.info("warehouse on %s: analysts read its marts directly, no snapshot to publish", warehouse.backend())
        return None
    target = target or analyst_warehouse_path()
    with warehouse.connect(source) as con:
        warehouse.execute(con, "checkpoint")  # everything in the main file, nothing left in the write-ahead log
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
