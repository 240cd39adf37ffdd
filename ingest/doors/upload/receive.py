"""An upload's body, read as it arrives: never more than the limit, and the form's fields checked before the file.

Before a byte of the body is read, a declared ``Content-Length`` is held to the file limit
(:func:`ingest.read.limits.current_limits`) plus :data:`MULTIPART_MARGIN` for the multipart framing and the small
fields: over it, 413 at once. While reading, a running count holds any body to the same cap (one sent in chunks,
or whose length lied) and the file part to the file limit itself: over either, 413, and what was written is
deleted. So a 2 GB upload costs the page at most the limit.

The page's form puts its fields before the file and browsers send them in document order: :func:`receive` hands the
fields to the caller's check as soon as the file part begins (the CSRF token, the unit), so a forged or tampered
request is refused before its file is read. The file goes into a private temporary file while its SHA-256 is
computed; its name is the one the browser sent (UTF-8, with the ``%22``, ``%0D``, ``%0A`` the HTML form encoding
writes for ``"``, CR and LF), to be cleaned before any use (:func:`.delivery.inbox_name`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

MULTIPART_MARGIN = 64 * 1024  # bytes of a body beyond the file: boundaries, part headers, the small fields
MAX_FIELDS = 8
MAX_FIELD_BYTES = 1024


class Refused(Exception):
    """The upload is refused: an HTTP status and a text key of ``upload_page.yaml`` (``errors.…``)."""

    def __init__(self, status: int, reason: str, **values: object) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.values = status, reason, values


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None  # as sent; None: no file part, "": a file input left empty
    path: Path | None = None  # the temporary file (the caller deletes it)
    size: int = 0
    sha256: str = ""

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def _form_decoded(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return text.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


class _Parts:
    """The parser's events, acted on after each chunk (the parser's callbacks only record them)."""

    def __init__(self, upload: Upload, limit: int, tmp_dir: Path, check: Callable[[dict[str, str]], None]) -> None:
        self.upload, self.limit, self.tmp_dir, self.check = upload, limit, tmp_dir, check
        self.events: list[tuple[str, bytes]] = []
        self.headers: dict[bytes, bytes] = {}
        self.header_name = b""
        self.header_value = b""
        self.name: str | None = None
        self.value = bytearray()
        self.file: IO[bytes] | None = None
        self.hash = hashlib.sha256()
        self.is_file = False

    def callbacks(self) -> dict[str, Callable]:
        ev = self.events
        return {
            "on_part_begin": lambda: ev.append(("begin", b"")),
            "on_header_field": lambda d, s, e: ev.append(("field", d[s:e])),
            "on_header_value": lambda d, s, e: ev.append(("value", d[s:e])),
            "on_header_end": lambda: ev.append(("header", b"")),
            "on_headers_finished": lambda: ev.append(("headers", b"")),
            "on_part_data": lambda d, s, e: ev.append(("data", d[s:e])),
            "on_part_end": lambda: ev.append(("end", b"")),
        }

    def act(self) -> None:
        events, self.events[:] = list(self.events), []
        for kind, data in events:
            getattr(self, f"_on_{kind}")(data)

    def _on_begin(self, _: bytes) -> None:
        self.headers, self.header_name, self.header_value = {}, b"", b""
        self.name, self.value, self.is_file = None, bytearray(), False

    def _on_field(self, data: bytes) -> None:
        self.header_name += data

    def _on_value(self, data: bytes) -> None:
        self.header_value += data

    def _on_header(self, _: bytes) -> None:
        self.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name, self.header_value = b"", b""

    def _on_headers(self, _: bytes) -> None:
        disposition, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in params:
            raise Refused(400, "bad_request")
        self.name = params[b"name"].decode("utf-8", "replace")
        if b"filename" not in params:
            return
        if self.upload.file_name is not None:
            raise Refused(400, "bad_request")  # one file per upload
        self.check(dict(self.upload.fields))  # before a byte of the file is read
        self.is_file = True
        self.upload.file_name = _form_decoded(params[b"filename"])
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="upload-")
        self.upload.path = Path(tmp)
        self.file = os.fdopen(fd, "wb")

    def _on_data(self, data: bytes) -> None:
        if self.is_file:
            self.upload.size += len(data)
            if self.upload.size > self.limit:
                raise Refused(413, "too_large")
            assert self.file is not None
            self.file.write(data)
            self.hash.update(data)
            return
        self.value += data
        if len(self.value) > MAX_FIELD_BYTES:
            raise Refused(400, "bad_request")

    def _on_end(self, _: bytes) -> None:
        if self.is_file:
            assert self.file is not None
            self.file.close()
            self.file = None
            self.upload.sha256 = self.hash.hexdigest()
            return
        if self.name is None or len(self.upload.fields) >= MAX_FIELDS or self.name in self.upload.fields:
            raise Refused(400, "bad_request")
        self.upload.fields[self.name] = self.value.decode("utf-8", "replace")

    def close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None


async def receive(headers: dict[str, str], body: AsyncIterator[bytes], *, limit: int, tmp_dir: Path,
                  check: Callable[[dict[str, str]], None]) -> Upload:
    """Read a ``multipart/form-data`` body (see the module's text). ``headers`` are the request's (lower-case
    names); ``check(fields)`` is called with the fields read so far when the file part begins, and with all of
    them at the end, and raises :class:`Refused` to stop. Raises :class:`Refused` on any breach; on success the
    caller owns ``Upload.path``."""
    ctype, params = parse_options_header(headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise Refused(400, "bad_request")
    cap = limit + MULTIPART_MARGIN
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Refused(400, "bad_request")
        if int(declared) > cap:
            raise Refused(413, "too_large")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    upload = Upload()
    parts = _Parts(upload, limit, tmp_dir, check)
    parser = MultipartParser(params[b"boundary"], parts.callbacks())
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > cap:
                raise Refused(413, "too_large")
            parser.write(chunk)
            parts.act()
        parser.finalize()
        parts.act()
        if upload.path is not None and parts.file is not None:
            raise Refused(400, "bad_request")  # the body ended inside the file
        check(dict(upload.fields))
    except MultipartParseError:
        parts.close()
        upload.discard()
        raise Refused(400, "bad_request") from None
    except BaseException:
        parts.close()
        upload.discard()
        raise
    return upload
