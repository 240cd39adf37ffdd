"""Benchmark baseline: the first version anyone would write, honestly, to compare the pipeline with.

    .venv/bin/python -m bench.naive --inbox bench/.cache/province-year-<hash>/inbox --sample 40

File after file, in one process:

1. **read**: ``pandas.read_excel(path, sheet_name=None, header=None, engine="openpyxl")``, then find the form
   (its code in the top rows), the unit (``(mã 443)``), the period (``Tháng 1 năm 2024`` / ``Quý I năm 2024``),
   the header row (``Mã số``) and the four numeric columns by their labels (the catalogue's words), and take
   every catalogue row's numbers with ``pd.to_numeric`` — the catalogue is the same, the cleverness is not;
2. **validate**: one Great Expectations validation per file (an ephemeral context, one suite per form, made
   once): row codes of the form, known measures, no negative number, no row twice, the row code present;
3. **load**: one transaction per file through SQLAlchemy (``duckdb-engine``) into a DuckDB file, every row an
   ``INSERT`` of its own.

It checks less than the pipeline (no arithmetic of the form, no history, no unit-and-folder rule) and finds
less (no quirks handled): a baseline for speed, not for correctness. Set-up (opening GX, creating tables) is
timed apart and counted once. With ``--sample N`` it runs on an even spread of N files and the report
extrapolates per file, linearly, to the whole inbox, and says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floor import inbox_files
from ingest.catalogue import Catalogue, Form, load_catalogue
from ingest.text import fold

MEASURES = load_catalogue().measure_keys
_UNIT = re.compile(r"\(\s*mã\s*(\d{3,5})\s*\)")
_MONTH = re.compile(r"tháng\s+(\d{1,2})\s+năm\s+(\d{4})")
_QUARTER = re.compile(r"quý\s+(iv|iii|ii|i|\d)\s+năm\s+(\d{4})")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def read_file(path: Path, catalogue: Catalogue) -> tuple[dict, pd.DataFrame] | None:
    """(what the file is, its numbers as row_code/measure/value rows), or None when it is not a readable form."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")
    except Exception:
        return None
    for df in sheets.values():
        texts = [[fold(v) if isinstance(v, str) else v for v in row] for row in df.itertuples(index=False)]
        top = " ".join(str(v) for row in texts[:12] for v in row if isinstance(v, str))
        form = catalogue.find_form(top)
        if form is None:
            continue
        header = next((i for i, row in enumerate(texts) if "mã số" in row), None)
        if header is None:
            continue
        code_col = texts[header].index("mã số")
        below = texts[header + 1] if header + 1 < len(texts) else []
        labels = [" ".join(str(t) for t in pair if isinstance(t, str))
                  for pair in zip(texts[header], below, strict=False)]
        columns = _columns(form, labels)  # the labels take two rows ("Thực hiện" over "Tháng báo cáo")
        unit = _UNIT.search(top)
        info = {"file": path.name, "folder": path.parent.name, "form_code": form.code,
                "unit_code": unit.group(1) if unit else None, "period_start": _period(top)}
        codes = set(form.row_codes)
        rows = []
        for row in df.iloc[header + 1:].itertuples(index=False):
            raw = row[code_col]
            code = f"{int(raw):02d}" if isinstance(raw, (int, float)) and raw == raw else str(raw).strip()
            if code not in codes:
                continue
            for measure, col in columns.items():
                rows.append({"row_code": code, "measure": measure,
                             "value": pd.to_numeric(row[col], errors="coerce")})
        return info, pd.DataFrame(rows, columns=["row_code", "measure", "value"])
    return None


def _columns(form: Form, header: list[str]) -> dict[str, int]:
    out = {}
    for column in form.columns:
        for i, text in enumerate(header):
            if any(m in text for m in column.match):
                out[column.key] = i
                break
    return out


def _period(text: str) -> dt.date | None:
    m = _MONTH.search(text)
    if m:
        return dt.date(int(m.group(2)), int(m.group(1)), 1)
    q = _QUARTER.search(text)
    if q:
        quarter = _ROMAN.get(q.group(1)) or int(q.group(1))
        return dt.date(int(q.group(2)), 3 * quarter - 2, 1)
    return None


