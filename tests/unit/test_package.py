"""ingest.package: each stage adds its own files to the load package and never rewrites another stage's."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.demo import generate_demo
from ingest.archive.stage import archive_stage
from ingest.check.stage import validate_stage
from ingest.load.stage import load_stage
from ingest.package import LoadPackage, StageError, new_load_id
from ingest.parse.stage import parse_stage


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_stages_move_the_package_forward_without_rewriting_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTORSTATS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECTORSTATS_INBOX_DIR", str(tmp_path / "inbox"))
    generate_demo(tmp_path / "inbox", year=2024, seed=5, unit_codes=["443"])
    archive_stage("l")
    parse_stage("l", workers=1)
    package = LoadPackage("l")
    with pytest.raises(StageError, match=r"load stage of load l: the package at .* was not validated"):
        load_stage("l")
    parsed = _files(package.parsed)
    assert set(parsed) == {"submissions.parquet", "observations.parquet", "problems.parquet", "manifest.json"}
    first = validate_stage("l")
    checked = _files(package.checked)
    assert set(checked) == {"verdicts.parquet", "problems.parquet"}
    assert validate_stage("l") == first  # validating again replaces checked/ only, with the same verdicts
    assert _files(package.parsed) == parsed
    assert _files(package.checked).keys() == checked.keys()
    subs = package.submissions()
    assert set(subs["status"]) <= {"accepted", "accepted_with_warnings", "rejected"}
    assert len(subs) == package.manifest()["submissions"]
    assert load_stage("l")["submissions"] == len(subs)
    parse_stage("l", workers=1, reprocess=True)  # parsed again: the old verdicts no longer apply
    assert not package.checked.exists()


def test_a_load_id_is_a_folder_name() -> None:
    assert new_load_id("scheduled__2024-11-05T02:00:00+00:00") == "scheduled__2024-11-05T02_00_00_00_00"
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="invalid load id"):
            LoadPackage(bad)
