"""Benchmark inboxes, generated once per scale and generator version and cached (``$SECTORSTATS_BENCH_DIR``,
default ``bench/.cache``).

    .venv/bin/python -m bench.inboxes --scale province-year
    .venv/bin/python -m bench.inboxes --scale national-year --sample 3000 --jobs 2   # the first batches only

Scales:

- ``province-month``: the 13 district-level units of Hà Tĩnh, the two monthly forms of January 2024, taken
  from the 2024 demo inbox (``devtools.demo.generate_demo``, seed 2024), as of 2024-02-29 (only January is due);
- ``province-year``: the 2024 demo inbox itself (what ``make run`` loads), as of 2025-01-31;
- ``national-year``: 3,300 synthetic commune-level units × the 32 reports of 2026 (two monthly and two
  quarterly forms), as of 2027-01-31. The catalogue knows only Hà Tĩnh's units, so the bench writes its own
  reference: the units are commune-level units of a *bench-only* ``ref_commune_mapping_2025_07.csv`` (codes
  90000–93299, which no real GSO commune code uses, and made-up two-syllable names), handed to the library
  through ``SECTORSTATS_DBT_PROJECT_DIR`` (the catalogue reads its units from the dbt project's seeds). The
  files are what ``generate_demo`` writes for those units, 30 units per batch: the same layout quirks, late,
  missing (3 %), wrong, corrected, duplicated, damaged and non-spreadsheet files as the demo, per batch. The
  numbers are each unit's 1/3,300 share of the province's magnitudes, so they are small; reading, checking and
  loading cost by cells, not by magnitude.

A cache entry is ``<scale>-<hash>/`` where the hash covers the generator version of this file and the sources
that decide the bytes (``devtools/demo.py``, ``ingest/tell/official_forms.py``, ``forms.yaml``, the reference CSVs): a
change regenerates, a second run reuses. The national inbox is made of batches, each written to a temporary
folder and renamed when complete, so an interrupted generation resumes where it stopped; ``--jobs`` batches
run side by side (separate processes).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENERATOR_VERSION = 1  # bump when what this file generates changes
NATIONAL_UNITS = 3_300
NATIONAL_YEAR = 2026
BATCH_UNITS = 30
REPORTS_PER_UNIT_YEAR = 32  # 2 monthly forms × 12 + 2 quarterly forms × 4
FIRST_NATIONAL_CODE = 90_000
MAPPING_CSV = "ref_commune_mapping_2025_07.csv"
DISTRICTS_CSV = "ref_districts.csv"
REFERENCE = REPO / "dbt_project" / "seeds" / "reference"


@dataclass(frozen=True)
class Scale:
    name: str
    year: int
    as_of: str
    description: str


SCALES = {
    "province-month": Scale("province-month", 2024, "2024-02-29",
                            "Hà Tĩnh's 13 district-level units, the two monthly forms of January 2024 (from the 2024 "
                            "demo inbox), as of 2024-02-29"),
    "province-year": Scale("province-year", 2024, "2025-01-31",
                           "the 2024 demo inbox (`make run`'s): 13 units, every month and quarter, as of 2025-01-31"),
    "national-year": Scale("national-year", NATIONAL_YEAR, "2027-01-31",
                           f"{NATIONAL_UNITS:,} synthetic commune-level units × {REPORTS_PER_UNIT_YEAR} reports of "
                           f"{NATIONAL_YEAR}, as of 2027-01-31"),
}


@dataclass
class Inbox:
    """A cached inbox ready to be linked into a data directory."""

    scale: str
    root: Path
    dirs: list[Path]  # inbox folders (``<unit>/<file>`` below each) that together make the inbox
    files: int
    bytes: int
    as_of: str
    units: list[str]
    missing: list[dict]  # reports the inbox does not hold: {unit_code, form_code, period_start}
    generation: dict = field(default_factory=dict)  # files, seconds, files_per_s, generated_now
    sample: str = ""  # how the inbox was cut from its scale, when it was


def bench_dir() -> Path:
    return Path(os.environ.get("SECTORSTATS_BENCH_DIR", REPO / "bench" / ".cache")).resolve()


def generator_hash(scale: str) -> str:
    """What decides the bytes of a scale's files: this generator's version and the library sources it calls."""
    h = hashlib.sha256(f"{scale} v{GENERATOR_VERSION}".encode())
    sources = [REPO / "devtools" / "demo.py", REPO / "ingest" / "tell" / "official_forms.py",
               REPO / "ingest" / "catalogue" / "forms.yaml", REFERENCE / DISTRICTS_CSV]
    if scale != "national-year":
        sources.append(REFERENCE / MAPPING_CSV)
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def _tree_stats(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


# --- province scales -------------------------------------------------------------------------------

def _generate_province(scale: str, root: Path) -> None:
    from devtools.demo import generate_demo
    from ingest.catalogue import load_catalogue

    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    wall, cpu = time.perf_counter(), time.process_time()
    if scale == "province-year":
        manifest = generate_demo(tmp / "inbox", year=2024, seed=2024)
        generated = len(manifest.files)
        missing = manifest.missing
    else:  # January's monthly reports out of the 2024 demo: the same bytes as in the year
        manifest = generate_demo(tmp / "year", year=2024, seed=2024)
        generated = len(manifest.files)
        cat, january = load_catalogue(), dt.date(2024, 1, 1)

        def monthly_january(form_code: str | None, period: dt.date | None) -> bool:
            return bool(form_code) and period == january and cat.form(form_code).frequency == "monthly"

        for f in manifest.files:
            if monthly_january(f.form_code, f.period_start):
                dest = tmp / "inbox" / f.folder / f.file_name
                dest.parent.mkdir(parents=True, exist_ok=True)
                (tmp / "year" / f.folder / f.file_name).rename(dest)  # a rename keeps the arrival time (mtime)
        shutil.rmtree(tmp / "year")
        missing = [m for m in manifest.missing if monthly_january(m.form_code, m.period_start)]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    files, size = _tree_stats(tmp / "inbox")
    units = sorted(p.name for p in (tmp / "inbox").iterdir())
    (tmp / "manifest.json").write_text(json.dumps({
        "scale": scale, "hash": generator_hash(scale), "generator_version": GENERATOR_VERSION,
        "files": files, "bytes": size, "units": units,
        "missing": [{"unit_code": m.unit_code, "form_code": m.form_code, "period_start": m.period_start.isoformat()}
                    for m in missing],
        "generation": {"files": generated, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                       "files_per_s": round(generated / wall, 1) if wall else None},
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)


# --- national scale --------------------------------------------------------------------------------

_SYLLABLES = (
    "An", "Bình", "Cẩm", "Châu", "Đông", "Đức", "Gia", "Hà", "Hải", "Hòa", "Hồng", "Hưng", "Hương", "Khánh",
    "Kim", "Lạc", "Lâm", "Liên", "Linh", "Long", "Lộc", "Minh", "Mỹ", "Nam", "Nghĩa", "Ngọc", "Nhân", "Phong",
    "Phú", "Phúc", "Phước", "Quang", "Quảng", "Quý", "Sơn", "Tân", "Thạch", "Thái", "Thanh", "Thành", "Thiện",
    "Thịnh", "Thọ", "Thuận", "Thủy", "Tiến", "Toàn", "Trung", "Trường", "Tùng", "Tường", "Văn", "Việt", "Vinh",
    "Vĩnh", "Xuân", "Yên", "Bắc", "Đại", "Hiệp",
)


def national_units(n: int = NATIONAL_UNITS) -> list[tuple[str, str]]:
    """``n`` synthetic commune-level units: (code, name), codes from 90000, unique two-syllable names, one in
    seven a ward (``Phường``)."""
    names = [f"{a} {b}" for a in _SYLLABLES for b in _SYLLABLES if a != b]
    if n > len(names):
        raise ValueError(f"at most {len(names)} synthetic units")
    step = 1_009  # a prime: spread the names over the list so that neighbours do not share a first syllable
    return [(str(FIRST_NATIONAL_CODE + i), f"{'Phường' if i % 7 == 3 else 'Xã'} {names[(i * step) % len(names)]}")
            for i in range(n)]


def write_reference(folder: Path, units: list[tuple[str, str]]) -> Path:
    """A dbt-project-shaped folder whose ``seeds/reference`` holds Hà Tĩnh's districts (which no longer exist in
    the national year) and ``units`` as the commune-level units: what ``SECTORSTATS_DBT_PROJECT_DIR`` points the
    catalogue at."""
    ref = folder / "seeds" / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REFERENCE / DISTRICTS_CSV, ref / DISTRICTS_CSV)
    with (ref / MAPPING_CSV).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["old_commune_code", "old_commune_name", "old_district_code", "new_commune_code",
                    "new_commune_name"])
        for code, name in units:
            w.writerow([code, name, "", code, name])
    return folder


def _batch_count(sample: int | None) -> int:
    total = -(-NATIONAL_UNITS // BATCH_UNITS)
    if sample is None:
        return total
    return min(total, max(1, sample // (BATCH_UNITS * REPORTS_PER_UNIT_YEAR)))


def _generate_batch(root: Path, batch: int) -> None:
    """One batch of national units, in this process (run by a child process: the catalogue must be the bench's,
    set through the environment before ``ingest`` is imported)."""
    from devtools.demo import generate_demo

    units = national_units()[batch * BATCH_UNITS:(batch + 1) * BATCH_UNITS]
    final = root / "batches" / f"{batch:04d}"
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    wall, cpu = time.perf_counter(), time.process_time()
    manifest = generate_demo(tmp / "inbox", year=NATIONAL_YEAR, seed=NATIONAL_YEAR * 10_000 + batch,
                             unit_codes=[code for code, _ in units])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    files, size = _tree_stats(tmp / "inbox")
    (tmp / "done.json").write_text(json.dumps({
        "batch": batch, "units": [code for code, _ in units], "files": files, "bytes": size,
        "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
        "missing": [{"unit_code": m.unit_code, "form_code": m.form_code, "period_start": m.period_start.isoformat()}
                    for m in manifest.missing],
    }), encoding="utf-8")
    tmp.rename(final)


def _ensure_national(root: Path, batches: int, jobs: int) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    reference = root / "reference-all"
    if not (reference / "seeds" / "reference" / MAPPING_CSV).exists():
        write_reference(reference, national_units())
    todo = [b for b in range(batches) if not (root / "batches" / f"{b:04d}" / "done.json").exists()]
    env = {**os.environ, "SECTORSTATS_DBT_PROJECT_DIR": str(reference)}
    wall = time.perf_counter()
    if todo:
        print(f"generating {len(todo)} batch(es) of {BATCH_UNITS} national units, {jobs} at a time", flush=True)

    def run(batch: int) -> None:
        proc = subprocess.run([sys.executable, "-m", "bench.inboxes", "--batch", str(batch), "--root", str(root)],
                              cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"batch {batch} failed:\n{proc.stderr[-3000:]}")
        print(f"  batch {batch:04d} done", flush=True)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(run, todo))
    wall = time.perf_counter() - wall
    done = [json.loads((root / "batches" / f"{b:04d}" / "done.json").read_text()) for b in range(batches)]
    made = [d for d in done if d["batch"] in todo]
    files_now = sum(d["files"] for d in made)
    per_batch = sum(d["seconds"] for d in done) / len(done)
    return {
        "generated_now": bool(todo), "files": files_now, "seconds": round(wall, 2),
        "files_per_s": round(files_now / wall, 1) if todo and wall else None,
        "batches_cached": batches - len(todo), "batches": batches, "jobs": jobs,
        "files_per_s_one_process": round(sum(d["files"] for d in done) / sum(d["seconds"] for d in done), 1),
        "full_national_estimate_s": round(per_batch * _batch_count(None) / max(1, jobs)),
    }


# --- entry point -----------------------------------------------------------------------------------

def ensure_inbox(scale: str, *, sample: int | None = None, jobs: int = 1) -> Inbox:
    """The cached inbox of ``scale`` (generated first when missing). ``sample`` (national only): about that many
    files, whole units, from the first batches."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: {', '.join(SCALES)}")
    root = bench_dir() / f"{scale}-{generator_hash(scale)}"
    if scale != "national-year":
        if sample is not None:
            raise ValueError("--sample applies to the national scale only")
        generated_now = not (root / "manifest.json").exists()
        if generated_now:
            print(f"generating the {scale} inbox into {root}", flush=True)
            _generate_province(scale, root)
        meta = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        return Inbox(scale=scale, root=root, dirs=[root / "inbox"], files=meta["files"], bytes=meta["bytes"],
                     as_of=SCALES[scale].as_of, units=meta["units"], missing=meta["missing"],
                     generation={**meta["generation"], "generated_now": generated_now})
    batches = _batch_count(sample)
    generation = _ensure_national(root, batches, jobs)
    done = [json.loads((root / "batches" / f"{b:04d}" / "done.json").read_text()) for b in range(batches)]
    units = [u for d in done for u in d["units"]]
    cut = "" if sample is None else (f"sample: the first {len(units):,} of {NATIONAL_UNITS:,} units "
                                     f"({batches} of {_batch_count(None)} batches), asked for ~{sample:,} files")
    return Inbox(scale=scale, root=root, dirs=[root / "batches" / f"{b:04d}" / "inbox" for b in range(batches)],
                 files=sum(d["files"] for d in done), bytes=sum(d["bytes"] for d in done),
                 as_of=SCALES[scale].as_of, units=units, missing=[m for d in done for m in d["missing"]],
                 generation=generation, sample=cut)


def link_inbox(inbox: Inbox, dest: Path) -> int:
    """Hard-link (or copy, across file systems) the cached files into ``dest/<unit>/<file>``, keeping their
    modification times (the pipeline's arrival times). Returns the number of files."""
    n = 0
    for src_root in inbox.dirs:
        for src in sorted(src_root.rglob("*")):
            if not src.is_file():
                continue
            target = dest / src.relative_to(src_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, target)
            except OSError:
                shutil.copy2(src, target)
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="province-month")
    parser.add_argument("--sample", type=int, help="national scale: about this many files (whole batches of units)")
    parser.add_argument("--jobs", type=int, default=1, help="national scale: batches generated side by side")
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)  # internal: generate one national batch
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch is not None:
        _generate_batch(args.root, args.batch)
        return
    inbox = ensure_inbox(args.scale, sample=args.sample, jobs=args.jobs)
    gen = inbox.generation
    print(f"{inbox.scale}: {inbox.files:,} files, {inbox.bytes / 1e6:.1f} MB, {len(inbox.units)} units, "
          f"{len(inbox.missing)} reports missing, in {inbox.root}")
    print(f"generation: {json.dumps(gen)}")


if __name__ == "__main__":
    main()
