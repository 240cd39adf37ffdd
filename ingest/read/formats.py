"""What kind of file the bytes are, never the name: districts name files anything (an HTML page is ``.xls``).

:func:`sniff` tells the containers calamine reads (``zip``, ``ole2``: what they hold is decided by the safety
inspection, which opens them within limits) from the text exports :mod:`ingest.read.exports` reads and from the
formats of other software that are refused with their name. The names and what happens to each format are data:
``ingest/catalogue/formats.yaml``.
"""

from __future__ import annotations

import re

from ingest.read.safety import EMPTY_ZIP_SIGNATURE, OLE2_SIGNATURE, ZIP_SIGNATURE

ZIP = "zip"
OLE2 = "ole2"

_PREFIX = 64 * 1024  # the bytes looked at to tell a text format
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (ZIP_SIGNATURE, ZIP),
    (EMPTY_ZIP_SIGNATURE, ZIP),  # the safety inspection says what it holds (nothing)
    (OLE2_SIGNATURE, OLE2),
    (b"%PDF-", "pdf"),
    (b"{\\rtf", "rtf"),
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"II*\x00", "image"),
    (b"MM\x00*", "image"),
    (b"BM", "image"),
    (b"7z\xbc\xaf\x27\x1c", "archive"),
    (b"Rar!\x1a\x07", "archive"),
    (b"\x1f\x8b", "archive"),
    (b"ID;P", "sylk"),
    (b"ID;", "sylk"),
)
# BIFF2-4: an Excel 2.x-4.0 worksheet is a bare stream of records (no OLE2 container) starting with BOF
_OLD_EXCEL_BOF = (b"\x09\x00\x04\x00", b"\x09\x02\x06\x00", b"\x09\x04\x06\x00", b"\x09\x04\x08\x00")
_DIF = re.compile(rb'^\s*TABLE\r?\n0,1\r?\n"', re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPREADSHEETML_NS = "urn:schemas-microsoft-com:office:spreadsheet"


def _lotus_or_quattro(head: bytes) -> str | None:
    """Lotus 1-2-3 and Quattro Pro files begin with a BOF record: type 0 and length 2 (WKS, WK1, WQ1, WB1…)
    or 0x1A (WK3, WK4, 123), then a version word that says whose."""
    if len(head) < 6 or head[:2] != b"\x00\x00":
        return None
    length, version = int.from_bytes(head[2:4], "little"), int.from_bytes(head[4:6], "little")
    if length == 2 and 0x0404 <= version <= 0x0406:
        return "lotus"
    if length == 2 and 0x5120 <= version <= 0x5130:
        return "quattro"
    if length in (0x1A, 0x1C) and version in (0x1000, 0x1002, 0x1003, 0x1005):
        return "lotus"
    return None


def _text(data: bytes) -> str | None:
    """The start of the file as text, if it is text in one of the encodings districts' exports use."""
    head = data[:_PREFIX]
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, "ignore")  # "ignore": a character cut at the prefix's end
    if head[:2] in (b"<\x00", b"\x00<"):  # UTF-16 XML without a BOM
        return head.decode("utf-16-le" if head[0] else "utf-16-be", "ignore")
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut at the prefix's end
            return head[:exc.start].decode("utf-8")
    return head.decode("cp1258", "replace")


def _markup(text: str) -> str | None:
    """html, spreadsheetml, fods, xml-other, or None when the text is not markup."""
    start = text.lstrip("\ufeff \t\r\n")
    if not start.startswith("<"):
        return None
    low = start[:4096].lower()
    if "<html" in low or low.startswith(("<!doctype html", "<table", "<meta", "<head", "<body", "<div", "<style")):
        return "html"
    if _SPREADSHEETML_NS in start[:8192] or 'progid="excel.sheet"' in low:
        return "spreadsheetml"
    if "<office:document" in low and "opendocument" in low:
        return "fods" if "application/vnd.oasis.opendocument.spreadsheet" in low else "open-document-other"
    if "<table" in low:
        return "html"
    return "xml-other"


def _delimited(text: str) -> bool:
    """Text without control characters is read as CSV (a one-column text is a CSV whose form is not found)."""
    return not _CONTROL.search(text)


def sniff(data: bytes) -> str:
    """The format code of ``data`` (a key of formats.yaml, or :data:`ZIP` / :data:`OLE2`)."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data.startswith(_OLD_EXCEL_BOF):
        return "excel-old"
    other = _lotus_or_quattro(data[:8])
    if other:
        return other
    if _DIF.match(data[:64]):
        return "dif"
    text = _text(data)
    if text is None:
        return "unknown"
    markup = _markup(text)
    if markup:
        return markup
    if text.startswith(("MIME-Version:", "Content-Type: multipart/related")):
        return "unknown"  # a single-file web page (.mht): its HTML is not unpacked
    return "csv" if _delimited(text) else "unknown"