class Checks:
    """One GX validation definition per form, in an ephemeral context, made once."""

    def __init__(self, catalogue: Catalogue) -> None:
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self.context.data_sources.add_pandas("naive").add_dataframe_asset("file")
        batch = asset.add_batch_definition_whole_dataframe("one file")
        self.definitions = {}
        for form in catalogue.forms:
            suite = self.context.suites.add(gx.ExpectationSuite(name=f"naive {form.code}", expectations=[
                gxe.ExpectColumnValuesToNotBeNull(column="row_code"),
                gxe.ExpectColumnValuesToBeInSet(column="row_code", value_set=list(form.row_codes)),
                gxe.ExpectColumnValuesToBeInSet(column="measure", value_set=list(MEASURES)),
                gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0),
                gxe.ExpectCompoundColumnsToBeUnique(column_list=["row_code", "measure"]),
            ]))
            self.definitions[form.code] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"naive {form.code}", data=batch, suite=suite))

    def run(self, form_code: str, frame: pd.DataFrame) -> bool:
        return bool(self.definitions[form_code].run(batch_parameters={"dataframe": frame}).success)


def measure(paths: list[Path], total_files: int, db: Path) -> dict:
    from sqlalchemy import Column, Date, Float, Integer, MetaData, String, Table, create_engine, insert

    catalogue = load_catalogue()
    setup = time.perf_counter()
    checks = Checks(catalogue)
    engine = create_engine(f"duckdb:///{db}")
    meta = MetaData()
    submissions = Table("submissions", meta, Column("id", Integer), Column("file", String), Column("folder", String),
                        Column("unit_code", String), Column("form_code", String), Column("period_start", Date),
                        Column("valid", String))
    observations = Table("observations", meta, Column("submission", Integer), Column("row_code", String),
                         Column("measure", String), Column("value", Float))
    meta.create_all(engine)
    setup = time.perf_counter() - setup
    spent = {"read": 0.0, "validate": 0.0, "load": 0.0}
    wall, cpu = time.perf_counter(), time.process_time()
    loaded = rows = 0
    for n, path in enumerate(paths):
        t = time.perf_counter()
        parsed = read_file(path, catalogue)
        spent["read"] += time.perf_counter() - t
        if parsed is None:
            continue
        info, frame = parsed
        t = time.perf_counter()
        valid = checks.run(info["form_code"], frame) if not frame.empty else False
        spent["validate"] += time.perf_counter() - t
        t = time.perf_counter()
        with engine.begin() as con:
            con.execute(insert(submissions).values(id=n, valid=str(valid), file=info["file"], folder=info["folder"],
                                                   unit_code=info["unit_code"], form_code=info["form_code"],
                                                   period_start=info["period_start"]))
            for rec in frame.itertuples(index=False):
                value = None if pd.isna(rec.value) else float(rec.value)
                con.execute(insert(observations).values(submission=n, row_code=rec.row_code, measure=rec.measure,
                                                        value=value))
        spent["load"] += time.perf_counter() - t
        loaded += 1
        rows += len(frame)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.dispose()
    per_file = wall / len(paths)
    return {
        "files": len(paths), "total_files": total_files, "sampled": len(paths) < total_files,
        "loaded": loaded, "rows": rows, "setup_s": setup, "wall_s": wall, "cpu_s": cpu,
        "stages_s": spent, "per_file_s": per_file,
        "extrapolated_wall_s": setup + per_file * total_files,
        "extrapolated_stages_s": {k: v / len(paths) * total_files for k, v in spent.items()},
        "files_per_s": len(paths) / wall if wall else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--sample", type=int, help="run on an even spread of this many files, extrapolate the rest")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    everything = inbox_files(args.inbox)
    paths = inbox_files(args.inbox, args.sample)
    with tempfile.TemporaryDirectory(prefix="bench-naive-") as tmp:
        result = measure(paths, len(everything), Path(tmp) / "naive.duckdb")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    s = result["stages_s"]
    print(f"naive: {result['files']:,} of {result['total_files']:,} files, {result['rows']:,} rows inserted one by "
          f"one: {result['wall_s']:.1f} s wall (read {s['read']:.1f}, GX {s['validate']:.1f}, insert "
          f"{s['load']:.1f}), {result['cpu_s']:.1f} s CPU, set-up {result['setup_s']:.1f} s; "
          f"{'extrapolated' if result['sampled'] else 'whole inbox'}: {result['extrapolated_wall_s']:.0f} s")


if __name__ == "__main__":
    main()
