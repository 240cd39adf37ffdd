"""The archive stage: what is new in the inbox goes into the archive, and each arrival into ``raw.arrivals``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import pandas as pd

from ingest import warehouse
from ingest.archive import store
from ingest.settings import data_dir, inbox_location

log = logging.getLogger(__name__)


def archive_stage(load_id: str, inbox: Path | None = None) -> dict[str, int | str]:
    """Archive what is new in the inbox (local, or ``SECTORSTATS_INBOX_URL``), record each arrival in
    ``raw.arrivals`` and the load's start in ``raw.loads``."""
    inbox = inbox or inbox_location()
    with warehouse.connect() as con:
        warehouse.ensure_schema(con)
        known_rows = warehouse.execute(
            con, "select folder_unit_code, file_name, size_bytes, mtime_ns, sha256 from raw.arrivals").fetchall()
        known = {(f, n, int(s), int(m)): h for f, n, s, m, h in known_rows}
        known_sha = {h for *_, h in known_rows}
        arrivals, seen = store.archive_inbox(inbox, data_dir(), known, known_sha)
        frame = pd.DataFrame([dataclasses.asdict(a) for a in arrivals],
                             columns=[f.name for f in dataclasses.fields(store.Arrival)])
        frame["load_id"] = load_id
        warehouse.insert_frame(con, "raw.arrivals", frame)
        warehouse.execute(con, "delete from raw.loads where load_id = :load_id", {"load_id": load_id})
        warehouse.execute(con, """insert into raw.loads (load_id, started_at, files_seen, files_new)
                                  values (:load_id, :started_at, :seen, :new)""",
                          {"load_id": load_id, "started_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                           "seen": seen, "new": len(arrivals)})
    duplicates = sum(a.is_duplicate for a in arrivals)
    log.info("archive: %d files in the inbox, %d new arrivals (%d duplicates)", seen, len(arrivals), duplicates)
    return {"load_id": load_id, "files_seen": seen, "files_new": len(arrivals), "duplicates": duplicates}
