"""ingest.warehouse.tables: every raw and ops table declared once, in the dbt source files, and made from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import warehouse
from ingest.warehouse.tables import Column, Table, read_tables, table, tables


def test_every_table_the_pipeline_writes_is_declared_with_types() -> None:
    assert set(tables()) == {"raw.arrivals", "raw.submissions", "raw.observations", "raw.problems", "raw.loads",
                             "raw.catalogue_forms", "raw.catalogue_indicators", "raw.catalogue_settings",
                             "ops.alert_log", "ops.alert_delivery", "raw.mail_messages"}
    for t in tables().values():
        assert t.columns and all(c.type for c in t.columns), t.qualified


def test_ddl_of_a_declared_table() -> None:
    assert table("ops.alert_delivery").ddl() == (
        "create table if not exists ops.alert_delivery (alert_id varchar, channel varchar, recipient varchar not null, "
        "status varchar not null, attempts integer not null, created_at timestamp not null, last_attempt_at "
        "timestamp, sent_at timestamp, last_error varchar, next_attempt_at timestamp, message_id varchar, "
        "primary key (alert_id, channel))")
    assert table("raw.submissions").names_except("load_id")[-1] == "parser_version"
    with pytest.raises(KeyError, match=r"raw.submissions has no column\(s\) \['nope'\]"):
        table("raw.submissions").names_except("nope")
    with pytest.raises(KeyError, match=r"no table 'raw\.nope' is declared"):
        table("raw.nope")


def _project(tmp_path: Path, columns: str) -> Path:
    folder = tmp_path / "models" / "staging" / "x"
    folder.mkdir(parents=True)
    (folder / "_x__sources.yml").write_text(f"""
version: 2
sources:
  - name: x
    schema: raw
    tables:
      - name: t
        description: A table.
        columns:
{columns}
""", encoding="utf-8")
    return tmp_path


def test_a_declaration_is_read_as_written(tmp_path: Path) -> None:
    got = read_tables(_project(tmp_path, """
          - {name: a, data_type: varchar, constraints: [{type: primary_key}], description: "The  key."}
          - {name: b, data_type: double precision}
          - {name: c, data_type: date, constraints: [{type: not_null}]}"""))
    assert got == {"raw.t": Table("raw", "t", "A table.", "x", (
        Column("a", "varchar", False, True, "The key."), Column("b", "double precision", True, False, ""),
        Column("c", "date", False, False, "")))}


@pytest.mark.parametrize(("columns", "error"), [
    ("          - {name: a}", "raw.t.a: no data_type"),
    ("          - {name: a, data_type: int, constraints: [{type: check, expression: a > 0}]}",
     r"raw.t.a: constraint\(s\) \['check'\] are not supported"),
])
def test_a_declaration_that_cannot_be_made_is_refused(tmp_path: Path, columns: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        read_tables(_project(tmp_path, columns))


def test_a_column_declared_since_is_added_to_an_older_warehouse(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with warehouse.connect(path) as con:  # ops.alert_log as first released, with a row: no attachments column
        warehouse.execute(con, "create schema ops")
        warehouse.execute(con, table("ops.alert_log").ddl().replace(", attachments varchar", "")
                          .replace(", in_reply_to varchar", ""))
        warehouse.execute(con, """insert into ops.alert_log (alert_id, kind, recipient, channel, subject, body,
                                  reason, created_at, send_status) values ('a', 'overdue', 'x@y', 'email', 's', 'b',
                                  'r', timestamp '2025-01-01', 'sent')""")
    with warehouse.connect(path) as con:
        warehouse.ensure_schema(con)
        warehouse.ensure_schema(con)  # idempotent
        rows = warehouse.execute(con, "select alert_id, attachments from ops.alert_log").fetchall()
        columns = [r[0] for r in warehouse.execute(con, """select column_name from information_schema.columns
            where table_schema = 'ops' and table_name = 'alert_log' order by ordinal_position""").fetchall()]
    assert rows == [("a", None)]
    assert columns == table("ops.alert_log").names


def test_every_dbt_relation_name_fits_postgres() -> None:
    """Postgres cuts identifiers at 63 bytes and dbt refuses a longer relation: models and unit tests (a unit test
    is built as a relation of its own name) stay within it, on both warehouses."""
    import yaml

    from ingest.settings import DBT_PROJECT_DIR

    names = [p.stem for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")]
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names += [u["name"] for u in spec.get("unit_tests") or []]
    assert names and [n for n in names if len(n.encode()) > 63] == []
