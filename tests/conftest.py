"""Settings for every test: files are parsed in the test process unless a test asks for worker processes."""

from __future__ import annotations

import os

# parse_stage's default is one worker per CPU; the tests monkeypatch the parser in-process and time
# single runs, so they parse in-process unless they pass workers= themselves (tests/unit/test_parallel.py)
os.environ.setdefault("SECTORSTATS_PARSE_WORKERS", "1")

# tests/prod needs the machine's PostgreSQL and Redis and starts a whole Airflow deployment: `make test-prod` runs it
# (and .ci/run calls that), `make test` does not
collect_ignore = [] if os.environ.get("SECTORSTATS_TEST_PROD") else ["prod"]


def pytest_addoption(parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="write tests/integration/golden/*.json from this run instead of comparing (tests/golden.py)")
