"""ingest.warehouse.roles: what it refuses before touching a server (the roles themselves: tests/prod)."""

from __future__ import annotations

import pytest

from ingest import cli
from ingest.warehouse.roles import RolesError, setup_roles

ADMIN = "postgresql+psycopg2://postgres@db.invalid/postgres"
PIPELINE = "postgresql+psycopg2://sectorstats:pw@db.invalid/sectorstats"


@pytest.mark.parametrize(("admin", "target", "analyst", "message"), [
    (ADMIN, "duckdb:////srv/warehouse.duckdb", "analyst",
     "SECTORSTATS_WAREHOUSE_URL must be a postgresql:// URL, not duckdb://"),
    ("sqlite:///x.db", PIPELINE, "analyst", "SECTORSTATS_WAREHOUSE_ADMIN_URL must be a postgresql:// URL, not sqlite://"),
    (ADMIN, "postgresql+psycopg2://db.invalid/sectorstats", "analyst",
     "SECTORSTATS_WAREHOUSE_URL must name the pipeline's user and the database"),
    (ADMIN, "postgresql+psycopg2://sectorstats@db.invalid", "analyst",
     "SECTORSTATS_WAREHOUSE_URL must name the pipeline's user and the database"),
    (ADMIN, PIPELINE, "sectorstats", "the analysts' role must not be the pipeline's (sectorstats)"),
])
def test_settings_that_cannot_work_are_refused_by_name(admin: str, target: str, analyst: str, message: str) -> None:
    with pytest.raises(RolesError) as caught:
        setup_roles(admin, target, analyst)
    assert str(caught.value) == message


def test_the_command_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("SECTORSTATS_WAREHOUSE_ADMIN_URL", raising=False)
    monkeypatch.setenv("SECTORSTATS_WAREHOUSE_URL", PIPELINE)
    assert cli.main(["warehouse-roles"]) == 2
    assert capsys.readouterr().err == (
        "warehouse-roles: set SECTORSTATS_WAREHOUSE_ADMIN_URL to a Postgres administrator's URL\n")
