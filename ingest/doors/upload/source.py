"""What the upload page reads from the warehouse, read-only: what a unit owes, its history, the verdicts recorded.

On DuckDB the DAGs hold the warehouse file open for writing (one writer, and a reader cannot even open the file
meanwhile), so the page reads the analysts' published snapshot (:func:`ingest.marts.publish.analyst_warehouse_path`,
swapped in by the transform and monitoring DAGs after each build) and says when it was taken: every read opens the
snapshot of the moment, read-only. On Postgres (``SECTORSTATS_WAREHOUSE_URL``) it reads the warehouse itself, in
read-only transactions; ``SECTORSTATS_UPLOAD_WAREHOUSE_URL`` may name a role that can only read (it needs
``raw.submissions``, ``raw.observations`` and ``marts.fct_report_status``), so that the process facing the internet
holds no password that can write.

Before the first snapshot there is nothing to read: the page says so, and a preview is validated without the unit's
earlier reports (the rules comparing with history then find nothing to compare).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ingest import warehouse
from ingest.check.history import warehouse_history
from ingest.marts.calendar import COLUMNS, read_calendar
from ingest.marts.publish import analyst_warehouse_path

log = logging.getLogger(__name__)

OK, NO_SNAPSHOT, NO_CALENDAR, UNAVAILABLE = "ok", "no_snapshot", "no_calendar", "unavailable"


@dataclass(frozen=True)
class Owed:
    """A unit's rows of the reporting calendar, and what they were read from."""

    rows: pd.DataFrame  # the columns of ingest.marts.calendar.COLUMNS
    status: str  # ok | no_snapshot | no_calendar | unavailable
    as_of: dt.date | None = None  # the day the calendar was built for
    taken_at: dt.datetime | None = None  # UTC, when the snapshot was published; None when read live (Postgres)


class WarehouseSource:
    """The read-only warehouse of the page (see the module's text)."""

    def __init__(self, snapshot: Path | None = None) -> None:
        self.snapshot = snapshot or analyst_warehouse_path()

    @property
    def live(self) -> bool:
        """Whether the page reads the warehouse itself (Postgres) rather than a snapshot (DuckDB)."""
        return warehouse.backend() == "postgresql"

    def taken_at(self) -> dt.datetime | None:
        """When the snapshot now in place was published (UTC), or None without one."""
        try:
            return dt.datetime.fromtimestamp(self.snapshot.stat().st_mtime, dt.UTC)
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def connect(self) -> Iterator[warehouse.Connection | None]:
        """A read-only connection, or None when there is no snapshot yet."""
        if self.live:
            own = os.environ.get("SECTORSTATS_UPLOAD_WAREHOUSE_URL", "").strip()
            if not own:
                with warehouse.connect(read_only=True) as con:
                    yield con
                return
            engine = sa.create_engine(own, poolclass=NullPool, execution_options={"postgresql_readonly": True},
                                      connect_args={"application_name": "sectorstats-upload-page"})
            try:
                with engine.connect() as con:
                    yield con
                    con.rollback()
            finally:
                engine.dispose()
            return
        if not self.snapshot.exists():
            yield None
            return
        with warehouse.connect(self.snapshot, read_only=True) as con:
            yield con

    def owed(self, unit_code: str) -> Owed:
        """The unit's reports in the calendar, or why there are none to show."""
        empty = pd.DataFrame(columns=COLUMNS)
        taken = None if self.live else self.taken_at()
        try:
            with self.connect() as con:
                if con is None:
                    return Owed(empty, NO_SNAPSHOT)
                if not warehouse.has_table(con, "marts", "fct_report_status"):
                    return Owed(empty, NO_CALENDAR, taken_at=taken)
                rows = read_calendar(con, unit_code=unit_code)
        except Exception as exc:  # a warehouse down or a snapshot being replaced: the page still works
            log.warning("upload page: the calendar cannot be read: %s", _first_line(exc))
            return Owed(empty, UNAVAILABLE)
        as_of = rows["as_of"].iloc[0] if not rows.empty else None
        return Owed(rows, OK, as_of, taken)

    def history(self, units: list[str], exclude_sha256: list[str]) -> pd.DataFrame | None:
        """The units' earlier accepted reports (:func:`ingest.check.history.warehouse_history`), or None when
        there is nothing to read them from."""
        with self.connect() as con:
            if con is None or not warehouse.has_table(con, "raw", "submissions"):
                return None
            return warehouse_history(con, units, exclude_sha256)

    def recorded(self, sha256s: list[str]) -> dict[str, str]:
        """The verdict the DAG recorded for each of these files (``raw.submissions.status``), for those loaded."""
        if not sha256s:
            return {}
        try:
            with self.connect() as con:
                if con is None or not warehouse.has_table(con, "raw", "submissions"):
                    return {}
                frame = warehouse.frame(con, """
                    select sha256, max(status) as status from raw.submissions
                    where sha256 in (select unnest(cast(:files as varchar[]))) and status is not null
                    group by sha256""", {"files": sha256s})
        except Exception as exc:
            log.warning("upload page: the recorded verdicts cannot be read: %s", _first_line(exc))
            return {}
        return dict(zip(frame["sha256"], frame["status"], strict=True))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
