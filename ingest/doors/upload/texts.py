"""The upload page's words, from ``ingest/catalogue/upload_page.yaml``: each text in Vietnamese and in English.

The page is Vietnamese first; English is a toggle. Texts are data, as the doors' replies (``doors.yaml``) and the
problems' messages (``problems.yaml``) are: changing a word needs no code. Placeholders are filled with plain text
(``str.format_map``); the templates escape what comes out, so a value from a district's file stays text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from string import Formatter

from ingest.settings import CATALOGUE_DIR
from ingest.yaml_files import read_yaml

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
TEXTS_FILE = CATALOGUE_DIR / "upload_page.yaml"


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "?"


@dataclass(frozen=True)
class PageTexts:
    texts: dict[str, dict[str, str]]  # "group.key" → {"vi": …, "en": …}

    def say(self, key: str, lang: str, **values: object) -> str:
        """The text ``key`` in ``lang`` with ``values`` filled in (an unknown placeholder shows as ``?``, never an
        error in front of a district)."""
        template = self.texts[key][lang if lang in LANGUAGES else DEFAULT_LANGUAGE]
        return Formatter().vformat(template, (), _Missing({k: v for k, v in values.items() if v is not None}))

    def has(self, key: str) -> bool:
        return key in self.texts


def _flatten(spec: dict, prefix: str = "") -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in spec.items():
        name = f"{prefix}{key}"
        if not isinstance(value, dict):
            raise ValueError(f"upload_page.yaml: {name} must be a group or a {{vi, en}} pair")
        if set(value) & set(LANGUAGES):
            if set(value) != set(LANGUAGES) or not all(isinstance(value[lang], str) for lang in LANGUAGES):
                raise ValueError(f"upload_page.yaml: {name} needs exactly a `vi` and an `en` text")
            out[name] = {lang: value[lang] for lang in LANGUAGES}
        else:
            out.update(_flatten(value, f"{name}."))
    return out


@cache
def page_texts() -> PageTexts:
    return PageTexts(_flatten(read_yaml(TEXTS_FILE)))
