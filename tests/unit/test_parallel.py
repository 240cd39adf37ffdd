"""ingest.read.workers: worker processes keep the input order, kill a file that overruns its time limit, survive a
worker that dies (out of memory: the file is too complex), read even a lone file outside the calling process, and
a file over the size limit is never read. The parse functions below run in the workers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ingest.catalogue.problems import Problem
from ingest.read.limits import MB, Limits
from ingest.read.workers import default_workers, parse_paths

PARSED = ("submissions", "observations", "problems")

# --- parse functions, imported by name in the worker processes --------------------------------------------------


def size_of(data: bytes) -> tuple[int, int]:
    return len(data), os.getpid()


def sleepy(data: bytes) -> int:
    if data.startswith(b"slow"):
        time.sleep(60)
    return len(data)


def crashy(data: bytes) -> int:
    if data == b"crash":
        os.abort()  # as native code does when it fails
    if data == b"rust oom":  # what Rust's allocator does when an allocation over the address-space limit fails
        os.write(2, b"memory allocation of 12884901888 bytes failed\n")
        os.abort()
    if data == b"bug":
        raise KeyError("no such sheet")
    return len(data)


def hungry(data: bytes) -> int:
    if data == b"hog":
        block = bytearray(1024 * MB)  # over the worker's address-space limit
        return len(block)
    return len(data)


# --------------------------------------------------------------------------------------------------------------


def files(tmp_path: Path, contents: list[bytes]) -> list[Path]:
    paths = []
    for i, body in enumerate(contents):
        p = tmp_path / f"{i:03d}.bin"
        p.write_bytes(body)
        paths.append(p)
    return paths


def test_default_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_PARSE_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.delenv("SECTORSTATS_PARSE_WORKERS")
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("SECTORSTATS_PARSE_WORKERS", "0")
    assert default_workers() == 0
    for wrong in ("-1", "two"):
        monkeypatch.setenv("SECTORSTATS_PARSE_WORKERS", wrong)
        with pytest.raises(ValueError, match=rf"SECTORSTATS_PARSE_WORKERS='{wrong}' must be a whole number ≥ 0"):
            default_workers()


def test_results_keep_the_input_order_with_workers(tmp_path: Path) -> None:
    contents = [b"x" * n for n in range(1, 60)]
    results = list(parse_paths(files(tmp_path, contents), size_of, workers=2, chunk=3))
    assert [n for n, _ in results] == [len(c) for c in contents]
    pids = {pid for _, pid in results}
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_lone_file_is_read_in_a_worker_never_here(tmp_path: Path) -> None:
    """The hourly load of one file: still in a worker process, under its memory cap and time limit."""
    (n, pid), = parse_paths(files(tmp_path, [b"a"]), size_of, workers=1)
    assert n == 1 and pid != os.getpid()
    results = list(parse_paths(files(tmp_path, [b"a", b"bb"]), size_of, workers=1))
    assert [n for n, _ in results] == [1, 2] and results[0][1] == results[1][1] != os.getpid()


def test_zero_workers_parse_here(tmp_path: Path) -> None:
    results = list(parse_paths(files(tmp_path, [b"a", b"bb"]), size_of, workers=0))
    assert results == [(1, os.getpid()), (2, os.getpid())]


def test_a_file_over_the_time_limit_is_killed_and_the_rest_go_on(tmp_path: Path) -> None:
    contents = [b"a", b"slow 1", b"bb", b"ccc", b"dddd", b"slow 2", b"eeeee"]
    t = time.perf_counter()
    results = list(parse_paths(files(tmp_path, contents), sleepy, workers=2, chunk=3,
                               limits=Limits(max_seconds=1.5)))
    elapsed = time.perf_counter() - t
    timeout = Problem.at("file-timeout", detail="more than 1.5 s", expected="1.5")
    assert results == [1, timeout, 2, 3, 4, timeout, 5]
    assert elapsed < 15, elapsed  # two kills and restarts, not two minutes of sleep


def test_a_worker_that_dies_costs_only_its_file(tmp_path: Path) -> None:
    results = list(parse_paths(files(tmp_path, [b"a", b"crash", b"bb", b"crash", b"ccc"]), crashy, workers=2,
                               chunk=2))
    dead = Problem.at("internal-error", detail="the reader process stopped (exit code -6)")
    assert results == [1, dead, 2, dead, 3]


def test_a_worker_out_of_memory_in_native_code_makes_the_file_too_complex(tmp_path: Path) -> None:
    results = list(parse_paths(files(tmp_path, [b"a", b"rust oom", b"crash", b"bb"]), crashy, workers=1,
                               chunk=4, limits=Limits(worker_memory_bytes=512 * MB)))
    assert results == [1, Problem.at("file-too-complex", detail="reading it needed more than 512 MB",
                                     expected="512 MB"),
                       Problem.at("internal-error", detail="the reader process stopped (exit code -6)"), 2]


def test_an_exception_in_a_worker_costs_only_its_file(tmp_path: Path) -> None:
    results = list(parse_paths(files(tmp_path, [b"a", b"bug", b"bb"]), crashy, workers=1, chunk=3))
    assert results == [1, Problem.at("internal-error", detail="KeyError: 'no such sheet'"), 2]


def test_the_worker_address_space_limit_holds(tmp_path: Path) -> None:
    results = list(parse_paths(files(tmp_path, [b"a", b"hog", b"bb"]), hungry, workers=2, chunk=1,
                               limits=Limits(worker_memory_bytes=768 * MB)))
    assert results == [1, Problem.at("file-too-complex", detail="reading it needed more than 768 MB",
                                     expected="768 MB"), 2]


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path, workers: int) -> None:
    paths = files(tmp_path, [b"a", b"b"])
    big = tmp_path / "big.xlsx"
    with big.open("wb") as f:
        f.truncate(3 * 1024 * MB)  # sparse: reading it would take 3 GB
    results = list(parse_paths([paths[0], big, paths[1]], size_of, workers=workers))
    assert results[1] == Problem.at("file-too-large", detail=f"{3 * 1024 * MB} bytes", value="3072 MB",
                                    expected="20 MB")
    assert [r[0] for r in (results[0], results[2])] == [1, 1]


def test_parse_stage_with_workers_equals_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real pipeline: the package written with 2 workers is the package written in-process."""
    from devtools.demo import generate_demo
    from ingest.archive.stage import archive_stage
    from ingest.package import LoadPackage, read_frames
    from ingest.parse.stage import parse_stage

    generate_demo(tmp_path / "inbox", year=2024, seed=5, unit_codes=["443"])
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECTORSTATS_INBOX_DIR", str(tmp_path / "inbox"))
    archive_stage("a")
    one = parse_stage("one", workers=0)
    two = parse_stage("two", reprocess=True, workers=2)
    assert {k: v for k, v in one.items() if k != "load_id"} == {k: v for k, v in two.items() if k != "load_id"}
    a, b = (read_frames(LoadPackage(load).parsed, *PARSED) for load in ("one", "two"))
    for name in PARSED:
        assert a[name].equals(b[name]), name


