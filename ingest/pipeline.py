"""Every ingest stage of one load, in order, in one process: what ``python -m ingest ingest`` and the tests run.

The stages, each runnable alone and idempotent, hand data to each other through the load package
(:mod:`ingest.package`); the ingest DAG runs the same functions as separate tasks:

1. :func:`ingest.archive.stage.archive_stage`: inbox → archive, each arrival recorded;
2. :func:`ingest.parse.stage.parse_stage`: archive → read (in worker processes) → parsed into the package;
3. :func:`ingest.check.stage.validate_stage`: the rules over the whole load → each file's verdict;
4. :func:`ingest.load.stage.load_stage`: the package → the raw tables, in one transaction;
5. :func:`ingest.tell.feedback.feedback_stage`: a feedback workbook for every file with problems.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ingest.archive.stage import archive_stage
from ingest.check.stage import validate_stage
from ingest.load.stage import load_stage
from ingest.package import new_load_id
from ingest.parse.stage import parse_stage
from ingest.tell.feedback import feedback_stage


def run_ingest(load_id: str | None = None, *, inbox: Path | None = None, reprocess: bool = False,
               progress: bool = False, periods: tuple[dt.date, dt.date] | None = None) -> dict[str, dict]:
    """All the stages in one process (the CLI and tests; the DAG runs them as separate tasks)."""
    load_id = load_id or new_load_id()
    return {
        "archive": archive_stage(load_id, inbox),
        "parse": parse_stage(load_id, reprocess=reprocess, progress=progress, periods=periods),
        "validate": validate_stage(load_id),
        "load": load_stage(load_id),
        "feedback": feedback_stage(load_id),
    }
