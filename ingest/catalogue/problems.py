"""Problems found in received files: one record that every check yields, its catalogue, its messages.

Every stage that looks at a file — the safety inspection, the reader, the parser, the validation suites — says
what is wrong as a :class:`Problem`: a code from ``ingest/catalogue/problems.yaml``, the :class:`Location` in the
file (sheet, cell, and for a number its row code and measure), the offending value as text, and the fields its
message needs. The message itself is rendered from the catalogue's template — the code never writes prose — when
the problem is written with the file it is about (:func:`problem_rows`). Stages collect problems rather than
raising, so one run reports everything wrong with a file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from string import Formatter
from typing import Any

from ingest.catalogue.formats import file_formats
from ingest.settings import CATALOGUE_DIR
from ingest.text import EXCERPT_CHARS, excerpt
from ingest.yaml_files import read_yaml

SEVERITIES = ("error", "warning")
# the message fields that carry text taken from the received file (or its name), echoed only as an excerpt
_FROM_THE_FILE = ("file", "sheet", "value", "sheet_unit", "period", "forms")
FILE_NAME_CHARS = 120


@dataclass(frozen=True)
class ProblemType:
    code: str
    stage: str
    severity: str
    title: str
    vi: str
    en: str
    params: dict = field(default_factory=dict)  # thresholds of the rule (outliers), from problems.yaml
    deprecated: str | None = None  # no longer raised: what replaced it (kept for the rows written before)


@dataclass(frozen=True)
class ProblemCatalogue:
    types: dict[str, ProblemType]

    def get(self, code: str) -> ProblemType:
        try:
            return self.types[code]
        except KeyError:
            raise KeyError(f"problem code {code!r} is not in problems.yaml") from None


@cache
def problem_catalogue() -> ProblemCatalogue:
    spec = read_yaml(CATALOGUE_DIR / "problems.yaml")
    types = {}
    for code, p in spec["problems"].items():
        if p["severity"] not in SEVERITIES:
            raise ValueError(f"problems.yaml: {code} has severity {p['severity']!r}, not one of {SEVERITIES}")
        types[code] = ProblemType(code=code, stage=p["stage"], severity=p["severity"], title=p["title"],
                                  vi=p["vi"], en=p["en"], params=dict(p.get("params") or {}),
                                  deprecated=p.get("deprecated"))
    return ProblemCatalogue(types=types)


@dataclass(frozen=True)
class Location:
    """Where in a received file: a sheet and a cell (A1), and for a number of the form its row code ("Mã số")
    and measure (the column's key). Any part may be unknown: a damaged file has no sheet."""

    sheet: str | None = None
    cell: str | None = None
    row_code: str | None = None
    measure: str | None = None


NOWHERE = Location()


@dataclass(frozen=True)
class Problem:
    """One problem with one received file.

    ``sha256`` names the file: a check over a batch (validation) sets it; the stage that reads one file sets it on
    the problems of that file (:meth:`of_file`). ``details`` are the message's other fields (``expected``,
    ``parts``, …; ``detail`` is the technical reason, kept for the data engineer)."""

    rule: str
    where: Location = NOWHERE
    value: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    sha256: str | None = None

    @classmethod
    def at(cls, rule: str, *, sheet: str | None = None, cell: str | None = None, row_code: str | None = None,
           measure: str | None = None, value: str | None = None, sha256: str | None = None,
           **details: str | None) -> Problem:
        """``Problem.at("sum-mismatch", sheet="Bieu 01", cell="F13", row_code="01", expected="8.009")``: the
        location spelt out, details given as keywords (a ``None`` detail is left out)."""
        return cls(rule, Location(sheet, cell, row_code, measure), value,
                   {k: str(v) for k, v in details.items() if v is not None}, sha256)

    def of_file(self, sha256: str) -> Problem:
        return replace(self, sha256=sha256)

    @property
    def type(self) -> ProblemType:
        return problem_catalogue().get(self.rule)

    @property
    def severity(self) -> str:
        return self.type.severity

    @property
    def stage(self) -> str:
        return self.type.stage

    @property
    def problem_id(self) -> str:
        """Stable across runs and reprocessing: the same problem at the same place of the same file."""
        w = self.where
        key = "|".join(str(x) for x in (self.sha256, self.rule, w.sheet, w.cell, w.row_code, w.measure))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def messages(self, file_name: str | None) -> tuple[str, str]:
        """The Vietnamese and English messages, from the catalogue's templates."""
        from ingest.catalogue import load_catalogue

        measure = load_catalogue().measure(self.where.measure or "")
        file_format = file_formats().get(self.details.get("format", "unknown")) or file_formats()["unknown"]
        fields = {"file": file_name, "sheet": self.where.sheet, "cell": self.where.cell,
                  "row_code": self.where.row_code, "measure_vi": measure.label_vi if measure else None,
                  "measure_en": measure.label_en if measure else None, "value": self.value,
                  "format_vi": file_format.vi, "format_en": file_format.en, **self.details}
        for key in _FROM_THE_FILE:  # a person reads the message: a short, printable fragment of what the file holds
            if isinstance(fields.get(key), str):
                fields[key] = excerpt(fields[key], FILE_NAME_CHARS if key == "file" else EXCERPT_CHARS)
        t = self.type
        return _render(t.vi, fields), _render(t.en, fields)


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _render(template: str, fields: dict[str, Any]) -> str:
    # Only named fields are allowed; an unknown one renders as "?" rather than failing the run.
    return Formatter().vformat(template, (), _Defaulting({k: v for k, v in fields.items() if v is not None}))


@dataclass(frozen=True)
class ReceivedFile:
    """What a problem row says of the file it is about, beside the problem: its name and folder as received, and
    its submission id when it was identified."""

    file_name: str
    folder_unit_code: str
    submission_id: str | None = None


def problem_rows(problems: Iterable[Problem], files: Mapping[str, ReceivedFile]) -> list[dict[str, Any]]:
    """The rows of ``raw.problems`` (without ``load_id``), each problem with its file (``files`` by sha256)."""
    rows = []
    for p in problems:
        if p.sha256 is None:
            raise ValueError(f"problem {p.rule} is not about a file")
        f = files[p.sha256]
        vi, en = p.messages(f.file_name)
        t = p.type
        rows.append({"problem_id": p.problem_id, "sha256": p.sha256, "submission_id": f.submission_id,
                     "file_name": f.file_name, "folder_unit_code": f.folder_unit_code, "stage": t.stage,
                     "severity": t.severity, "rule": p.rule, "row_code": p.where.row_code,
                     "measure": p.where.measure, "source_sheet": p.where.sheet, "source_cell": p.where.cell,
                     "value_text": p.value, "message_vi": vi, "message_en": en, "detail": p.details.get("detail")})
    return rows