def test_parse_in_chunks_equals_parse_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DAG maps its parse task over chunks of files: the merged package is the one parsed in one go, and
    an empty plan still gives one (empty) chunk so the stages after it run."""
    from devtools.demo import generate_demo
    from ingest.archive.stage import archive_stage
    from ingest.package import LoadPackage, read_frames
    from ingest.parse.stage import merge_parts, parse_chunk, parse_stage, plan_parse

    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECTORSTATS_INBOX_DIR", str(tmp_path / "inbox"))
    archive_stage("a")
    assert plan_parse("empty") == [0]
    assert parse_chunk("empty", 0)["files"] == 0
    assert merge_parts("empty")["files"] == 0
    generate_demo(tmp_path / "inbox", year=2024, seed=5, unit_codes=["443", "440"])
    archive_stage("b")
    whole = parse_stage("whole", workers=1)
    chunks = plan_parse("chunked", reprocess=True, chunk_size=7)
    assert chunks == list(range(-(-whole["files"] // 7)))
    for chunk in reversed(chunks):  # in any order, as parallel workers would finish them
        parse_chunk("chunked", chunk, workers=1)
    assert merge_parts("chunked") == {**whole, "load_id": "chunked"}
    a, b = (read_frames(LoadPackage(load).parsed, *PARSED) for load in ("whole", "chunked"))
    for name in PARSED:
        assert a[name].equals(b[name]), name


def test_merging_refuses_a_missing_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from devtools.demo import generate_demo
    from ingest.archive.stage import archive_stage
    from ingest.package import StageError
    from ingest.parse.stage import merge_parts, parse_chunk, plan_parse

    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECTORSTATS_INBOX_DIR", str(tmp_path / "inbox"))
    generate_demo(tmp_path / "inbox", year=2024, seed=5, unit_codes=["443"])
    archive_stage("a")
    chunks = plan_parse("l", chunk_size=10)
    assert len(chunks) >= 3
    for chunk in chunks:
        if chunk != 1:
            parse_chunk("l", chunk, workers=1)
    with pytest.raises(StageError, match=r"parse stage of load l: chunk 1 was not parsed"):
        merge_parts("l")


def test_unit_chunks_pack_whole_units_in_code_order() -> None:
    import pandas as pd

    from ingest.check.stage import unit_chunks

    subs = pd.DataFrame({"unit_code": ["443"] * 5 + ["440"] * 3 + ["445"] * 4 + ["436"] * 9})
    assert unit_chunks(subs, 8) == [["436"], ["440", "443"], ["445"]]
    assert unit_chunks(subs, 100) == [["436", "440", "443", "445"]]
    assert unit_chunks(subs, 1) == [["436"], ["440"], ["443"], ["445"]]  # a unit larger than a chunk stays whole
    assert unit_chunks(subs.iloc[:0], 8) == []


def test_validate_in_chunks_of_units_equals_validate_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation runs in chunks of whole units to bound memory: the statuses and problems are those of one run
    over the whole batch (the history rules compare a report with its own unit's other reports only)."""
    from devtools.demo import generate_demo
    from ingest.archive.stage import archive_stage
    from ingest.check.stage import validate_stage
    from ingest.package import LoadPackage
    from ingest.parse.stage import parse_stage

    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECTORSTATS_INBOX_DIR", str(tmp_path / "inbox"))
    generate_demo(tmp_path / "inbox", year=2024, seed=5, unit_codes=["443", "440", "445"])
    archive_stage("a")
    parse_stage("whole", workers=1)
    parse_stage("chunked", workers=1, reprocess=True)
    whole = validate_stage("whole")
    monkeypatch.setenv("SECTORSTATS_VALIDATE_CHUNK", "20")  # ~32 reports a unit: one chunk each
    chunked = validate_stage("chunked")
    assert whole["failures"] > 0 and chunked == {**whole, "load_id": "chunked"}
    a, b = LoadPackage("whole").problems(), LoadPackage("chunked").problems()
    order = ["problem_id"]
    assert a.sort_values(order, ignore_index=True).equals(b.sort_values(order, ignore_index=True))
    assert LoadPackage("whole").submissions().equals(LoadPackage("chunked").submissions())
