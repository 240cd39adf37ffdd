"""The roles of a Postgres warehouse: the pipeline's role owns every schema, analysts read the marts.

Run once per warehouse by its administrator, and again after a change here (every step is idempotent)::

    SECTORSTATS_WAREHOUSE_ADMIN_URL=postgresql+psycopg2://postgres:…@db/postgres \\
    SECTORSTATS_WAREHOUSE_URL=postgresql+psycopg2://sectorstats:…@db/sectorstats_warehouse \\
    SECTORSTATS_ANALYST_PASSWORD=… python -m ingest warehouse-roles

- the pipeline's role and password are those of ``SECTORSTATS_WAREHOUSE_URL`` (what the pipeline logs in with);
  the role is created (or its password set), and owns the warehouse database, which is created if missing;
- the schemas the pipeline writes (:data:`SCHEMAS`: raw and ops tables from ingest, the dbt schemas) are created
  owned by that role, so ``ensure_schema`` and dbt never need more than their own rights;
- the analysts' role (``SECTORSTATS_ANALYST_ROLE``, default ``sectorstats_analyst``, with
  ``SECTORSTATS_ANALYST_PASSWORD`` it can log in) may connect and read every table of :data:`ANALYST_SCHEMAS`:
  those there now, and through default privileges those dbt creates on every build (a table materialisation
  replaces the table). Its transactions are read-only by default, and it has no right to write anywhere.
"""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ingest import warehouse

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "ops", "reference", "staging", "intermediate", "marts")
ANALYST_SCHEMAS = ("marts",)
DEFAULT_ANALYST_ROLE = "sectorstats_analyst"


class RolesError(RuntimeError):
    pass


def _engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _ensure_role(con: sa.Connection, role: str, password: str | None) -> None:
    quoted = con.dialect.identifier_preparer.quote(role)
    exists = warehouse.execute(con, "select 1 from pg_roles where rolname = :role", {"role": role}).scalar()
    if not exists:
        warehouse.execute(con, f"create role {quoted} login")
        log.info("created role %s", role)
    if password:
        warehouse.execute(con, f"alter role {quoted} with login password :password", {"password": password})


def setup_roles(admin_url: str | sa.URL, warehouse_url: str | sa.URL, analyst_role: str = DEFAULT_ANALYST_ROLE,
                analyst_password: str | None = None) -> dict[str, str]:
    """Create or update the roles, the database and the schemas (see the module docstring). ``admin_url``: a role
    that may create roles and databases, connected to any database of the server."""
    admin, target = sa.make_url(admin_url), sa.make_url(warehouse_url)
    for name, url in (("SECTORSTATS_WAREHOUSE_ADMIN_URL", admin), ("SECTORSTATS_WAREHOUSE_URL", target)):
        if url.get_backend_name() != "postgresql":
            raise RolesError(f"{name} must be a postgresql:// URL, not {url.get_backend_name()}://")
    pipeline, database = target.username, target.database
    if not pipeline or not database:
        raise RolesError("SECTORSTATS_WAREHOUSE_URL must name the pipeline's user and the database")
    if analyst_role == pipeline:
        raise RolesError(f"the analysts' role must not be the pipeline's ({pipeline})")
    server = _engine(admin)
    try:
        with server.connect() as con:
            q = con.dialect.identifier_preparer.quote
            _ensure_role(con, pipeline, target.password)
            _ensure_role(con, analyst_role, analyst_password)
            warehouse.execute(con, f"alter role {q(analyst_role)} set default_transaction_read_only = on")
            if not warehouse.execute(con, "select 1 from pg_database where datname = :db", {"db": database}).scalar():
                warehouse.execute(con, f"create database {q(database)} owner {q(pipeline)}")
                log.info("created database %s", database)
    finally:
        server.dispose()
    db = _engine(admin.set(database=database))
    try:
        with db.connect() as con:
            q = con.dialect.identifier_preparer.quote
            p, a = q(pipeline), q(analyst_role)
            warehouse.execute(con, f"alter database {q(database)} owner to {p}")
            warehouse.execute(con, f"revoke all on database {q(database)} from public")
            warehouse.execute(con, f"grant connect, temporary on database {q(database)} to {a}")
            warehouse.execute(con, "revoke create on schema public from public")
            for schema in SCHEMAS:
                warehouse.execute(con, f"create schema if not exists {q(schema)} authorization {p}")
                warehouse.execute(con, f"alter schema {q(schema)} owner to {p}")
                warehouse.execute(con, f"revoke all on schema {q(schema)} from public")
            for schema in ANALYST_SCHEMAS:
                warehouse.execute(con, f"grant usage on schema {q(schema)} to {a}")
                warehouse.execute(con, f"grant select on all tables in schema {q(schema)} to {a}")
                warehouse.execute(con, f"alter default privileges for role {p} in schema {q(schema)} "
                                       f"grant select on tables to {a}")
    finally:
        db.dispose()
    log.info("warehouse %s: schemas %s owned by %s; %s reads %s", database, ", ".join(SCHEMAS), pipeline,
             analyst_role, ", ".join(ANALYST_SCHEMAS))
    return {"database": database, "pipeline_role": pipeline, "analyst_role": analyst_role}


def setup_roles_from_environment() -> dict[str, str]:
    """:func:`setup_roles` with the settings of the module docstring (secrets from the environment, never argv)."""
    admin = os.environ.get("SECTORSTATS_WAREHOUSE_ADMIN_URL", "").strip()
    if not admin:
        raise RolesError("set SECTORSTATS_WAREHOUSE_ADMIN_URL to a Postgres administrator's URL")
    return setup_roles(admin, warehouse.url(), os.environ.get("SECTORSTATS_ANALYST_ROLE") or DEFAULT_ANALYST_ROLE,
                       os.environ.get("SECTORSTATS_ANALYST_PASSWORD") or None)
