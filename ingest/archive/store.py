"""Inbox → archive: keep every received file, byte for byte, under its sha256, before anything else.

The inbox is ``inbox/<unit folder>/<any file name>``; the folder says who uploaded the file and the
modification time says when. It is a local folder by default, or any location Airflow's
``ObjectStoragePath`` reaches (``SECTORSTATS_INBOX_URL``: ``s3://…``, ``sftp://…``, ``file://…``, with the
matching provider installed and its connection in ``SECTORSTATS_INBOX_CONN_ID``); the archive is always local.
File names are data: they are recorded, never used to build a path (the archive path comes from the content
hash alone). The inbox itself is never modified.

An *arrival* is one file seen in the inbox: (folder, name, modification time, sha256). Scanning the
same inbox again finds the same arrivals and records nothing new, so the step is idempotent.

Uploads (sftp, a file share) write the file in place, and nothing in the inbox says when a file is complete: a
writer that pauses mid-file leaves a shorter file whose size and time no longer change. So a file modified less
than ``SECTORSTATS_INBOX_SETTLE_SECONDS`` (:func:`ingest.settings.inbox_settle_seconds`) before the scan began is
left for the next scan, and a file taken is stat'ed again after the copy, which must still show the size and time
the scan saw; otherwise it too is left for the next scan. Nothing is recorded for a file left. The upload page's
files are the exception: it announces each file it has delivered whole, with its size and SHA-256
(:mod:`ingest.doors.announcements`), and a young file whose copy has exactly those is taken at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.settings import inbox_settle_seconds

if TYPE_CHECKING:
    from ingest.doors.announcements import Delivered

log = logging.getLogger(__name__)

CHUNK = 1 << 20
PUBLISH_BATCH = 2000  # staged copies made durable together (two syncs)
FUTURE_MTIME_NS = 86_400 * 10**9
"""A modification time more than this after the scan began is not a clock a little ahead (which the settle rule
waits out): it is a date kept from a machine with a wrong clock (uploaders can preserve the sender's file time).
Waiting for it could take years, so such a file is taken, with a warning; the copy is still checked."""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Arrival:
    arrival_id: str
    sha256: str
    folder_unit_code: str
    file_name: str
    size_bytes: int
    mtime_ns: int
    received_at: dt.datetime  # UTC, naive
    archive_path: str  # relative to the data directory
    is_duplicate: bool = False
    message_key: str | None = None  # the e-mail it came in (raw.mail_messages), None for the inbox folder


@dataclass(frozen=True)
class InboxFile:
    path: Path | Any  # a local Path, or an ObjectStoragePath (anything with .open("rb"))
    folder: str
    name: str
    size: int
    mtime_ns: int


def display_name(name: str) -> str:
    """A file name as text. Names that were not UTF-8 on disk (old Windows machines write Vietnamese in
    code page 1258) arrive with surrogate escapes; decode their bytes as cp1258 so they can be stored."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        try:
            return unicodedata.normalize("NFC", raw.decode("cp1258"))
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace")


def scan_inbox(inbox: Path | Any) -> Iterator[InboxFile]:
    """Every regular file under ``inbox/<folder>/``, in a stable order. Links are not followed."""
    if not isinstance(inbox, Path):
        yield from _scan_object_storage(inbox)
        return
    if not inbox.is_dir():
        return
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir() and not p.is_symlink()):
        unit = display_name(folder.name)
        for path, name, st in _regular_files(folder, ""):
            yield InboxFile(path=path, folder=unit, name=display_name(name), size=st.st_size, mtime_ns=st.st_mtime_ns)
    loose = sorted(p for p in inbox.iterdir() if p.is_file() and not p.is_symlink())
    for path in loose:  # uploaded outside any unit folder: kept, the sender is unknown
        st = path.lstat()
        yield InboxFile(path=path, folder="", name=display_name(path.name), size=st.st_size, mtime_ns=st.st_mtime_ns)


def _regular_files(folder: Path, prefix: str) -> Iterator[tuple[Path, str, os.stat_result]]:
    """The regular files under ``folder`` (sorted by name, a folder's own files before its subfolders', as
    ``os.walk`` gives them), with their path relative to it and their ``lstat``: one ``scandir`` entry each,
    no further system call. Links are neither followed nor returned."""
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.is_file(follow_symlinks=False):
            yield folder / e.name, prefix + e.name, e.stat(follow_symlinks=False)
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            yield from _regular_files(folder / e.name, f"{prefix}{e.name}/")


