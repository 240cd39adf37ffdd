"""The raw and ops tables, declared once: in the dbt project's source files.

``dbt_project/models/staging/*/_*__sources.yml`` declare every table the Python side writes (schemas ``raw`` and
``ops``) with, for each column, its ``data_type``, its ``constraints`` (``not_null``, ``primary_key``) and its
``description``. dbt reads them as sources; this module reads the same files and gives the warehouse its DDL, the
stages their column lists, and ``docs/raw_schema.md`` its text (``make generate``). A column added to a table is a
line in that YAML: :func:`ingest.warehouse.ensure_schema` adds it to a warehouse created before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ingest.settings import DBT_PROJECT_DIR
from ingest.yaml_files import read_yaml

SOURCES_GLOB = "models/staging/*/_*__sources.yml"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as DuckDB and Postgres both read it: varchar, integer, bigint, double precision, date, …
    nullable: bool
    primary_key: bool
    description: str


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    description: str
    source: str  # the dbt source it belongs to: source('<source>', '<name>')
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def names_except(self, *left_out: str) -> list[str]:
        unknown = set(left_out) - set(self.names)
        if unknown:
            raise KeyError(f"{self.qualified} has no column(s) {sorted(unknown)}")
        return [c.name for c in self.columns if c.name not in left_out]

    def ddl(self) -> str:
        """``create table if not exists`` with every column, its nullability and the primary key."""
        parts = [f"{c.name} {c.type}" + ("" if c.nullable or c.primary_key else " not null") for c in self.columns]
        key = [c.name for c in self.columns if c.primary_key]
        if key:
            parts.append(f"primary key ({', '.join(key)})")
        return f"create table if not exists {self.qualified} ({', '.join(parts)})"


def _column(spec: dict, table: str) -> Column:
    kinds = {c["type"] for c in spec.get("constraints") or []}
    if not spec.get("data_type"):
        raise ValueError(f"{table}.{spec['name']}: no data_type in the dbt source declaration")
    unknown = kinds - {"not_null", "primary_key"}
    if unknown:
        raise ValueError(f"{table}.{spec['name']}: constraint(s) {sorted(unknown)} are not supported here")
    return Column(name=spec["name"], type=spec["data_type"], nullable=not kinds,
                  primary_key="primary_key" in kinds, description=" ".join(str(spec.get("description", "")).split()))


def read_tables(project_dir: Path) -> dict[str, Table]:
    """Every table of the project's source files that declares its columns' types, by ``schema.name``."""
    out: dict[str, Table] = {}
    for path in sorted(project_dir.glob(SOURCES_GLOB)):
        for source in read_yaml(path).get("sources") or []:
            for t in source.get("tables") or []:
                qualified = f"{source['schema']}.{t['name']}"
                columns = tuple(_column(c, qualified) for c in t.get("columns") or [])
                if qualified in out:
                    raise ValueError(f"{qualified} is declared twice ({path.name})")
                out[qualified] = Table(source["schema"], t["name"], " ".join(str(t.get("description", "")).split()),
                                       source["name"], columns)
    return out


@cache
def tables() -> dict[str, Table]:
    """The project's tables (read once per process)."""
    return read_tables(DBT_PROJECT_DIR)


def table(qualified: str) -> Table:
    """``table("raw.submissions")``."""
    try:
        return tables()[qualified]
    except KeyError:
        raise KeyError(f"no table {qualified!r} is declared in {DBT_PROJECT_DIR / SOURCES_GLOB}") from None
