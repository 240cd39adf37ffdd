"""Paths and run-time settings, from environment variables with defaults relative to the repository.

``SECTORSTATS_DATA_DIR`` (default ``data/``) holds everything the pipeline writes:

- ``inbox/<unit_code>/<file>``: where districts upload; the folder names the uploader;
- ``archive/sha256/<ab>/<sha256>``: every received file, byte for byte, content-addressed;
- ``warehouse.duckdb``: the warehouse (raw tables and dbt schemas), unless ``SECTORSTATS_WAREHOUSE_URL`` names a
  Postgres database;
- ``reports/``: summaries and alert copies; ``airflow/``: Airflow's home for the embedded default.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
DBT_PROJECT_DIR = Path(os.environ.get("SECTORSTATS_DBT_PROJECT_DIR", REPO_DIR / "dbt_project"))
REFERENCE_DIR = DBT_PROJECT_DIR / "seeds" / "reference"


def data_dir() -> Path:
    return Path(os.environ.get("SECTORSTATS_DATA_DIR", REPO_DIR / "data")).resolve()


def inbox_dir() -> Path:
    return Path(os.environ.get("SECTORSTATS_INBOX_DIR", data_dir() / "inbox"))


def inbox_location() -> Any:
    """Where districts upload: ``SECTORSTATS_INBOX_URL`` as an Airflow ``ObjectStoragePath`` (``s3://bucket/inbox``,
    ``sftp://host/inbox``, ``file:///srv/inbox``…, through the Airflow connection ``SECTORSTATS_INBOX_CONN_ID``
    and the provider of that scheme), else the local folder :func:`inbox_dir`."""
    url = os.environ.get("SECTORSTATS_INBOX_URL", "").strip()
    if not url:
        return inbox_dir()
    from airflow.sdk import ObjectStoragePath

    conn_id = os.environ.get("SECTORSTATS_INBOX_CONN_ID") or None
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("sftp", "ssh"):
        _attach_verified_sftp(scheme, conn_id)
    return ObjectStoragePath(url, conn_id=conn_id)


def _attach_verified_sftp(scheme: str, conn_id: str | None) -> None:
    """Register the sftp filesystem of ``conn_id`` with the server's host key checked against
    ``SECTORSTATS_INBOX_KNOWN_HOSTS`` (an OpenSSH known_hosts file), before ``ObjectStoragePath`` makes its own.

    The SFTP provider's filesystem checks the host key only if ``~/.ssh/known_hosts`` happens to exist for the
    worker's user, and has no setting for a file: a server that is not ours would be trusted with the districts'
    files. So an sftp inbox needs the file (``ssh-keyscan -p PORT HOST`` once, compared with the server's own key),
    or the connection's extra ``no_host_key_check: true`` to say, knowingly, that any server will do. The host
    and port are the connection's (those in the URL are not used)."""
    if conn_id is None:
        raise ValueError("SECTORSTATS_INBOX_URL is an sftp:// URL: name its Airflow connection (host, port, login, "
                         "key_file) in SECTORSTATS_INBOX_CONN_ID")
    from airflow.providers.sftp.fs.sftp import get_fs
    from airflow.sdk import BaseHook
    from airflow.sdk.io.store import _STORE_CACHE, attach

    if f"{scheme}-{conn_id}" in _STORE_CACHE:  # attached earlier in this process
        return
    extra = BaseHook.get_connection(conn_id).extra_dejson or {}
    known_hosts = os.environ.get("SECTORSTATS_INBOX_KNOWN_HOSTS", "").strip()
    if str(extra.get("no_host_key_check", "")).lower() == "true":
        fs = get_fs(conn_id)
    elif not known_hosts:
        raise ValueError("SECTORSTATS_INBOX_URL is an sftp:// URL: set SECTORSTATS_INBOX_KNOWN_HOSTS to a known_hosts "
                         "file holding the server's host key (ssh-keyscan -p PORT HOST > known_hosts, then compare "
                         "it with the server's key), so that no other server is trusted with the districts' files")
    elif not Path(known_hosts).is_file():
        raise ValueError(f"SECTORSTATS_INBOX_KNOWN_HOSTS={known_hosts!r} is not a file")
    else:
        fs = get_fs(conn_id, {"known_hosts": known_hosts})
    attach(scheme, conn_id, fs=fs)


def inbox_settle_seconds() -> int:
    """How long a file must have been left unmodified before a scan takes it (``SECTORSTATS_INBOX_SETTLE_SECONDS``,
    default 60; 0 turns the rule off): younger files are left for the next scan (:mod:`ingest.archive.store`).

    Uploads (sftp, a file share) write in place and a scan cannot tell a finished file from one whose writer has
    paused; only the modification time can. One default serves the local folder and ``SECTORSTATS_INBOX_URL``
    alike, because the same uploads fill both (a local inbox is usually a share or an sftp server's folder). 60 s
    is longer than the pauses of a slow link and than the clock difference of time-synchronised machines (a
    remote file's time is the server's clock: one ahead only delays a file, one behind shortens the wait by as
    much). It costs little: the ingest DAG scans hourly at most (while reports are due), so a file that has just
    arrived is loaded by the next scan. An S3 object is never seen half-written; there the rule only delays."""
    return count_setting("SECTORSTATS_INBOX_SETTLE_SECONDS", 60, minimum=0)


def archive_dir() -> Path:
    return data_dir() / "archive"


def reports_dir() -> Path:
    return data_dir() / "reports"


def warehouse_path() -> Path:
    return Path(os.environ.get("SECTORSTATS_WAREHOUSE", data_dir() / "warehouse.duckdb")).resolve()


def warehouse_url() -> str:
    """The warehouse as a SQLAlchemy URL: ``SECTORSTATS_WAREHOUSE_URL`` (``postgresql+psycopg2://user:password@host/db``
    for the production option; a password with special characters is percent-encoded), else the DuckDB file
    :func:`warehouse_path`."""
    return os.environ.get("SECTORSTATS_WAREHOUSE_URL", "").strip() or f"duckdb:///{warehouse_path()}"


def duckdb_memory_limit() -> str:
    """Memory each DuckDB connection may use (``SECTORSTATS_DUCKDB_MEMORY``, default ``1GB``; DuckDB's own
    default is 80% of the machine). Beyond it DuckDB spills to disk: a national year's dbt build peaked at 6 GB
    without a limit, 1.5 GB with this one, for 15–40% more time (106 s → 120–147 s)."""
    return os.environ.get("SECTORSTATS_DUCKDB_MEMORY", "1GB")


def as_of(default: dt.date | None = None) -> dt.date:
    """The date up to which reports are expected: ``SECTORSTATS_AS_OF`` (ISO date) when set, else ``default``
    (a DAG passes the day its run is for), else today in the catalogue's time zone (Vietnam)."""
    value = os.environ.get("SECTORSTATS_AS_OF", "").strip()
    if not value:
        if default:
            return default
        from ingest.catalogue import load_catalogue

        return load_catalogue().today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"SECTORSTATS_AS_OF={value!r} is not an ISO date (YYYY-MM-DD)") from exc


WAREHOUSE_POOL = "sectorstats_warehouse"
"""The Airflow pool every task that opens the warehouse runs in. DuckDB allows one process to write a file (and a
reader cannot open it meanwhile), so the pool has one slot; on Postgres the slot keeps loads and builds in order.
``make airflow-db`` (and the compose init service) creates it."""


def count_setting(name: str, default: int, *, minimum: int = 1) -> int:
    """A whole number ≥ ``minimum`` from the environment variable ``name`` (``default`` when unset), or a clear
    error."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ValueError(f"{name}={raw!r} must be a whole number ≥ {minimum}")
    return int(raw)
