"""The inbox on a real sftp server (OpenSSH on loopback, :mod:`tests.doors.sshd`), as a deployment reaches it:
``SECTORSTATS_INBOX_URL=sftp://…`` through Airflow's ``ObjectStoragePath`` and the Airflow connection
``SECTORSTATS_INBOX_CONN_ID`` (``apache-airflow-providers-sftp[sshfs]``). Districts upload with an sftp client
(paramiko here); the whole ingest runs in the test process; a file still being uploaded is never taken half."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest import settings, warehouse
from ingest.archive import store
from ingest.catalogue import load_catalogue
from ingest.pipeline import run_ingest
from tests.doors.sshd import SSHD, Sshd
from tests.integration.helpers import consistent_values, put

needs_sshd = pytest.mark.skipif(not SSHD.exists() or os.geteuid() != 0,
                                reason="needs Debian's openssh-server (.ci/system-deps) and root")

MARCH_5 = dt.datetime(2024, 3, 5, 2, 30, tzinfo=dt.UTC)  # 09:30 in Hà Tĩnh
FEB = dt.date(2024, 2, 1)
SETTLE = 5
"""The settle time of the tests of unfinished files: SFTP (version 3, OpenSSH's) gives modification times in whole
seconds, so a file can look up to a second older than it is, and the first ingest of a test also creates the
warehouse before it scans; 5 s leaves room for both."""


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    server = Sshd()
    try:
        yield server
    finally:
        _disconnect(server.conn_id)
        server.close()


def _disconnect(conn_id: str) -> None:
    """Close the connection the pipeline's sftp filesystem keeps open, before its server goes: Airflow caches the
    filesystem for the process (one per scheme and connection id) and sshfs would otherwise find the server gone
    when it closes at exit, with tracebacks logged into pytest's closed streams."""
    from airflow.sdk.io.store import _STORE_CACHE
    from fsspec.asyn import sync
    from sshfs import SSHFileSystem

    _STORE_CACHE.pop(f"sftp-{conn_id}", None)
    for fs in list(SSHFileSystem._cache.values()):
        async def close(fs: Any = fs) -> None:
            await fs._pool.close()
            await fs._stack.aclose()

        sync(fs.loop, close, timeout=10)
    SSHFileSystem.clear_instance_cache()


@pytest.fixture
def inbox(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A new inbox folder on the server (its path there) as ``SECTORSTATS_INBOX_URL``, and a new data directory."""
    remote = sshd.files / tmp_path.name / "inbox"
    remote.mkdir(parents=True)
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    for name in ("SECTORSTATS_WAREHOUSE", "SECTORSTATS_WAREHOUSE_URL", "SECTORSTATS_INBOX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECTORSTATS_INBOX_URL", sshd.url(remote))
    monkeypatch.setenv("SECTORSTATS_INBOX_CONN_ID", sshd.conn_id)
    monkeypatch.setenv("SECTORSTATS_INBOX_KNOWN_HOSTS", str(sshd.known_hosts))  # the server's key, checked
    for key, value in sshd.connection_env().items():
        monkeypatch.setenv(key, value)
    yield remote


def report(tmp_path: Path, form_code: str, unit_code: str, seed: int) -> bytes:
    """A valid workbook of ``unit_code``'s February 2024 ``form_code``, as tests.integration.helpers.put writes it."""
    written = put(tmp_path / "local", unit_code, f"{seed}.xlsx", form_code, unit_code, FEB,
                  consistent_values(load_catalogue().form(form_code), seed, 2), MARCH_5)
    return (tmp_path / "local" / written.folder / written.name).read_bytes()


def mkdirs(sftp: Any, path: Path) -> None:
    for parent in [*reversed(path.parents), path]:
        try:
            sftp.stat(str(parent))
        except FileNotFoundError:
            sftp.mkdir(str(parent))


def upload(sshd: Sshd, path: Path, data: bytes, sent: dt.datetime) -> None:
    """Upload ``data`` to ``path`` on the server, keeping the sender's file time as upload programs do."""
    with sshd.uploader() as sftp:
        mkdirs(sftp, path.parent)
        with sftp.open(str(path), "wb") as fh:
            fh.write(data)
        sftp.utime(str(path), (sent.timestamp(), sent.timestamp()))


def rows(sql: str) -> list[tuple]:
    with warehouse.connect(read_only=True) as con:
        return [tuple(r) for r in con.exec_driver_sql(sql).fetchall()]


def archived_files(data_dir: Path) -> list[Path]:
    """Every file under the archive, temporary copies included."""
    root = data_dir / "archive"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def server_files(remote: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(remote)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(remote.rglob("*")) if p.is_file()}


@needs_sshd
def test_reports_uploaded_to_the_sftp_inbox_are_archived_and_loaded_once(sshd: Sshd, inbox: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_INBOX_SETTLE_SECONDS", "60")  # the default: these files were sent long ago
    uploads = [  # unit folder, file name (a subfolder is part of it), form, unit, sent
        ("443", "Báo cáo tháng 2 năm 2024.xlsx", "01/LĐVL-H", "443", MARCH_5),
        ("443", "BTXH T2.xlsx", "03/BTXH-H", "443", MARCH_5 + dt.timedelta(hours=1)),
        ("437", "2024/T2/bieu 01.xlsx", "01/LĐVL-H", "437", MARCH_5 + dt.timedelta(hours=2)),
    ]
    sent: dict[tuple[str, str], bytes] = {}
    for seed, (folder, name, form_code, unit_code, when) in enumerate(uploads, start=1):
        data = report(tmp_path, form_code, unit_code, seed)
        upload(sshd, inbox / folder / name, data, when)
        sent[(folder, name)] = data
    on_server = server_files(inbox)

    first = run_ingest()
    assert {k: first["archive"][k] for k in ("files_seen", "files_new", "duplicates")} == {
        "files_seen": 3, "files_new": 3, "duplicates": 0}
    expected_arrivals = [
        (folder, name, len(sent[(folder, name)]), hashlib.sha256(sent[(folder, name)]).hexdigest(),
         when.replace(tzinfo=None), False)
        for folder, name, _, _, when in uploads]
    arrivals_sql = ("select folder_unit_code, file_name, size_bytes, sha256, received_at, is_duplicate "
                    "from raw.arrivals order by received_at")
    assert rows(arrivals_sql) == expected_arrivals
    for _, _, _, digest, _, _ in expected_arrivals:  # byte for byte in the (local) archive
        assert hashlib.sha256((tmp_path / "data" / store.archive_relpath(digest)).read_bytes()).hexdigest() == digest
    submissions_sql = ("select folder_unit_code, file_name, unit_code, form_code, period_start, status, sha256 "
                       "from raw.submissions order by received_at")
    expected_submissions = [(folder, name, unit_code, form_code, FEB, "accepted",
                             hashlib.sha256(sent[(folder, name)]).hexdigest())
                            for folder, name, form_code, unit_code, _ in uploads]
    assert rows(submissions_sql) == expected_submissions

    again = run_ingest()  # idempotent: the same inbox again records nothing new
    assert (again["archive"]["files_seen"], again["archive"]["files_new"]) == (3, 0)
    assert rows(arrivals_sql) == expected_arrivals
    assert rows(submissions_sql) == expected_submissions
    assert server_files(inbox) == on_server  # the inbox is never modified


@needs_sshd
def test_a_file_still_being_uploaded_is_left_until_it_has_settled(sshd: Sshd, inbox: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SECTORSTATS_INBOX_SETTLE_SECONDS", str(SETTLE))
    data = report(tmp_path, "01/LĐVL-H", "443", seed=4)
    path = inbox / "443" / "Báo cáo tháng 2.xlsx"
    half = len(data) // 2
    with sshd.uploader() as sftp:  # the district's upload pauses halfway (a slow or dropped link)
        mkdirs(sftp, path.parent)
        with sftp.open(str(path), "wb") as fh:
            fh.write(data[:half])
            fh.flush()
            assert path.stat().st_size == half  # on the server: a shorter file whose size no longer changes
            with caplog.at_level(logging.INFO, logger=store.__name__):
                paused = run_ingest()
            assert (paused["archive"]["files_seen"], paused["archive"]["files_new"]) == (1, 0)
            assert rows("select count(*) from raw.arrivals") == [(0,)]
            assert rows("select count(*) from raw.submissions") == [(0,)]
            assert archived_files(tmp_path / "data") == []
            assert "'Báo cáo tháng 2.xlsx' in folder '443' was modified" in caplog.text
            assert (f"1 inbox files modified less than {SETTLE} s before the scan began left for the next scan"
                    in caplog.text)
            fh.write(data[half:])  # the upload resumes and ends

    just_done = run_ingest()  # complete now, but just written: it could still be a pause
    assert just_done["archive"]["files_new"] == 0
    assert archived_files(tmp_path / "data") == []

    time.sleep(SETTLE + 1.5)
    settled = run_ingest()
    assert settled["archive"]["files_new"] == 1
    digest = hashlib.sha256(data).hexdigest()
    ((size, sha256),) = rows("select size_bytes, sha256 from raw.arrivals")
    assert (size, sha256) == (len(data), digest)  # the whole file
    assert (tmp_path / "data" / store.archive_relpath(digest)).read_bytes() == data
    assert rows("select unit_code, form_code, period_start, status from raw.submissions") == [
        ("443", "01/LĐVL-H", FEB, "accepted")]


class _ResumesAtTheEnd:
    """An inbox file whose upload resumes the moment the archive has read the last byte the scan saw: the copy
    gets exactly the size the scan saw, so only the second stat after the copy can tell it is not the whole file."""

    def __init__(self, path: Any, resume: Any) -> None:
        self._path, self._resume = path, resume
        self.name = path.name

    def stat(self) -> Any:
        return self._path.stat()

    def open(self, mode: str = "rb") -> Any:
        outer = self

        class Reader:
            def __init__(self) -> None:
                self._fh = outer._path.open(mode)

            def __enter__(self) -> Reader:
                return self

            def __exit__(self, *exc: object) -> None:
                self._fh.close()

            def read(self, n: int = -1) -> bytes:
                chunk = self._fh.read(n)
                if not chunk and outer._resume is not None:
                    outer._resume()
                    outer._resume = None
                return chunk

        return Reader()


@needs_sshd
def test_a_file_that_grows_while_it_is_copied_is_left_for_the_next_scan(sshd: Sshd, inbox: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SECTORSTATS_INBOX_SETTLE_SECONDS", "0")  # only the check after the copy
    data = report(tmp_path, "01/LĐVL-H", "437", seed=5)
    path = inbox / "437" / "bieu 01.xlsx"
    half = len(data) // 2
    upload(sshd, path, data[:half], MARCH_5)

    def resume() -> None:
        with sshd.uploader() as sftp, sftp.open(str(path), "ab") as fh:
            fh.write(data[half:])

    real_scan = store.scan_inbox

    def scan(location: Any) -> Iterator[store.InboxFile]:
        for f in real_scan(location):
            yield store.InboxFile(_ResumesAtTheEnd(f.path, resume), f.folder, f.name, f.size, f.mtime_ns)

    monkeypatch.setattr(store, "scan_inbox", scan)
    with caplog.at_level(logging.WARNING, logger=store.__name__):
        grew = run_ingest()
    assert grew["archive"]["files_new"] == 0
    assert "'bieu 01.xlsx' in folder '437' could not be archived now: bieu 01.xlsx: content changed" in caplog.text
    assert rows("select count(*) from raw.arrivals") == [(0,)]
    assert archived_files(tmp_path / "data") == []  # the half copy was not kept
    assert path.read_bytes() == data

    monkeypatch.setattr(store, "scan_inbox", real_scan)
    again = run_ingest()
    assert again["archive"]["files_new"] == 1
    assert rows("select folder_unit_code, file_name, size_bytes, sha256 from raw.arrivals") == [
        ("437", "bieu 01.xlsx", len(data), hashlib.sha256(data).hexdigest())]


def test_the_settle_rule_is_the_same_for_a_local_inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("SECTORSTATS_INBOX_SETTLE_SECONDS")
    assert settings.inbox_settle_seconds() == 60  # the default, for local and remote inboxes alike
    monkeypatch.setenv("SECTORSTATS_INBOX_SETTLE_SECONDS", "-1")
    with pytest.raises(ValueError, match="SECTORSTATS_INBOX_SETTLE_SECONDS='-1' must be a whole number ≥ 0"):
        settings.inbox_settle_seconds()
    box = tmp_path / "inbox"
    now = time.time_ns()
    for name, mtime_ns in {"sent last week.xlsx": now - 7 * 86_400 * 10**9, "being written.xlsx": now,
                           "dated 2099.xlsx": 4_070_908_800 * 10**9}.items():
        (box / "443").mkdir(parents=True, exist_ok=True)
        (box / "443" / name).write_bytes(name.encode())
        os.utime(box / "443" / name, ns=(mtime_ns, mtime_ns))
    known: dict[tuple[str, str, int, int], str] = {}
    with caplog.at_level(logging.INFO, logger=store.__name__):
        arrivals, seen = store.archive_inbox(box, tmp_path / "data", known, [], settle_seconds=60)
    # a file from a machine whose clock is years ahead is taken (waiting would take years), with a warning
    assert (sorted(a.file_name for a in arrivals), seen) == (["dated 2099.xlsx", "sent last week.xlsx"], 3)
    assert [r.levelname for r in caplog.records if "dated 2099.xlsx" in r.getMessage()] == ["WARNING"]
    assert [r.levelname for r in caplog.records if "being written.xlsx" in r.getMessage()] == ["INFO"]
    (later,), _ = store.archive_inbox(box, tmp_path / "data", known, [a.sha256 for a in arrivals], settle_seconds=0)
    assert later.file_name == "being written.xlsx"


@needs_sshd
def test_a_server_whose_host_key_is_not_the_known_one_is_never_read(sshd: Sshd, inbox: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A server answering at the inbox's address with another host key (a man in the middle, a re-installed
    server nobody checked) is refused before anything is listed; so is an sftp inbox with no known_hosts."""
    upload(sshd, inbox / "443" / "bc.xlsx", report(tmp_path, "01/LĐVL-H", "443", 1), MARCH_5)
    other = tmp_path / "other_host_key"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} " + " ".join(Path(f"{other}.pub").read_text().split()[:2]) + "\n")
    monkeypatch.setenv("SECTORSTATS_INBOX_KNOWN_HOSTS", str(wrong))
    conn_id = f"sftp_wrong_key_{sshd.port}"  # a connection of its own: no filesystem attached yet in this process
    for key, value in sshd.connection_env(conn_id).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SECTORSTATS_INBOX_CONN_ID", conn_id)
    try:
        with pytest.raises(Exception, match=r"Host key is not trusted|HostKeyNotVerifiable"):
            run_ingest()
        assert archived_files(tmp_path / "data") == []
        monkeypatch.delenv("SECTORSTATS_INBOX_KNOWN_HOSTS")
        monkeypatch.setenv("SECTORSTATS_INBOX_CONN_ID", f"sftp_no_key_{sshd.port}")
        for key, value in sshd.connection_env(f"sftp_no_key_{sshd.port}").items():
            monkeypatch.setenv(key, value)
        with pytest.raises(ValueError, match=r"set SECTORSTATS_INBOX_KNOWN_HOSTS to a known_hosts file holding the "
                                             r"server's host key"):
            settings.inbox_location()
    finally:
        _disconnect(conn_id)
