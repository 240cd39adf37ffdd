"""Reading the project's YAML files (the catalogue, dbt's sources): one loader for all of them.

libyaml's C loader when PyYAML has it (the wheels do), else the pure-Python one: the same safe subset of YAML
either way, ten times faster with the C loader, which counts because every task process and parse worker reads
the catalogue afresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The content of one YAML file (UTF-8), with safe loading only."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
