"""ingest.archive.store: every received file kept byte for byte under its sha256; file names are data, never paths."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import time
import unicodedata
from pathlib import Path

import pytest

from ingest.archive import store as archive
from ingest.archive.store import (
    CHUNK,
    Arrival,
    archive_inbox,
    archive_relpath,
    arrival_id,
    publish,
    read_archived,
    scan_inbox,
    stage,
    sweep_incomplete,
)
from ingest.doors.announcements import Delivered

T0 = 1_727_740_800_000_000_000  # 2024-10-01 00:00:00 UTC, in ns
DAY = 86_400 * 10**9


def put(inbox: Path, folder: str, name: str, data: bytes, mtime_ns: int) -> Path:
    d = inbox / folder if folder else inbox
    path = d / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = (p.read_bytes() if p.is_file() and not p.is_symlink() else b"",
                                         st.st_mtime_ns, st.st_mode)
    return out


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def utc(mtime_ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=mtime_ns // 1000)


# --- hashing and the store ------------------------------------------------------------------------------


def archived(src: Path, data_dir: Path) -> Path:
    """One file archived now, as archive_inbox does it a batch at a time."""
    staged = stage(src, data_dir)
    publish([staged])
    return staged.target


def test_staging_hashes_in_chunks(tmp_path: Path) -> None:
    data = os.urandom(CHUNK * 2 + 12345)
    p = tmp_path / "big.xlsx"
    p.write_bytes(data)
    assert stage(p, tmp_path / "data").sha256 == sha(data)


def test_archive_relpath_is_from_the_hash_alone() -> None:
    h = sha(b"abc")
    assert h == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert archive_relpath(h) == f"archive/sha256/ba/{h}"


def test_archiving_is_content_addressed_byte_identical_and_read_only(tmp_path: Path) -> None:
    data = b"PK\x03\x04 a report \x00\xff" * 1000
    src = tmp_path / "Báo cáo T10.xlsx"
    src.write_bytes(data)
    h = sha(data)
    target = archived(src, tmp_path / "data")
    assert target == tmp_path / "data" / "archive" / "sha256" / h[:2] / h
    assert target.read_bytes() == data
    assert read_archived(h, tmp_path / "data") == data
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert os.listdir(target.parent) == [h]  # no temporary file left behind
    assert src.read_bytes() == data  # the source is untouched


def test_archiving_is_idempotent(tmp_path: Path) -> None:
    data = b"same bytes"
    h = sha(data)
    a = tmp_path / "a.xlsx"
    b = tmp_path / "b.xls"
    a.write_bytes(data)
    b.write_bytes(data)
    first = archived(a, tmp_path / "data")
    before = first.stat()
    second = archived(b, tmp_path / "data")
    assert second == first
    after = first.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # left as it is
    assert all_files(tmp_path / "data") == {archive_relpath(h)}


@pytest.mark.parametrize("change", ["size", "mtime"])
def test_a_file_that_changed_since_the_scan_is_not_staged(tmp_path: Path, change: str) -> None:
    src = tmp_path / "a.xlsx"
    src.write_bytes(b"changed while we read it")
    st = src.stat()
    seen = {"size": st.st_size + (change == "size"), "mtime_ns": st.st_mtime_ns - (change == "mtime")}
    with pytest.raises(OSError, match=re.escape("a.xlsx: content changed while archiving")):
        stage(src, tmp_path / "data", **seen)
    assert all_files(tmp_path / "data") == set()  # neither the target nor a temporary file


def test_staged_copies_are_out_of_sight_until_published(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    srcs = []
    for i, body in enumerate([b"one", b"two", b"one"]):
        srcs.append(tmp_path / f"{i}.xlsx")
        srcs[-1].write_bytes(body)
    staged = [stage(p, data_dir) for p in srcs]
    assert [s.sha256 for s in staged] == [sha(b"one"), sha(b"two"), sha(b"one")]
    assert all(not s.target.exists() for s in staged)
    assert sweep_incomplete(data_dir) == 3  # what a killed run leaves is swept, never taken for a copy
    staged = [stage(p, data_dir) for p in srcs]
    publish(staged)
    assert all_files(data_dir) == {archive_relpath(sha(b"one")), archive_relpath(sha(b"two"))}
    assert read_archived(sha(b"two"), data_dir) == b"two"
    again = stage(srcs[0], data_dir)  # already archived: nothing staged
    assert again.temp is None and all_files(data_dir) == {archive_relpath(sha(b"one")), archive_relpath(sha(b"two"))}


def test_arrival_id_is_stable_and_depends_on_every_part() -> None:
    base = arrival_id("443", "bc.xlsx", T0, "ab" * 32)
    assert base == arrival_id("443", "bc.xlsx", T0, "ab" * 32)
    assert len(base) == 20 and all(c in "0123456789abcdef" for c in base)
    others = {arrival_id("444", "bc.xlsx", T0, "ab" * 32), arrival_id("443", "bc2.xlsx", T0, "ab" * 32),
              arrival_id("443", "bc.xlsx", T0 + 1, "ab" * 32), arrival_id("443", "bc.xlsx", T0, "cd" * 32),
              arrival_id("4", "43\x00bc.xlsx", T0, "ab" * 32)}
    assert base not in others
    assert len(others) == 5


# --- archive_inbox --------------------------------------------------------------------------------------


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    box = tmp_path / "inbox"
    put(box, "443", "bao cao thang 10.xlsx", b"can loc october", T0 + 5 * DAY)
    put(box, "444", "BC T10.xlsx", b"huong khe october", T0 + 6 * DAY)
    put(box, "", "gui nham.xlsx", b"loose file", T0 + 7 * DAY)
    return box


def test_archive_inbox_records_folder_name_mtime_and_archives_bytes(inbox: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    known: dict = {}
    arrivals, seen = archive_inbox(inbox, data_dir, known, [])
    assert seen == 3
    h1, h2, h3 = sha(b"can loc october"), sha(b"huong khe october"), sha(b"loose file")
    assert arrivals == [
        Arrival(arrival_id("443", "bao cao thang 10.xlsx", T0 + 5 * DAY, h1), h1, "443", "bao cao thang 10.xlsx", 15,
                T0 + 5 * DAY, dt.datetime(2024, 10, 6), archive_relpath(h1), False),
        Arrival(arrival_id("444", "BC T10.xlsx", T0 + 6 * DAY, h2), h2, "444", "BC T10.xlsx", 17, T0 + 6 * DAY,
                dt.datetime(2024, 10, 7), archive_relpath(h2), False),
        Arrival(arrival_id("", "gui nham.xlsx", T0 + 7 * DAY, h3), h3, "", "gui nham.xlsx", 10, T0 + 7 * DAY,
                dt.datetime(2024, 10, 8), archive_relpath(h3), False),
    ]
    for a, data in zip(arrivals, (b"can loc october", b"huong khe october", b"loose file"), strict=True):
        assert (data_dir / a.archive_path).read_bytes() == data
        assert stat.S_IMODE((data_dir / a.archive_path).stat().st_mode) == 0o444
        assert a.received_at.tzinfo is None
    assert known == {("443", "bao cao thang 10.xlsx", 15, T0 + 5 * DAY): h1,
                     ("444", "BC T10.xlsx", 17, T0 + 6 * DAY): h2,
                     ("", "gui nham.xlsx", 10, T0 + 7 * DAY): h3}


def test_received_at_keeps_sub_second_mtime(tmp_path: Path) -> None:
    mtime = T0 + 123_456_789
    put(tmp_path / "inbox", "443", "a.xlsx", b"x", mtime)
    (a,), _ = archive_inbox(tmp_path / "inbox", tmp_path / "data", {}, [])
    assert a.mtime_ns == mtime
    assert abs(a.received_at - utc(mtime)) <= dt.timedelta(microseconds=1)


def test_inbox_is_never_modified(inbox: Path, tmp_path: Path) -> None:
    before = snapshot(inbox)
    archive_inbox(inbox, tmp_path / "data", {}, [])
    archive_inbox(inbox, tmp_path / "data", {}, [])
    assert snapshot(inbox) == before


def test_second_scan_with_known_finds_nothing_new(inbox: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    known: dict = {}
    first, _ = archive_inbox(inbox, data_dir, known, [])
    stored = snapshot(data_dir)
    again, seen = archive_inbox(inbox, data_dir, known, [a.sha256 for a in first])
    assert (again, seen) == ([], 3)
    assert snapshot(data_dir) == stored


def test_second_scan_without_known_hashes_again_and_finds_the_same_arrivals(inbox: Path, tmp_path: Path) -> None:
    first, _ = archive_inbox(inbox, tmp_path / "data", {}, [])
    again, _ = archive_inbox(inbox, tmp_path / "data", {}, [])
    assert [a.arrival_id for a in again] == [a.arrival_id for a in first]  # same ids: the load can deduplicate


def test_touched_file_is_a_new_arrival_of_known_content(inbox: Path, tmp_path: Path) -> None:
    known: dict = {}
    first, _ = archive_inbox(inbox, tmp_path / "data", known, [])
    p = inbox / "443" / "bao cao thang 10.xlsx"
    os.utime(p, ns=(T0 + 9 * DAY, T0 + 9 * DAY))
    (again,), _ = archive_inbox(inbox, tmp_path / "data", known, [a.sha256 for a in first])
    assert (again.file_name, again.mtime_ns, again.is_duplicate) == ("bao cao thang 10.xlsx", T0 + 9 * DAY, True)
    assert again.sha256 == first[0].sha256
    assert again.arrival_id != first[0].arrival_id


def test_duplicate_in_one_scan_is_the_later_copy(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    # the later copy sorts first by folder and by name: only the modification time decides
    put(box, "443", "z-original.xlsx", b"report", T0 + 2 * DAY)
    put(box, "436", "a-copy.xlsx", b"report", T0 + 3 * DAY)
    put(box, "443", "b-other.xlsx", b"other report", T0 + 1 * DAY)
    arrivals, seen = archive_inbox(box, tmp_path / "data", {}, [])
    assert seen == 3
    assert [(a.folder_unit_code, a.file_name, a.is_duplicate) for a in arrivals] == [
        ("443", "b-other.xlsx", False), ("443", "z-original.xlsx", False), ("436", "a-copy.xlsx", True)]
    assert arrivals[1].archive_path == arrivals[2].archive_path
    assert all_files(tmp_path / "data") == {archive_relpath(sha(b"report")), archive_relpath(sha(b"other report"))}


def test_duplicate_of_an_earlier_scan(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    put(box, "443", "bc.xlsx", b"report", T0)
    known: dict = {}
    first, _ = archive_inbox(box, tmp_path / "data", known, [])
    put(box, "443", "bc (1).xlsx", b"report", T0 + DAY)
    (again,), seen = archive_inbox(box, tmp_path / "data", known, [a.sha256 for a in first])
    assert seen == 2
    assert (again.file_name, again.is_duplicate, again.sha256) == ("bc (1).xlsx", True, first[0].sha256)


ODD_NAMES = [
    "..\\..\\Windows\\system32\\bc.xlsx",  # a Windows path as the sender typed it
    "-rf bc.xlsx",
    "....xlsx",
    " bc .xlsx ",
    "bc\nT10.xlsx",
    "bc\u202eslx.exe",  # right-to-left override
    unicodedata.normalize("NFD", "báo cáo tháng 10.xlsx"),
    unicodedata.normalize("NFC", "báo cáo tháng 10.xlsx"),  # a different file with the NFC spelling of the name
    "报告.xlsx",
    "$(touch pwned).xlsx",
    "bc\u200b.xlsx",
]


def test_odd_file_names_are_recorded_as_data_never_used_as_paths(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    data_dir = tmp_path / "data"
    for i, name in enumerate(ODD_NAMES):
        put(box, "443", name, f"file {i}".encode(), T0 + i * 10**9)
    put(box, "443", ".../bc.xlsx", b"nested", T0 + 100 * 10**9)  # a folder "..." in the unit folder: "../" in the name
    before = snapshot(tmp_path)
    arrivals, seen = archive_inbox(box, data_dir, {}, [])
    assert seen == len(ODD_NAMES) + 1
    names = [a.file_name for a in arrivals]
    assert names == [*ODD_NAMES, ".../bc.xlsx"]  # exactly as on disk (sorted by mtime), not normalised
    for a in arrivals:
        assert a.folder_unit_code == "443"
        assert a.archive_path == archive_relpath(a.sha256)
    after = snapshot(tmp_path)
    created = set(after) - set(before)
    assert {c for c in created if not c.startswith("data")} == set()  # nothing written outside the data directory
    assert all_files(data_dir) == {a.archive_path for a in arrivals}


def test_nested_folders_are_part_of_the_name(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    put(box, "443", "2024/T10/bc.xlsx", b"x", T0)
    (a,), _ = archive_inbox(box, tmp_path / "data", {}, [])
    assert (a.folder_unit_code, a.file_name) == ("443", "2024/T10/bc.xlsx")


def test_links_are_not_followed(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not for the archive")
    put(box, "443", "bc.xlsx", b"report", T0)
    (box / "443" / "link.xlsx").symlink_to(secret)
    (box / "loose-link.xlsx").symlink_to(secret)
    outside = tmp_path / "elsewhere"
    put(outside, "", "x.xlsx", b"outside", T0)
    (box / "999").symlink_to(outside, target_is_directory=True)
    arrivals, seen = archive_inbox(box, tmp_path / "data", {}, [])
    assert seen == 1
    assert [(a.folder_unit_code, a.file_name) for a in arrivals] == [("443", "bc.xlsx")]


def test_missing_inbox_is_empty(tmp_path: Path) -> None:
    assert archive_inbox(tmp_path / "nowhere", tmp_path / "data", {}, []) == ([], 0)
    assert list(scan_inbox(tmp_path / "nowhere")) == []


def test_file_that_cannot_be_archived_now_is_skipped_and_retried(inbox: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real_stage = archive.stage

    def flaky(path: Path, data_dir: Path, **seen: int) -> archive.Staged:
        if path.name == "BC T10.xlsx":
            raise OSError("disk full")
        return real_stage(path, data_dir, **seen)

    monkeypatch.setattr(archive, "stage", flaky)
    known: dict = {}
    arrivals, seen = archive_inbox(inbox, tmp_path / "data", known, [])
    assert seen == 3
    assert [a.file_name for a in arrivals] == ["bao cao thang 10.xlsx", "gui nham.xlsx"]
    monkeypatch.setattr(archive, "stage", real_stage)
    (retried,), _ = archive_inbox(inbox, tmp_path / "data", known, [a.sha256 for a in arrivals])
    assert (retried.folder_unit_code, retried.file_name, retried.is_duplicate) == ("444", "BC T10.xlsx", False)


def test_non_utf8_file_name_does_not_stop_the_scan(tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    put(box, "443", "ok.xlsx", b"fine", T0)
    raw_dir = os.fsencode(box / "443")
    raw = os.path.join(raw_dir, b"B\xe1o c\xe1o T10.xlsx")
    with open(raw, "wb") as fh:
        fh.write(b"report")
    arrivals, seen = archive_inbox(box, tmp_path / "data", {}, [])
    assert seen == 2
    assert sorted(a.sha256 for a in arrivals) == sorted([sha(b"fine"), sha(b"report")])
    # cp1258 bytes from an old Windows machine are recorded as the Vietnamese text they were
    assert sorted(a.file_name for a in arrivals) == ["Báo cáo T10.xlsx", "ok.xlsx"]


def test_an_interrupted_copy_is_swept_and_the_file_archived_again(tmp_path: Path) -> None:
    from ingest.archive.store import sweep_incomplete

    box, data = tmp_path / "inbox", tmp_path / "data"
    put(box, "443", "bc.xlsx", b"report", T0)
    digest = sha(b"report")
    partial = data / "archive" / "sha256" / digest[:2] / ".incoming-x1y2"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"rep")  # what a SIGKILL in the middle of a copy leaves
    (arrival,), _ = archive_inbox(box, data, {}, [])
    assert arrival.sha256 == digest
    assert sorted(p.name for p in partial.parent.iterdir()) == [digest]
    assert (partial.parent / digest).read_bytes() == b"report"
    assert sweep_incomplete(data) == 0


# --- an inbox behind Airflow's ObjectStoragePath (SECTORSTATS_INBOX_URL) ----------------------------------


def test_object_storage_inbox_gives_the_same_arrivals_as_the_folder(inbox: Path, tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    put(inbox, "445", "sub/BC quý.xlsx", b"nested upload", T0 + 8 * DAY)
    local, seen_local = archive_inbox(inbox, tmp_path / "a", {}, [])
    remote, seen_remote = archive_inbox(ObjectStoragePath(f"file://{inbox}"), tmp_path / "b", {}, [])
    assert seen_remote == seen_local == 4
    assert remote == local  # the same folders, names, sizes, times and hashes: the same arrival ids
    assert ("445", "sub/BC quý.xlsx") in {(a.folder_unit_code, a.file_name) for a in remote}
    assert all_files(tmp_path / "a") == all_files(tmp_path / "b")


def test_archive_stage_reads_the_inbox_url(inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.archive.stage import archive_stage

    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE", raising=False)
    monkeypatch.setenv("SECTORSTATS_INBOX_DIR", str(tmp_path / "nowhere"))  # not used: the URL wins
    monkeypatch.setenv("SECTORSTATS_INBOX_URL", f"file://{inbox}")
    result = archive_stage("load-url")
    assert (result["files_seen"], result["files_new"]) == (3, 3)
    assert (tmp_path / "data" / archive_relpath(sha(b"loose file"))).read_bytes() == b"loose file"


# -- files the upload page announced: taken young when their copy has the announced size and content ----------------

def _young(tmp_path: Path, data: bytes = b"report bytes") -> tuple[Path, int]:
    """An inbox with one file modified just now: younger than the 60 s settle time."""
    inbox = tmp_path / "inbox"
    now = time.time_ns()
    put(inbox, "443", "bao cao.xlsx", data, now)
    return inbox, now


def _announced(data: bytes, **changes: object) -> dict[tuple[str, str], Delivered]:
    d = Delivered("443", "bao cao.xlsx", len(data), hashlib.sha256(data).hexdigest())
    d = Delivered(**{**d.__dict__, **changes})
    return {(d.folder, d.name): d}


def test_a_young_file_is_left_for_the_next_scan(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inbox, _ = _young(tmp_path)
    caplog.set_level("INFO", logger="ingest.archive.store")
    arrivals, seen = archive_inbox(inbox, tmp_path / "data", {}, set(), settle_seconds=60)
    assert (arrivals, seen) == ([], 1)
    assert not list((tmp_path / "data" / "archive" / "sha256").glob("*/*"))
    assert re.search(r"inbox file 'bao cao.xlsx' in folder '443' was modified \d+\.\d s before the scan began, less "
                     r"than the 60 s a file must be left unmodified: it may still be being written", caplog.text)


def test_a_young_file_announced_whole_is_taken_at_once(tmp_path: Path) -> None:
    data = b"report bytes"
    inbox, now = _young(tmp_path, data)
    arrivals, seen = archive_inbox(inbox, tmp_path / "data", {}, set(), settle_seconds=60,
                                   announced=_announced(data))
    assert seen == 1
    assert [(a.folder_unit_code, a.file_name, a.size_bytes, a.mtime_ns) for a in arrivals] == [
        ("443", "bao cao.xlsx", len(data), now)]
    assert read_archived(arrivals[0].sha256, tmp_path / "data") == data


@pytest.mark.parametrize(("changes", "why"), [
    ({"sha256": "0" * 64}, "not the content announced"),
    ({"size": 5}, "not the size announced"),
    ({"folder": "436"}, ""),
    ({"name": "other.xlsx"}, ""),
])
def test_a_young_file_not_as_announced_waits_like_any_other(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                             changes: dict, why: str) -> None:
    data = b"report bytes"
    inbox, _ = _young(tmp_path, data)
    caplog.set_level("INFO", logger="ingest.archive.store")
    arrivals, seen = archive_inbox(inbox, tmp_path / "data", {}, set(), settle_seconds=60,
                                   announced=_announced(data, **changes))
    assert (arrivals, seen) == ([], 1)
    root = tmp_path / "data" / "archive" / "sha256"
    assert [p for p in root.rglob("*") if p.is_file()] == []  # nothing kept, not even the staged copy
    assert f"a file must be left unmodified{' (' + why + ')' if why else ''}: it may still" in caplog.text
