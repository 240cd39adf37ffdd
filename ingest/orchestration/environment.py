"""The environment the embedded default runs the DAGs in (``make run``'s): the one list, for the benchmarks and the
tests that start Airflow the way ``make run`` does (the Makefile exports the same for the shell)."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.settings import REPO_DIR


def embedded_environment(data_dir: Path, *, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without any ``AIRFLOW*`` or ``SECTORSTATS*`` setting, plus
    what ``make run`` sets: the data directory, Airflow's home in it, the project's DAGs, no examples, quiet logs,
    no telemetry from Great Expectations and dbt."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith(("AIRFLOW", "SECTORSTATS"))}
    env.update({
        "SECTORSTATS_DATA_DIR": str(data_dir),
        "AIRFLOW_HOME": str(data_dir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "GX_ANALYTICS_ENABLED": "False",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    return env
