"""Generated files are never stale: each holds what `make generate` writes from the catalogue and declarations."""

from __future__ import annotations

import pytest

from devtools.generate import generated_files
from ingest.settings import REPO_DIR


@pytest.mark.parametrize("path", sorted(generated_files()), ids=lambda p: str(p.relative_to(REPO_DIR)))
def test_generated_file_is_up_to_date(path) -> None:
    assert path.read_text(encoding="utf-8") == generated_files()[path], (
        f"{path.relative_to(REPO_DIR)} is out of date: run `make generate` and commit it")
