"""What the doors take and the words of what they say back, from ``ingest/catalogue/doors.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ingest.settings import CATALOGUE_DIR
from ingest.yaml_files import read_yaml


@dataclass(frozen=True)
class DoorRules:
    spreadsheet_suffixes: frozenset[str]
    spreadsheet_media_types: frozenset[str]
    archive_suffixes: frozenset[str]
    archive_media_types: frozenset[str]
    not_taken: dict[str, dict[str, str]]  # reason code → {"vi": …, "en": …}
    taken: dict[str, dict[str, str]]  # "new" | "duplicate" → {"vi": …, "en": …}

    def suffix(self, name: str) -> str:
        return name.rsplit(".", 1)[-1].lower() if "." in name else ""

    def is_spreadsheet(self, name: str, media_type: str = "") -> bool:
        return self.suffix(name) in self.spreadsheet_suffixes or media_type.lower() in self.spreadsheet_media_types

    def is_archive(self, name: str, media_type: str = "") -> bool:
        return self.suffix(name) in self.archive_suffixes or (
            media_type.lower() in self.archive_media_types and self.suffix(name) not in self.spreadsheet_suffixes)

    def say(self, table: str, code: str, **values: object) -> tuple[str, str]:
        """The Vietnamese and English lines of ``code`` with ``values`` filled in as plain text."""
        spec = (self.not_taken if table == "not_taken" else self.taken)[code]
        filled = {k: "" if v is None else str(v) for k, v in values.items()}
        return spec["vi"].format_map(filled), spec["en"].format_map(filled)


@cache
def door_rules() -> DoorRules:
    spec = read_yaml(CATALOGUE_DIR / "doors.yaml")
    for table in ("not_taken", "taken"):
        for code, text in spec[table].items():
            if set(text) != {"vi", "en"}:
                raise ValueError(f"doors.yaml: {table}.{code} needs exactly a `vi` and an `en` line")
    lower = lambda key: frozenset(str(x).lower() for x in spec[key])  # noqa: E731
    return DoorRules(lower("spreadsheet_suffixes"), lower("spreadsheet_media_types"), lower("archive_suffixes"),
                     lower("archive_media_types"), spec["not_taken"], spec["taken"])