def _scan_object_storage(inbox: Any) -> Iterator[InboxFile]:
    """``scan_inbox`` for an Airflow ``ObjectStoragePath`` (object stores have no links; names are keys)."""
    if not inbox.is_dir():
        return

    def files_under(folder: Any, prefix: str) -> Iterator[tuple[Any, str]]:
        for child in sorted(folder.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                yield from files_under(child, f"{prefix}{child.name}/")
            elif child.is_file():
                yield child, f"{prefix}{child.name}"

    def entry(path: Any, folder: str, name: str) -> InboxFile:
        size, mtime_ns = size_and_mtime(path)
        return InboxFile(path=path, folder=display_name(folder), name=display_name(name), size=size,
                         mtime_ns=mtime_ns)

    children = sorted(inbox.iterdir(), key=lambda c: c.name)
    for folder in (c for c in children if c.is_dir()):
        for path, name in files_under(folder, ""):
            yield entry(path, folder.name, name)
    for path in (c for c in children if c.is_file()):  # outside any unit folder: kept, the sender is unknown
        yield entry(path, "", path.name)


def size_and_mtime(path: Path | Any) -> tuple[int, int]:
    """A file's size and modification time in ns, now: ``lstat`` for a local path; for an ``ObjectStoragePath``,
    whatever its filesystem reports as ``mtime``: seconds (local ``file://``), a ``datetime`` (``sftp://``: sshfs,
    whole seconds, as SFTP v3 has them), or ``LastModified`` (``s3://``)."""
    if isinstance(path, Path):
        st = path.lstat()
        return st.st_size, st.st_mtime_ns
    st = path.stat()
    if mtime_ns := getattr(st, "st_mtime_ns", None):
        return int(st.st_size), int(mtime_ns)
    mtime = st.st_mtime
    if isinstance(mtime, dt.datetime):  # exact to the microsecond, unlike a float timestamp; naive means UTC
        us = (mtime if mtime.tzinfo else mtime.replace(tzinfo=dt.UTC)) - _EPOCH
        return int(st.st_size), us // dt.timedelta(microseconds=1) * 1000
    return int(st.st_size), round(float(mtime) * 1e6) * 1000


def archive_relpath(sha256: str) -> str:
    return f"archive/sha256/{sha256[:2]}/{sha256}"


@dataclass(frozen=True)
class Staged:
    """A received file copied into the archive's staging area, not yet in place."""

    sha256: str
    target: Path
    temp: Path | None  # None: the archive already held this content, nothing was kept


def stage(src: Path | Any, data_dir: Path, *, size: int | None = None, mtime_ns: int | None = None) -> Staged:
    """Copy ``src`` into ``archive/sha256/.incoming-*`` while hashing it: one read of the inbox.

    ``size`` and ``mtime_ns`` are what the scan saw; a file that no longer matches them after the copy (the bytes
    copied, and a second stat, local or remote) changed while we read it, and is left for the next scan. The copy
    is not durable until :func:`publish`.
    """
    root = data_dir / "archive" / "sha256"
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".incoming-")
    try:
        h = hashlib.sha256()
        copied = 0
        with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
                copied += len(chunk)
        if (size is not None and copied != size) or (
                mtime_ns is not None and size_and_mtime(src) != (copied, mtime_ns)):
            raise OSError(f"{src.name}: content changed while archiving")
        digest = h.hexdigest()
        target = data_dir / archive_relpath(digest)
        if target.exists():  # already archived (an earlier arrival, or a resent file): keep the first copy
            Path(tmp).unlink()
            return Staged(digest, target, None)
        return Staged(digest, target, Path(tmp))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stage_bytes(data: bytes, data_dir: Path) -> Staged:
    """:func:`stage` for bytes already in memory (an e-mail, an attachment, an upload)."""
    root = data_dir / "archive" / "sha256"
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    target = data_dir / archive_relpath(digest)
    if target.exists():
        return Staged(digest, target, None)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Staged(digest, target, Path(tmp))


def publish(staged: Iterable[Staged]) -> None:
    """Put staged copies in place under their hash, durably: one ``sync`` makes every copy's bytes durable
    before any is renamed into place (so an archived file is always complete), a second makes the renames
    durable before the caller records the arrivals. Two syncs a batch, not one ``fsync`` a file."""
    staged = [s for s in staged if s.temp is not None]
    if not staged:
        return
    os.sync()
    for s in staged:
        if s.target.exists():  # the same content twice in one batch
            s.temp.unlink(missing_ok=True)
            continue
        s.target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(s.temp, 0o444)
        os.replace(s.temp, s.target)
    os.sync()


def sweep_incomplete(data_dir: Path) -> int:
    """Remove the temporary files a killed run left in the archive (never a complete archived file).

    ``stage`` writes to ``archive/sha256/.incoming-*`` and only ``publish`` renames a durable copy into place,
    so such a file was never published (an earlier version staged beside the target, ``<ab>/.incoming-*``: swept
    too); the archive stage runs one at a time, so none is being written now."""
    removed = 0
    root = data_dir / "archive" / "sha256"
    if root.is_dir():
        for leftover in [*root.glob(".incoming-*"), *root.glob("*/.incoming-*")]:
            leftover.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.warning("removed %d incomplete archive copies left by an interrupted run", removed)
    return removed


def read_archived(sha256: str, data_dir: Path) -> bytes:
    return (data_dir / archive_relpath(sha256)).read_bytes()


