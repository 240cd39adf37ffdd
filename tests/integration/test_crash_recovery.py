"""Killing the ingest at any point and running it again leaves exactly what one clean run leaves."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.demo import generate_demo
from ingest import warehouse
from ingest.archive import store as archive
from ingest.check import stage as checking
from ingest.parse import stage as parsing
from ingest.pipeline import run_ingest
from tests.integration.helpers import query

pytestmark = pytest.mark.integration

TABLES = ("raw.arrivals", "raw.submissions", "raw.observations", "raw.problems")


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so no handler in the code under test catches it."""


def snapshot(data: Path) -> dict[str, list[str]]:
    out = {t: sorted(map(repr, query(data, f"select * exclude (load_id) from {t}"))) for t in TABLES}
    out["archive"] = sorted(p.name for p in (data / "archive").rglob("*") if p.is_file())
    return out


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    box = tmp_path_factory.mktemp("crash") / "inbox"
    generate_demo(box, year=2024, seed=7, unit_codes=["443", "448"])
    return box


@pytest.fixture(scope="module")
def clean(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    data = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECTORSTATS_DATA_DIR", str(data))
        mp.setenv("SECTORSTATS_INBOX_DIR", str(inbox))
        run_ingest("clean")
    snap = snapshot(data)
    assert len(snap["raw.submissions"]) > 50 and snap["raw.problems"]
    return snap


def _kill_after(n: int, real):
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > n:
            raise Killed
        return real(*args, **kwargs)

    return wrapper


INJECTIONS = {
    # mid-archive: some files copied into the archive, no arrival recorded yet
    "archive-store": lambda mp: mp.setattr(archive, "stage", _kill_after(20, archive.stage)),
    # mid-parse: the package is never written
    "parse-file": lambda mp: mp.setattr(parsing, "parse_file", _kill_after(30, parsing.parse_file)),
    # after parse, during validation
    "validate": lambda mp: mp.setattr(checking, "validate_batch", _kill_after(0, checking.validate_batch)),
    # inside the load transaction, after submissions and observations were inserted
    "load-insert": lambda mp: mp.setattr(warehouse, "insert_frame", _kill_after(2, warehouse.insert_frame)),
}


@pytest.mark.parametrize("point", sorted(INJECTIONS))
def test_killed_then_rerun_equals_one_clean_run(point: str, inbox: Path, clean, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECTORSTATS_DATA_DIR", str(data))
        mp.setenv("SECTORSTATS_INBOX_DIR", str(inbox))
        with pytest.MonkeyPatch.context() as inject:
            INJECTIONS[point](inject)
            with pytest.raises(Killed):
                run_ingest("killed")
        run_ingest("rerun")
        assert snapshot(data) == clean


@pytest.mark.parametrize("after_seconds", [1.0, 3.0, 6.0])
def test_sigkill_at_any_moment_then_rerun(after_seconds: float, inbox: Path, clean, tmp_path: Path) -> None:
    """The real thing: the process is killed with SIGKILL wherever it happens to be."""
    data = tmp_path / "data"
    env = {**os.environ, "SECTORSTATS_DATA_DIR": str(data), "SECTORSTATS_INBOX_DIR": str(inbox)}
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "ingest"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(after_seconds)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    subprocess.run([sys.executable, "-m", "ingest", "ingest"], env=env, check=True, capture_output=True, timeout=300)
    assert snapshot(data) == clean
    shutil.rmtree(data)
