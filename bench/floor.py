"""Benchmark floor: the time to read every cell of every file with python-calamine, and nothing else.

    .venv/bin/python -m bench.floor --inbox bench/.cache/province-year-<hash>/inbox

One process, one file after the other: open the workbook, turn every sheet into Python values, count the cells.
No safety checks, no parsing, no checks, no database: whatever the pipeline's reading and parsing costs above
this is ours. Files calamine cannot open (the inbox's PDF, damaged workbook and text note) are counted and
skipped. Prints wall and CPU seconds, files per second and peak resident memory (``--json`` writes them too).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from python_calamine import CalamineWorkbook


def inbox_files(inbox: Path, limit: int | None = None) -> list[Path]:
    """The inbox's files in a stable order (``limit``: an even spread of that many)."""
    files = sorted(p for p in inbox.rglob("*") if p.is_file())
    if limit is not None and limit < len(files):
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    return files


def read_every_cell(paths: list[Path]) -> dict[str, int]:
    cells = unreadable = 0
    for path in paths:
        try:
            wb = CalamineWorkbook.from_path(str(path))
            for name in wb.sheet_names:
                for row in wb.get_sheet_by_name(name).to_python(skip_empty_area=False):
                    cells += len(row)
            wb.close()
        except Exception:  # a PDF, a damaged workbook, a text note: calamine refuses them, as it should
            unreadable += 1
    return {"cells": cells, "unreadable": unreadable}


def measure(paths: list[Path]) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    counts = read_every_cell(paths)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"files": len(paths), **counts, "wall_s": wall, "cpu_s": cpu,
            "files_per_s": len(paths) / wall if wall else None,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    result = measure(inbox_files(args.inbox))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"floor (calamine, every cell): {result['files']:,} files ({result['unreadable']} unreadable), "
          f"{result['cells']:,} cells: {result['wall_s']:.2f} s wall, {result['cpu_s']:.2f} s CPU, "
          f"{result['files_per_s']:.0f} files/s, peak RSS {result['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