def arrival_id(folder: str, name: str, mtime_ns: int, sha256: str) -> str:
    return hashlib.sha256(f"{folder}\x00{name}\x00{mtime_ns}\x00{sha256}".encode()).hexdigest()[:20]


def _arrival(f: InboxFile, digest: str) -> Arrival:
    received = dt.datetime.fromtimestamp(f.mtime_ns / 1e9, tz=dt.UTC).replace(tzinfo=None)
    return Arrival(arrival_id=arrival_id(f.folder, f.name, f.mtime_ns, digest), sha256=digest,
                   folder_unit_code=f.folder, file_name=f.name, size_bytes=f.size, mtime_ns=f.mtime_ns,
                   received_at=received, archive_path=archive_relpath(digest))


def _still_settling(f: InboxFile, started_ns: int, settle_ns: int) -> bool:
    """Whether ``f`` was modified too recently before the scan began (``started_ns``) to be taken: it may be an
    upload in progress, paused. A file dated far in the future is taken (see :data:`FUTURE_MTIME_NS`)."""
    age_ns = started_ns - f.mtime_ns
    if age_ns >= settle_ns:
        return False
    if -age_ns > FUTURE_MTIME_NS:
        log.warning("inbox file %r in folder %r is dated %s, after this scan began: a wrong clock, taken now",
                    f.name, f.folder, dt.datetime.fromtimestamp(f.mtime_ns / 1e9, tz=dt.UTC).isoformat())
        return False
    return True


def _left_settling(f: InboxFile, started_ns: int, settle_ns: int, why: str = "") -> None:
    log.info("inbox file %r in folder %r was modified %.1f s before the scan began, less than the %d s a file must "
             "be left unmodified%s: it may still be being written, left for the next scan", f.name, f.folder,
             (started_ns - f.mtime_ns) / 1e9, settle_ns // 10**9, why)


def archive_inbox(
    inbox: Path | Any,
    data_dir: Path,
    known: dict[tuple[str, str, int, int], str],
    known_sha256: Iterable[str],
    *,
    settle_seconds: int | None = None,
    announced: Mapping[tuple[str, str], Delivered] | None = None,
) -> tuple[list[Arrival], int]:
    """Archive what is new in the inbox.

    ``known`` maps (folder, name, size, mtime_ns) of arrivals already recorded to their sha256, so an
    unchanged file is not hashed again. A file modified less than ``settle_seconds`` (default:
    :func:`ingest.settings.inbox_settle_seconds`) before the scan began is left for the next scan, as is one
    that changed while it was copied, unless it is one of the ``announced`` files (by folder and name) and its copy
    has the announced size and SHA-256. Returns the new arrivals and the number of files seen (left ones included).
    """
    announced = announced or {}
    settle_ns = (inbox_settle_seconds() if settle_seconds is None else settle_seconds) * 10**9
    started_ns = time.time_ns()  # before the listing: a file written while we list is younger than this
    sweep_incomplete(data_dir)
    prior = set(known_sha256)
    new: list[Arrival] = []
    batch: list[Staged] = []
    count = settling = 0
    try:
        for f in scan_inbox(inbox):
            count += 1
            key = (f.folder, f.name, f.size, f.mtime_ns)
            if key in known:
                continue
            young = bool(settle_ns) and _still_settling(f, started_ns, settle_ns)
            whole = announced.get((f.folder, f.name))
            if young and (whole is None or whole.size != f.size):
                _left_settling(f, started_ns, settle_ns, "" if whole is None else " (not the size announced)")
                settling += 1
                continue
            try:
                staged = stage(f.path, data_dir, size=f.size, mtime_ns=f.mtime_ns)
            except OSError as exc:
                log.warning("inbox file %r in folder %r could not be archived now: %s", f.name, f.folder, exc)
                continue
            if young and whole is not None and staged.sha256 != whole.sha256:
                if staged.temp is not None:
                    staged.temp.unlink(missing_ok=True)
                _left_settling(f, started_ns, settle_ns, " (not the content announced)")
                settling += 1
                continue
            batch.append(staged)
            if len(batch) >= PUBLISH_BATCH:
                publish(batch)
                batch = []
            new.append(_arrival(f, staged.sha256))
            known[key] = staged.sha256
        publish(batch)
        batch = []
    finally:
        for s in batch:  # interrupted: nothing half-kept (sweep_incomplete would remove them next time anyway)
            if s.temp is not None:
                s.temp.unlink(missing_ok=True)
    if settling:
        log.info("%d inbox files modified less than %d s before the scan began left for the next scan", settling,
                 settle_ns // 10**9)
    # within one scan, order duplicates by arrival time: the earliest copy is the original
    new.sort(key=lambda a: (a.received_at, a.folder_unit_code, a.file_name))
    first: dict[str, Arrival] = {}
    fixed = []
    for a in new:
        dup = a.sha256 in prior or a.sha256 in first
        first.setdefault(a.sha256, a)
        fixed.append(Arrival(**{**a.__dict__, "is_duplicate": dup}))
    return fixed, count
