"""Every limit on reading one received file, in one place, from environment variables with defaults.

A real report form is a few tens of KB with fewer than 100 rows and a dozen columns, so the defaults
leave a wide margin for honest files while bounding what a hostile or broken one can cost. Each
breach ends as a recorded problem on that file (see ``docs/ingest.md``, "Limits"), never as a crash
of the run and never as unbounded memory or time.

Environment variables (default): ``SECTORSTATS_MAX_FILE_MB`` (20), ``SECTORSTATS_MAX_UNPACKED_MB`` (100),
``SECTORSTATS_MAX_COMPRESSION_RATIO`` (100, checked on members over ``SECTORSTATS_RATIO_GRACE_MB``, 1),
``SECTORSTATS_MAX_ZIP_MEMBERS`` (1000), ``SECTORSTATS_MAX_ROWS`` (5000), ``SECTORSTATS_MAX_COLUMNS`` (200),
``SECTORSTATS_MAX_SHEETS`` (50), ``SECTORSTATS_MAX_SECONDS_PER_FILE`` (60, enforced in worker processes),
``SECTORSTATS_WORKER_MEMORY_MB`` (2048, address space of a worker process; 0 = no limit),
``SECTORSTATS_XML_PROLOG_KB`` (64, bytes of an XML part in which its root element must start),
``SECTORSTATS_MAX_TEXT_CHARS`` (10,000,000: the characters all cells of a workbook may hold once every shared
string is counted at each cell that uses it, the size the reader expands the file to),
``SECTORSTATS_MAX_MESSAGE_MB`` (40: an e-mail the mailbox door fetches whole; a larger one is left in the mailbox
and answered, its size known from the server before any of it is read).

Two limits are Excel's own and not settings: a cell holds at most 32,767 characters (a formula 8,192) and a
workbook declares at most 64,000 cell formats; no honest file breaks them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024
EXCEL_CELL_CHARS = 32_767  # Excel's limit on the text of one cell
EXCEL_FORMULA_CHARS = 8_192  # ... and on the text of one formula
EXCEL_CELL_FORMATS = 64_000  # ... and on a workbook's cell formats (styles.xml <cellXfs>)
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384  # ... and on a sheet's size (what we write stays within it)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * MB
    max_unpacked_bytes: int = 100 * MB
    max_compression_ratio: float = 100.0
    ratio_grace_bytes: int = 1 * MB
    max_zip_members: int = 1000
    max_rows: int = 5000
    max_columns: int = 200
    max_sheets: int = 50
    max_seconds: float = 60.0
    worker_memory_bytes: int = 2048 * MB  # 0: no limit
    xml_prolog_bytes: int = 64 * 1024
    max_text_chars: int = 10_000_000
    max_message_bytes: int = 40 * MB


def _number(name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0 or (value == 0 and not allow_zero) or value != value or value == float("inf"):
        raise ValueError(f"{name}={raw!r} must be a positive number")
    return value


def current_limits() -> Limits:
    """The limits in force: each from its environment variable, else the default (read on every call)."""
    d = Limits()
    return Limits(
        max_file_bytes=int(_number("SECTORSTATS_MAX_FILE_MB", d.max_file_bytes / MB) * MB),
        max_unpacked_bytes=int(_number("SECTORSTATS_MAX_UNPACKED_MB", d.max_unpacked_bytes / MB) * MB),
        max_compression_ratio=_number("SECTORSTATS_MAX_COMPRESSION_RATIO", d.max_compression_ratio),
        ratio_grace_bytes=int(_number("SECTORSTATS_RATIO_GRACE_MB", d.ratio_grace_bytes / MB, allow_zero=True) * MB),
        max_zip_members=int(_number("SECTORSTATS_MAX_ZIP_MEMBERS", d.max_zip_members)),
        max_rows=int(_number("SECTORSTATS_MAX_ROWS", d.max_rows)),
        max_columns=int(_number("SECTORSTATS_MAX_COLUMNS", d.max_columns)),
        max_sheets=int(_number("SECTORSTATS_MAX_SHEETS", d.max_sheets)),
        max_seconds=_number("SECTORSTATS_MAX_SECONDS_PER_FILE", d.max_seconds),
        worker_memory_bytes=int(_number("SECTORSTATS_WORKER_MEMORY_MB", d.worker_memory_bytes / MB,
                                        allow_zero=True) * MB),
        xml_prolog_bytes=int(_number("SECTORSTATS_XML_PROLOG_KB", d.xml_prolog_bytes / 1024) * 1024),
        max_text_chars=int(_number("SECTORSTATS_MAX_TEXT_CHARS", d.max_text_chars)),
        max_message_bytes=int(_number("SECTORSTATS_MAX_MESSAGE_MB", d.max_message_bytes / MB) * MB),
    )


def human_bytes(n: float) -> str:
    """``20971520`` → ``20 MB``; language-neutral, for problem messages."""
    for unit, size in (("MB", MB), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 10 or value.is_integer() else f"{value:.1f} {unit}"
    return f"{int(n)} B"
