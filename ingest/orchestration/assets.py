"""The Airflow assets that link the DAGs, declared once (DAG files import them from here)."""

from __future__ import annotations

from airflow.sdk import Asset

RAW_TABLES = Asset(name="sectorstats_raw_tables", uri="sectorstats://warehouse/raw")
MARTS = Asset(name="sectorstats_marts", uri="sectorstats://warehouse/marts")
