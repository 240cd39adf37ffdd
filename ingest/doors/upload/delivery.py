"""Where an upload goes: into the unit's folder of the inbox, for the ingest DAG, and into the page's own log.

The file is delivered to ``inbox_location()/<unit code>/<name>``, where the archive stage takes it as it takes a file
put there by sftp or a share: the folder names the unit, the modification time (the end of the upload) is the
arrival time that decides lateness, and the DAG's verdict is the one recorded and e-mailed. Nothing is overwritten,
ever:

- a **local** inbox: the upload was streamed into a temporary file of ``doors/tmp/`` (:func:`staging_dir`: on the
  inbox's filesystem, outside the scanned tree) and is hard-linked into place. A link appears whole (a scan never
  sees half a file) and fails when the name is taken, even by another upload racing for it; where a filesystem has
  no hard links, the name is reserved with ``O_EXCL`` and a copy renamed over the reservation (``os.replace``);
- an **object store** (``SECTORSTATS_INBOX_URL``): the bytes are written to the first free name (an object store
  never shows half an object; on an sftp server the archive stage's settle time covers the writing).

Names are data, as for the mailbox door: the uploaded name as :func:`ingest.doors.attachments.clean_name` cleans an
attachment's (NFC, no control characters, no folders: ``../../x.xlsx`` is ``x.xlsx``), then fit for the Windows
shares the inbox often is (``<>:"|?*`` replaced by ``_``, no leading dot, no trailing dot or space, at most
:data:`MAX_NAME_BYTES` bytes of UTF-8 with the extension kept), and numbered `` (2)``, `` (3)``… when taken.

The log (``doors/uploads.jsonl``, one JSON line per upload: who, when, which unit, the name, sha256, the preview's
verdict) is the page's memory of uploads: it shows an account its recent ones. Each upload's preview is kept as
``doors/previews/<upload id>.json`` and its feedback workbook under ``doors/feedback/<upload id>/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ingest.doors.attachments import clean_name

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 180  # of UTF-8: room for " (999)" under the 255 bytes a file name may have
FALLBACK_NAME = "bao-cao"
_NOT_ON_SHARES = re.compile(r'[<>:"|?*]')
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")
_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV, errno.ENOSYS)
TAIL_BYTES = 4 * 1024 * 1024  # of the log read for an account's recent uploads


def inbox_name(original: str) -> str:
    """The name an upload is stored under (see the module's text)."""
    base = original.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if len(base) > 200 and dot and len(suffix) <= 10:  # clean_name keeps 200 characters: keep the extension too
        base = f"{stem[:190]}.{suffix}"
    name = _NOT_ON_SHARES.sub("_", clean_name(base, FALLBACK_NAME)).lstrip(". ").rstrip(". ")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > 10:
        stem, dot, suffix = name, "", ""
    room = MAX_NAME_BYTES - len((dot + suffix).encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ")
    return f"{stem}{dot}{suffix}" if stem else f"{FALLBACK_NAME}{dot}{suffix}"


def numbered(name: str, n: int) -> str:
    """``x.xlsx`` → ``x (2).xlsx`` for n = 2; the name itself for n = 1."""
    if n == 1:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem} ({n}).{suffix}" if dot and stem else f"{name} ({n})"


def staging_dir(inbox: Any, doors: Path) -> Path:
    """Where uploads are written before delivery: ``doors/tmp/`` when it is on the local inbox's filesystem (or the
    inbox is an object store), else a hidden folder beside the inbox (a hard link cannot cross filesystems)."""
    own = doors / "tmp"
    own.mkdir(parents=True, exist_ok=True)
    if isinstance(inbox, Path):
        inbox.mkdir(parents=True, exist_ok=True)
        if own.stat().st_dev != inbox.stat().st_dev:
            beside = inbox.resolve().parent / ".sectorstats-upload"
            beside.mkdir(mode=0o700, exist_ok=True)
            return beside
    return own


def sweep_staging(folder: Path, older_than: float = 6 * 3600) -> int:
    """Remove what a killed page left in its staging folder (uploads never delivered, or delivered and waiting for
    their feedback workbook): files older than ``older_than`` seconds."""
    removed = 0
    cutoff = time.time() - older_than
    for path in [*folder.glob("upload-*"), *folder.glob(".copy-*")]:
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    if removed:
        log.warning("upload page: removed %d staged upload(s) left by an earlier run in %s", removed, folder)
    return removed


def deliver(staged: Path, inbox: Any, unit_code: str, name: str) -> str:
    """Put the staged upload into ``inbox/<unit_code>/`` under ``name``, numbered if taken; returns the name used.
    The staged file stays (the feedback workbook is written from it)."""
    if not unit_code.isalnum():  # a catalogue code; never a path
        raise ValueError(f"not a unit code: {unit_code!r}")
    os.chmod(staged, 0o644)  # as an upload by sftp: the DAG's user reads it
    if isinstance(inbox, Path):
        return _deliver_local(staged, inbox / unit_code, name)
    return _deliver_object(staged, inbox / unit_code, name)


def _deliver_local(staged: Path, folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        candidate = numbered(name, n)
        try:
            os.link(staged, folder / candidate, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if not _reserve_and_replace(staged, folder / candidate):
                continue
        log.info("upload page: delivered %s into %s", candidate, folder)
        return candidate
    raise FileExistsError(f"{folder}: no free name for {name!r}")


def _reserve_and_replace(staged: Path, target: Path) -> bool:
    """Without hard links: reserve ``target`` (``O_EXCL``: fails if taken), then rename a copy over it."""
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    fd, copy = tempfile.mkstemp(dir=staged.parent, prefix=".copy-")
    try:
        with os.fdopen(fd, "wb") as out, staged.open("rb") as src:
            shutil.copyfileobj(src, out)
        os.chmod(copy, 0o644)
        os.replace(copy, target)
    except BaseException:
        Path(copy).unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    return True


def _deliver_object(staged: Path, folder: Any, name: str) -> str:
    with contextlib.suppress(Exception):  # an object store has no folders to make
        folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        candidate = numbered(name, n)
        target = folder / candidate
        if target.exists():
            continue
        with staged.open("rb") as src, target.open("wb") as out:
            shutil.copyfileobj(src, out)
        log.info("upload page: delivered %s into %s", candidate, folder)
        return candidate
    raise FileExistsError(f"{folder}: no free name for {name!r}")


# -- the log ---------------------------------------------------------------------------------------------------

def new_upload_id() -> str:
    return secrets.token_urlsafe(12)


def is_upload_id(text: str) -> bool:
    return bool(_UPLOAD_ID.match(text))


class UploadLog:
    """``doors/uploads.jsonl`` and each upload's preview (see the module's text)."""

    def __init__(self, doors: Path) -> None:
        self.doors = doors
        self.path = doors / "uploads.jsonl"

    def preview_path(self, upload_id: str) -> Path:
        if not is_upload_id(upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.doors / "previews" / f"{upload_id}.json"

    def feedback_dir(self, upload_id: str) -> Path:
        if not is_upload_id(upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.doors / "feedback" / upload_id

    def record(self, entry: dict[str, Any], preview: dict[str, Any]) -> None:
        """Keep an upload's preview (written whole, then renamed), then append its line to the log."""
        path = self.preview_path(entry["id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"upload": entry, "preview": preview}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
        finally:
            os.close(fd)

    def get(self, upload_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """An upload's log entry and preview, or None."""
        try:
            data = json.loads(self.preview_path(upload_id).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            return None
        return data["upload"], data["preview"]

    def recent(self, account: str, limit: int = 10) -> list[dict[str, Any]]:
        """The account's latest uploads, newest first (from the end of the log)."""
        try:
            with self.path.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - TAIL_BYTES))
                tail = fh.read()
        except FileNotFoundError:
            return []
        lines = tail.splitlines()
        if len(tail) >= TAIL_BYTES:
            lines = lines[1:]  # the first may be cut
        out = []
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("account") == account:
                out.append(entry)
                if len(out) >= limit:
                    break
        return out


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
