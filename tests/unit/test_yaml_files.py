"""ingest/yaml_files.py: the one YAML loader, libyaml's C loader (installed with PyYAML's wheels), safe only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingest.settings import CATALOGUE_DIR
from ingest.yaml_files import SafeLoader, read_yaml


def test_the_c_loader_is_used() -> None:
    assert SafeLoader is yaml.CSafeLoader


def test_reads_utf8_and_refuses_python_objects(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("form: 01/LĐVL-H\nrows: [1, '02']\n", encoding="utf-8")
    assert read_yaml(path) == {"form": "01/LĐVL-H", "rows": [1, "02"]}
    path.write_text("x: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(yaml.constructor.ConstructorError):
        read_yaml(path)


def test_the_catalogue_reads_the_same_with_either_loader() -> None:
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path
