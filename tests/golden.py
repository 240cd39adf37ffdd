"""Fingerprints of a warehouse: what "the demo gives the same marts, cell for cell" is checked against.

A refactoring must not change a number. ``tests/integration/test_demo_run.py`` builds the demo inbox into a
warehouse and compares every table of the marts, the raw tables and the alert outbox with the fingerprints kept in
``tests/integration/golden/demo.json``: per table its columns and types, its row count and a digest of every
column over the rows sorted as text, so a difference names the table and the column. Doubles are compared to six
decimals (sums of doubles differ in the last bits with the order of summation); columns that say *when* a run
happened (timestamps of loads and alerts) are left out.

After a change that is meant to change the numbers, write the file again and commit it with the reason::

    .venv/bin/python -m pytest tests/integration/test_demo_run.py --update-golden
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

GOLDEN_DIR = Path(__file__).resolve().parent / "integration" / "golden"
# columns that say when, or in which run, something happened: they differ between any two runs of the same inbox
RUN_COLUMNS = frozenset({"load_id", "loaded_at", "published_at", "built_at", "created_at", "sent_at",
                         "last_attempt_at", "started_at", "finished_at"})


def _cell(value: object, places: dict[str, str]) -> str:
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        return repr(round(number, 6) + 0.0)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    for path, name in places.items():
        text = text.replace(path, name)
    return text


def _digest(values: Iterable[str]) -> str:
    h = hashlib.sha256()
    for v in values:
        h.update(v.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()[:16]


def fingerprint(con: duckdb.DuckDBPyConnection, schemas: Iterable[str], *, exclude: Iterable[str] = (),
                data_dir: Path | None = None) -> dict[str, Any]:
    """Every table of ``schemas`` (but ``exclude``, ``schema.table``): columns with their types, row count, and a
    digest per column and of the whole, over the rows sorted as text (so the order the warehouse returns them in
    does not matter). The data directory in a text (a feedback workbook's path) reads ``$DATA``."""
    places = {str(data_dir): "$DATA"} if data_dir else {}
    out: dict[str, Any] = {}
    skip = set(exclude)
    tables = con.execute("""
        select table_schema, table_name from information_schema.tables
        where table_schema in (select unnest(?))
        order by 1, 2""", [list(schemas)]).fetchall()
    for schema, table in tables:
        if f"{schema}.{table}" in skip:
            continue
        columns = [(name, type_) for name, type_ in con.execute("""
            select column_name, data_type from information_schema.columns
            where table_schema = ? and table_name = ? order by ordinal_position""", [schema, table]).fetchall()
                   if name not in RUN_COLUMNS]
        names = ", ".join(f'"{name}"' for name, _ in columns)
        fetched = con.execute(f"select {names} from {schema}.{table}").fetchall()
        rows = sorted(tuple(_cell(v, places) for v in row) for row in fetched)
        out[f"{schema}.{table}"] = {
            "columns": [f"{name} {type_}" for name, type_ in columns],
            "rows": len(rows),
            "digest": _digest("\x1e".join(r) for r in rows),
            "column_digests": {name: _digest(r[i] for r in rows) for i, (name, _) in enumerate(columns)},
        }
    return out


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """What differs, table by table and column by column, in words."""
    out = []
    for table in sorted(set(expected) | set(got)):
        if table not in got:
            out.append(f"{table}: missing")
            continue
        if table not in expected:
            out.append(f"{table}: new table")
            continue
        e, g = expected[table], got[table]
        if e["columns"] != g["columns"]:
            out.append(f"{table}: columns {e['columns']} → {g['columns']}")
        if e["rows"] != g["rows"]:
            out.append(f"{table}: {e['rows']} rows → {g['rows']}")
        changed = [c for c, d in e["column_digests"].items() if g["column_digests"].get(c, d) != d]
        if changed:
            out.append(f"{table}: values differ in {', '.join(changed)}")
        elif e["digest"] != g["digest"] and e["columns"] == g["columns"]:
            out.append(f"{table}: rows differ (same values per column, combined differently)")
    return out


def read(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))


def write(name: str, prints: dict[str, Any]) -> Path:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    path = GOLDEN_DIR / f"{name}.json"
    path.write_text(json.dumps(prints, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path
