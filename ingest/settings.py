"""Paths and run-time settings, from environment variables with defaults relative to the repository.

``SECTORSTATS_DATA_DIR`` (default ``data/``) holds everything the pipeline writes:

- ``inbox/<unit_code>/<file>``: where districts upload; the folder names the uploader;
- ``archive/sha256/<ab>/<sha256>``: every received file, byte for byte, content-addressed;
- ``warehouse.duckdb``: the warehouse (raw tables and dbt schemas);
- ``reports/``: summaries and alert copies; ``airflow/``: Airflow's home for the embedded default.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
DBT_PROJECT_DIR = Path(os.environ.get("SECTORSTATS_DBT_PROJECT_DIR", REPO_DIR / "dbt_project"))
REFERENCE_DIR = DBT_PROJECT_DIR / "seeds" / "reference"


def data_dir() -> Path:
    return Path(os.environ.get("SECTORSTATS_DATA_DIR", REPO_DIR / "data")).resolve()


def inbox_dir() -> Path:
    return Path(os.environ.get("SECTORSTATS_INBOX_DIR", data_dir() / "inbox"))


def archive_dir() -> Path:
    return data_dir() / "archive"


def reports_dir() -> Path:
    return data_dir() / "reports"


def warehouse_path() -> Path:
    return Path(os.environ.get("SECTORSTATS_WAREHOUSE", data_dir() / "warehouse.duckdb")).resolve()


def as_of() -> dt.date:
    """The date up to which reports are expected (``SECTORSTATS_AS_OF``, ISO date; default today)."""
    value = os.environ.get("SECTORSTATS_AS_OF", "").strip()
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"SECTORSTATS_AS_OF={value!r} is not an ISO date (YYYY-MM-DD)") from exc
