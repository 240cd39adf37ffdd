"""The Airflow assets that link the DAGs and the doors, declared once (DAG files and the upload page import them from
here).

- ``INBOX``: the upload page updates it (through Airflow's REST API, :mod:`ingest.doors.announcements`) when it has
  delivered a file into the inbox; with the reporting calendar's timetable it schedules ``sectorstats_ingest``, so an
  upload is ingested at once instead of at the next scheduled scan;
- ``RAW_TABLES``: a load that brought something updates it; it schedules ``sectorstats_transform``;
- ``MARTS``: the transform's build updates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Asset

INBOX = Asset(name="sectorstats_inbox", uri="sectorstats://inbox")
RAW_TABLES = Asset(name="sectorstats_raw_tables", uri="sectorstats://warehouse/raw")
MARTS = Asset(name="sectorstats_marts", uri="sectorstats://warehouse/marts")


def event_extras(triggering_asset_events: Mapping[Any, Any] | None, asset: Asset) -> list[dict[str, Any]]:
    """The ``extra`` of each event of ``asset`` that triggered the run (Airflow's ``triggering_asset_events``):
    none for a run started by its timetable or by hand."""
    if not triggering_asset_events:
        return []
    try:
        events = triggering_asset_events[asset]
    except KeyError:
        return []
    return [dict(e.extra) for e in events if isinstance(getattr(e, "extra", None), Mapping)]
