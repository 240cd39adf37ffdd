"""The file formats the reader tells from the bytes (``formats.yaml``): each one's name in the districts' words and
what happens to it (read as a workbook, read as an export, or refused with a problem naming it)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ingest.settings import CATALOGUE_DIR
from ingest.yaml_files import read_yaml

READS = ("workbook", "export", "refused")


@dataclass(frozen=True)
class FileFormat:
    code: str
    read: str  # workbook, export or refused
    vi: str
    en: str
    problem: str | None = None  # for a refused format: the problem code recorded
    note: str = ""


@cache
def file_formats() -> dict[str, FileFormat]:
    spec = read_yaml(CATALOGUE_DIR / "formats.yaml")["formats"]
    out = {}
    for code, f in spec.items():
        if f["read"] not in READS:
            raise ValueError(f"formats.yaml: {code} has read {f['read']!r}")
        if (f["read"] == "refused") != bool(f.get("problem")):
            raise ValueError(f"formats.yaml: {code}: a refused format names its problem, and only it")
        out[code] = FileFormat(code, f["read"], f["vi"], f["en"], f.get("problem"), f.get("note", ""))
    return out
