"""Problems found in received files: one record type for every stage, messages from the catalogue.

A problem names where it is (file, sheet, cell, row code, measure) as fields, and its message is
rendered from the template in ``ingest/catalogue/problems.yaml`` — the code never writes prose.
Stages collect problems rather than raising, so one run reports everything wrong with a file.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from functools import cache
from string import Formatter
from typing import Any

import yaml

from ingest.settings import CATALOGUE_DIR

SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class ProblemType:
    code: str
    stage: str
    severity: str
    title: str
    vi: str
    en: str
    params: dict = field(default_factory=dict)  # thresholds of the rule (outliers), from problems.yaml


@dataclass(frozen=True)
class ProblemCatalogue:
    types: dict[str, ProblemType]
    measures: dict[str, dict[str, str]]

    def get(self, code: str) -> ProblemType:
        try:
            return self.types[code]
        except KeyError:
            raise KeyError(f"problem code {code!r} is not in problems.yaml") from None


@cache
def problem_catalogue() -> ProblemCatalogue:
    spec = yaml.safe_load((CATALOGUE_DIR / "problems.yaml").read_text(encoding="utf-8"))
    types = {}
    for code, p in spec["problems"].items():
        if p["severity"] not in SEVERITIES:
            raise ValueError(f"problems.yaml: {code} has severity {p['severity']!r}, not one of {SEVERITIES}")
        types[code] = ProblemType(code=code, stage=p["stage"], severity=p["severity"], title=p["title"],
                                  vi=p["vi"], en=p["en"], params=dict(p.get("params") or {}))
    return ProblemCatalogue(types=types, measures=spec["measures"])


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _render(template: str, fields: dict[str, Any]) -> str:
    # Only named fields are allowed; an unknown one renders as "?" rather than failing the run.
    return Formatter().vformat(template, (), _Defaulting({k: v for k, v in fields.items() if v is not None}))


@dataclass(frozen=True)
class Problem:
    """One problem in one received file."""

    rule: str
    sha256: str
    file_name: str
    folder_unit_code: str
    submission_id: str | None = None
    sheet: str | None = None
    cell: str | None = None
    row_code: str | None = None
    measure: str | None = None
    value: str | None = None
    details: dict[str, str] = field(default_factory=dict)

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
        key = "|".join(str(x) for x in (self.sha256, self.rule, self.sheet, self.cell, self.row_code, self.measure))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def _fields(self) -> dict[str, Any]:
        measures = problem_catalogue().measures
        m = measures.get(self.measure or "", {})
        return {
            "file": self.file_name,
            "sheet": self.sheet,
            "cell": self.cell,
            "row_code": self.row_code,
            "measure_vi": m.get("vi"),
            "measure_en": m.get("en"),
            "value": self.value,
            **self.details,
        }

    @property
    def message_vi(self) -> str:
        return _render(self.type.vi, self._fields())

    @property
    def message_en(self) -> str:
        return _render(self.type.en, self._fields())

    def record(self, load_id: str) -> dict[str, Any]:
        """The row written to ``raw.problems``."""
        d = asdict(self)
        return {
            "problem_id": self.problem_id,
            "sha256": self.sha256,
            "submission_id": self.submission_id,
            "file_name": self.file_name,
            "folder_unit_code": self.folder_unit_code,
            "stage": self.stage,
            "severity": self.severity,
            "rule": self.rule,
            "row_code": d["row_code"],
            "measure": d["measure"],
            "source_sheet": self.sheet,
            "source_cell": self.cell,
            "value_text": self.value,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "load_id": load_id,
        }


def problems_markdown() -> str:
    """``docs/problems.md``: every problem code with its stage, severity and messages, from the catalogue."""
    cat = problem_catalogue()
    lines = [
        "# Problem codes",
        "",
        "Generated from `ingest/catalogue/problems.yaml` by `python -m devtools problems-doc`; do not edit by hand",
        "(a test fails when this page and the catalogue disagree). An `error` rejects the submission; a",
        "`warning` keeps it. Codes are never renamed: alerts, `marts.fct_problem` and dashboards refer to them.",
        "",
        "| code | stage | severity | title | message (vi) | message (en) |",
        "|---|---|---|---|---|---|",
    ]
    for t in cat.types.values():
        vi, en = (m.replace("|", "\\|") for m in (t.vi, t.en))
        lines.append(f"| `{t.code}` | {t.stage} | {t.severity} | {t.title} | {vi} | {en} |")
    return "\n".join(lines) + "\n"
