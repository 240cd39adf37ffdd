"""The production deployment files: docker-compose.yaml as Compose itself reads it, the Dockerfile, .env.example.

Docker's engine is not available on these machines; Compose's `config` reads, validates and interpolates the file
without one (Debian's `docker-compose` 1.29, installed by .ci/run, or the `docker compose` plugin).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from ingest.settings import REPO_DIR

AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}
SECRETS = ("POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD",
           "WAREHOUSE_PASSWORD", "ANALYST_PASSWORD")


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    pytest.fail("Compose is needed to check docker-compose.yaml and is missing: install Debian's docker-compose "
                "(apt-get install -y docker-compose; .ci/run does) or the docker compose plugin")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`compose config` of the repository's file with .env.example as the .env a user would copy."""
    folder = tmp_path_factory.mktemp("compose")
    for name in ("docker-compose.yaml", "Dockerfile"):
        shutil.copy(REPO_DIR / name, folder / name)
    env = (REPO_DIR / ".env.example").read_text(encoding="utf-8")
    (folder / ".env").write_text(env.replace("change-me", "s3cret-for-the-test"), encoding="utf-8")
    done = subprocess.run([*compose_command(), "config"], cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_every_component_is_a_service(config: dict) -> None:
    assert set(config["services"]) == {"postgres", "redis", *AIRFLOW_SERVICES}
    commands = {name: config["services"][name].get("command") for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert {k: " ".join(v) if isinstance(v, list) else v for k, v in commands.items()} == {
        "airflow-apiserver": "api-server", "airflow-scheduler": "scheduler", "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer", "airflow-worker": "celery worker --concurrency 2"}


def test_airflow_runs_on_postgres_celery_and_redis_with_the_secrets_from_env(config: dict) -> None:
    for name in AIRFLOW_SERVICES:
        env = config["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
            "postgresql+psycopg2://airflow:s3cret-for-the-test@postgres:5432/airflow")
        # psycopg2 named: SQLAlchemy 2.1's default Postgres driver is psycopg 3, which the image does not carry
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == (
            "db+postgresql+psycopg2://airflow:s3cret-for-the-test@postgres:5432/airflow")
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
        assert env["AIRFLOW__CORE__FERNET_KEY"] == env["AIRFLOW__API_AUTH__JWT_SECRET"] == "s3cret-for-the-test"
        assert env["SECTORSTATS_DATA_DIR"] == "/data"
        # the warehouse in Postgres, as the pipeline's own role (what make test-prod runs)
        assert env["SECTORSTATS_WAREHOUSE_URL"] == (
            "postgresql+psycopg2://sectorstats:s3cret-for-the-test@postgres:5432/sectorstats")
        assert ("SECTORSTATS_WAREHOUSE_ADMIN_URL" in env) == (name == "airflow-init")  # the administrator: init only
        assert {v.split(":")[1] for v in _volumes(config["services"][name])} >= {"/data", "/opt/airflow/logs"}


def test_long_running_services_have_health_checks_and_start_after_init(config: dict) -> None:
    for name, service in config["services"].items():
        if name == "airflow-init":
            assert service["restart"] == "no"
            continue
        assert service["healthcheck"]["test"], name
        if name in AIRFLOW_SERVICES:
            assert service["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
            assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_init_migrates_creates_the_pool_the_admin_login_and_the_warehouse_roles(config: dict) -> None:
    script = "\n".join(config["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script
    assert 'airflow pools set sectorstats_warehouse 1' in script
    assert "AIRFLOW_ADMIN_PASSWORD" in script
    assert "python -m ingest warehouse-roles" in script
    env = config["services"]["airflow-init"]["environment"]
    assert env["SECTORSTATS_WAREHOUSE_ADMIN_URL"] == (
        "postgresql+psycopg2://airflow:s3cret-for-the-test@postgres:5432/airflow")
    assert (env["SECTORSTATS_ANALYST_ROLE"], env["SECTORSTATS_ANALYST_PASSWORD"]) == (
        "sectorstats_analyst", "s3cret-for-the-test")


def test_no_secret_is_written_in_the_repository() -> None:
    compose = (REPO_DIR / "docker-compose.yaml").read_text(encoding="utf-8")
    for name in SECRETS:
        assert not re.search(rf"{name}:\s*[^$\s]", compose), name  # only ever ${...} from .env
    example = dict(line.split("=", 1) for line in (REPO_DIR / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    assert {example[name] for name in SECRETS} == {"change-me"}
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_DIR).returncode == 0
    assert ignored or not (REPO_DIR / ".git").exists()


def test_the_image_installs_the_locked_dependencies_as_make_does() -> None:
    dockerfile = (REPO_DIR / "Dockerfile").read_text(encoding="utf-8")
    makefile = (REPO_DIR / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*-c requirements\.lock -e \"\.\[prod\]\"", dockerfile)
    assert re.search(r"pip install -c requirements\.lock -e \"\.\[[a-z,]*prod[a-z,]*\]\"", makefile)
    assert dockerfile.startswith("#") and "FROM python:3.11-" in dockerfile


def _volumes(service: dict) -> list[str]:
    out = []
    for v in service.get("volumes", []):
        out.append(v if isinstance(v, str) else f"{v['source']}:{v['target']}")
    return out
