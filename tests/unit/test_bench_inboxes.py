"""The benchmark's pure helpers: the national units and their reference, the cache key, the stage arithmetic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.inboxes import NATIONAL_UNITS, _batch_count, generator_hash, national_units, write_reference
from bench.report import fit
from bench.run import _union
from ingest.catalogue import COMMUNE_LEVEL_FROM, read_catalogue
from ingest.settings import CATALOGUE_DIR


def test_national_units_are_unique_commune_level_units_the_catalogue_reads(tmp_path: Path) -> None:
    units = national_units()
    assert len(units) == NATIONAL_UNITS
    assert len({c for c, _ in units}) == len({n for _, n in units}) == NATIONAL_UNITS
    assert all(n.split(" ", 1)[0] in ("Xã", "Phường") and len(c) == 5 for c, n in units)
    ref = write_reference(tmp_path, units[:40]) / "seeds" / "reference"
    cat = read_catalogue(CATALOGUE_DIR / "forms.yaml", ref / "ref_districts.csv",
                         ref / "ref_commune_mapping_2025_07.csv")
    in_2026 = cat.units_on(dt.date(2026, 1, 1))
    assert [u.code for u in in_2026] == [c for c, _ in units[:40]]
    assert all(u.is_commune and u.valid_from == COMMUNE_LEVEL_FROM for u in in_2026)


def test_cache_key_and_batches() -> None:
    assert generator_hash("province-year") == generator_hash("province-year") != generator_hash("province-month")
    assert _batch_count(None) == 110 and _batch_count(3000) == 3 and _batch_count(10) == 1


def test_union_of_task_windows_and_the_two_point_fit() -> None:
    assert _union([(0, 2), (1, 3), (5, 6)]) == 4
    runs = [{"inbox": {"files": f}, "stages": {"s": {"wall_s": 2 + 0.01 * f}}} for f in (100, 500)]
    fixed, per_file = fit(runs)["s"]
    assert abs(fixed - 2) < 1e-9 and abs(per_file - 0.01) < 1e-12
