"""Settings for every test: files are parsed in the test process unless a test asks for worker processes."""

from __future__ import annotations

import os

# parse_stage's default is one worker per CPU; the tests monkeypatch the parser in-process, so they parse in
# the test process (0: unprotected, never for a deployment) unless they pass workers= themselves
# (tests/unit/test_parallel.py, tests/unit/test_complex_files.py)
os.environ.setdefault("SECTORSTATS_PARSE_WORKERS", "0")
os.environ.setdefault("SECTORSTATS_INBOX_SETTLE_SECONDS", "0")  # tests write files and scan at once (default 60 s)

# tests/prod needs the machine's PostgreSQL and Redis and starts a whole Airflow deployment: `make test-prod` runs it
# (and .ci/run calls that), `make test` does not
collect_ignore = [] if os.environ.get("SECTORSTATS_TEST_PROD") else ["prod"]


def pytest_addoption(parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="write tests/integration/golden/*.json from this run instead of comparing (tests/golden.py)")
