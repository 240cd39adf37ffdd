"""Benchmark: validating N submissions in one batch (all suites, Great Expectations), as the validate stage does.

    .venv/bin/python bench/validate_batch.py --submissions 10000

Builds N realistic submissions in memory (the demo generator's arithmetic, spread over 13 units, four forms
and the months and quarters of several years), with a year of history for the history rules, then times
``validate_batch`` alone (the Great Expectations context is opened before the clock starts). Prints wall and
CPU seconds, rows validated and peak resident memory. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.catalogue import load_catalogue
from ingest.check.validate import Validator, validate_batch
from tests.integration.helpers import consistent_values


def build(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """N submissions: 13 units × 4 forms, period after period, whose numbers continue each other (year to date
    = last period's + this one, the plan constant, last year's figures as reported), as a clean province sends."""
    cat = load_catalogue()
    units = [u.code for u in cat.units]
    subs, obs = [], []
    cache: dict[tuple[str, int, int], dict] = {}
    counters = {f.code: 0 for f in cat.forms}
    for i in range(n):
        form = cat.forms[i % len(cat.forms)]
        unit_index = (i // len(cat.forms)) % len(units)
        unit = units[unit_index]
        k = counters[form.code] // len(units)
        counters[form.code] += 1
        per_year = 12 if form.frequency == "monthly" else 4
        year, index = 2020 + k // per_year, k % per_year + 1
        start = dt.date(year, index if per_year == 12 else 3 * index - 2, 1)
        key = (form.code, unit_index, index)
        if key not in cache:
            values = consistent_values(form, unit_index, index)
            for code, measure in list(values):
                if measure == "ytd_prev_year":
                    values[(code, measure)] = values[(code, "ytd")]  # last year's report said the same
            cache[key] = values
        sid = f"s{i:07d}"
        subs.append({"sha256": sid * 4, "submission_id": sid, "file_name": f"{sid}.xlsx", "folder_unit_code": unit,
                     "received_at": pd.Timestamp(form.due_date(start)) - pd.Timedelta(days=2), "unit_code": unit,
                     "form_code": form.code, "period_type": form.period_type, "period_start": pd.Timestamp(start),
                     "source_sheet": "Bieu", "form_version": "current"})
        for r, (code_measure, v) in enumerate(cache[key].items()):
            if v is not None:
                obs.append({"submission_id": sid, "form_code": form.code, "row_code": code_measure[0],
                            "measure": code_measure[1], "value": v, "source_sheet": "Bieu",
                            "source_cell": f"F{13 + r}"})
    return pd.DataFrame(subs), pd.DataFrame(obs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    args = parser.parse_args()
    os.environ.setdefault("SECTORSTATS_DATA_DIR", tempfile.mkdtemp(prefix="bench-validate-"))
    subs, obs = build(args.submissions)
    validator = Validator(load_catalogue())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # inputs and Great Expectations
    wall, cpu = time.perf_counter(), time.process_time()
    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            failures = validate_batch(subs, obs, load_catalogue(), validator)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        failures = validate_batch(subs, obs, load_catalogue(), validator)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rules = sorted({f.rule for f in failures})
    print(
        f"validate_batch: {len(subs):,} submissions, {len(obs):,} numbers, {len(failures):,} failures {rules}: "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:.0f} MB ({before:.0f} MB before validating; "
          f"{os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
