# sectorstats — the two commands: `make run` and `make test`. Everything else is a helper of those.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
# Everything the pipeline writes (inbox, archive, warehouse, reports, Airflow's home): SECTORSTATS_DATA_DIR, as the
# library reads it, made absolute here so that every target and every process it starts agree on it.
SECTORSTATS_DATA_DIR ?= $(CURDIR)/data
DATA_DIR := $(abspath $(SECTORSTATS_DATA_DIR))
# The demo submissions cover 2024; as of the end of January 2025 every 2024 report is due.
DEMO_AS_OF ?= 2025-01-31
# `make run` ends with the province's own reports of this month (a quarterly form's: its quarter), from the marts.
PROVINCE_REPORT_MONTH ?= 2024-12

override SECTORSTATS_DATA_DIR := $(DATA_DIR)
export SECTORSTATS_DATA_DIR
export AIRFLOW_HOME := $(DATA_DIR)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= WARNING
export GX_ANALYTICS_ENABLED := False
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1


.PHONY: help install system-deps run demo ingest reprocess transform summary templates airflow-db airflow docs generate test test-prod test-unit lint clean bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing locked dependencies into $(VENV) (log: $(VENV)/install.log)"
	@{ $(PY) -m pip install --upgrade "pip>=24" && $(PY) -m pip install -c requirements.lock -e ".[dev,prod]"; } \
		> $(VENV)/install.log 2>&1 || { grep -v "^WARNING: Location" $(VENV)/install.log | tail -40; exit 1; }
	@touch $@

install: $(VENV)/.installed  ## create the virtualenv and install the locked dependencies

system-deps:  ## the Debian packages the tests need (Chromium, Compose, …), installed when missing (.ci/system-deps)
	@.ci/system-deps

airflow-db: install
	@mkdir -p $(AIRFLOW_HOME)
	@$(VENV)/bin/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -30 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }
	@$(VENV)/bin/airflow pools set sectorstats_warehouse 1 "tasks that open the DuckDB warehouse (one writer)" \
		>> $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -30 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }

demo: install  ## fill an empty inbox with demo submissions
	$(PY) -m devtools demo --if-empty

run: install demo airflow-db  ## set up, then run the DAGs on the inbox (SQLite metadata, DuckDB warehouse)
	@mkdir -p $(DATA_DIR)/logs
	@echo "running DAG sectorstats_ingest (log: $(DATA_DIR)/logs/sectorstats_ingest.log)"
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(VENV)/bin/airflow dags test sectorstats_ingest \
		> $(DATA_DIR)/logs/sectorstats_ingest.log 2>&1 || { tail -40 $(DATA_DIR)/logs/sectorstats_ingest.log; exit 1; }
	@echo "running DAG sectorstats_transform (log: $(DATA_DIR)/logs/sectorstats_transform.log)"
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(VENV)/bin/airflow dags test sectorstats_transform \
		> $(DATA_DIR)/logs/sectorstats_transform.log 2>&1 || { tail -40 $(DATA_DIR)/logs/sectorstats_transform.log; exit 1; }
	@echo "running DAG sectorstats_monitor (log: $(DATA_DIR)/logs/sectorstats_monitor.log)"
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(VENV)/bin/airflow dags test sectorstats_monitor \
		> $(DATA_DIR)/logs/sectorstats_monitor.log 2>&1 || { tail -40 $(DATA_DIR)/logs/sectorstats_monitor.log; exit 1; }
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(PY) -m ingest summary
	@echo "province reports of $(PROVINCE_REPORT_MONTH) (a quarterly form: its quarter), form + narrative:"
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(PY) -m ingest province-report \
		--period $(PROVINCE_REPORT_MONTH) --month-of-period
	@echo "status page:    $(DATA_DIR)/reports/status.html"
	@echo "indicator page: $(DATA_DIR)/reports/indicators.html"

# `make airflow`: the UI and the scheduler, on this machine only. Airflow's simple auth manager keeps the password of
# each user in a JSON file; it is written here on first start so that it can be printed every time (edit the file to
# choose your own password, delete it for a new one). Two users: admin, and upload_page (role op, the least that may
# post asset events), whose account the upload page uses to announce each delivered file (ingest/doors/announcements.py).
AIRFLOW_PORT ?= 8080
UPLOAD_PORT ?= 8090
AIRFLOW_PASSWORDS := $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated
define AIRFLOW_PASSWORD_PY
import json, pathlib, secrets, sys
f = pathlib.Path(sys.argv[1])
pw = json.loads(f.read_text() or "{}") if f.exists() else {}
user = sys.argv[2]
if user not in pw:
    pw[user] = secrets.token_urlsafe(12)
    f.write_text(json.dumps(pw) + "\n")
    f.chmod(0o600)
print(pw[user])
endef
airflow: export AIRFLOW_PASSWORD_PY := $(AIRFLOW_PASSWORD_PY)
airflow: export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS := admin:admin,upload_page:op
airflow: export AIRFLOW__API__HOST := 127.0.0.1
airflow: export AIRFLOW__API__PORT := $(AIRFLOW_PORT)
airflow: export AIRFLOW__CORE__EXECUTION_API_SERVER_URL := http://127.0.0.1:$(AIRFLOW_PORT)/execution/
# the DAGs run one task at a time (one DuckDB writer): no need for 32 idle worker slots
airflow: export AIRFLOW__CORE__PARALLELISM := 4

airflow: install demo airflow-db  ## Airflow UI + scheduler on http://localhost:8080 (AIRFLOW_PORT=...), and the districts' upload page on :8090 (UPLOAD_PORT=...); Ctrl-C stops both
	@password=$$($(PY) -c "$$AIRFLOW_PASSWORD_PY" "$(AIRFLOW_PASSWORDS)" admin); \
	echo ""; \
	echo "  Airflow UI: http://localhost:$(AIRFLOW_PORT)   user: admin   password: $$password"; \
	echo "              (the password is kept in $(AIRFLOW_PASSWORDS))"; \
	echo "  Upload page for districts: http://localhost:$(UPLOAD_PORT)   (its own process, beside Airflow)"; \
	echo "              accounts: $(PY) -m ingest accounts add --unit 443   (prints the password once)"; \
	echo "  The DAGs start paused: switch sectorstats_ingest, sectorstats_transform and sectorstats_monitor on"; \
	echo "  in the UI, or"; \
	echo "    AIRFLOW_HOME=$(AIRFLOW_HOME) $(VENV)/bin/airflow dags unpause sectorstats_ingest"; \
	echo "  Task logs: $(AIRFLOW_HOME)/logs/ (and in the UI). Ready when 'Airflow is ready' shows; Ctrl-C stops."; \
	echo ""
	@mkdir -p $(DATA_DIR)/logs
	@# the page announces each delivered file to Airflow's API, so the ingest DAG starts at once
	@password=$$($(PY) -c "$$AIRFLOW_PASSWORD_PY" "$(AIRFLOW_PASSWORDS)" upload_page); \
		AIRFLOW_CONN_SECTORSTATS_AIRFLOW_API="http://upload_page:$$password@127.0.0.1:$(AIRFLOW_PORT)" \
		$(PY) -m ingest upload-page --port $(UPLOAD_PORT) > $(DATA_DIR)/logs/upload_page.log 2>&1 & page=$$!; \
		trap 'kill $$page 2>/dev/null' EXIT; \
		PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} \
		$(VENV)/bin/airflow standalone

ingest: install  ## archive, parse, validate and load without Airflow
	$(PY) -m ingest ingest

# Reprocess archived reports (after a rule or catalogue change): make reprocess FROM=2024-01 TO=2024-06
# (both optional: all periods when left out), through the real DAGs, then rebuild the marts.
reprocess: install airflow-db  ## parse and validate archived reports again (FROM=YYYY-MM TO=YYYY-MM), rebuild marts
	@mkdir -p $(DATA_DIR)/logs
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(VENV)/bin/airflow dags test sectorstats_ingest \
		-c '{"reprocess": true, "from_period": $(if $(FROM),"$(FROM)",null), "to_period": $(if $(TO),"$(TO)",null)}' \
		> $(DATA_DIR)/logs/sectorstats_reprocess.log 2>&1 || { tail -40 $(DATA_DIR)/logs/sectorstats_reprocess.log; exit 1; }
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(VENV)/bin/airflow dags test sectorstats_transform \
		> $(DATA_DIR)/logs/sectorstats_transform.log 2>&1 || { tail -40 $(DATA_DIR)/logs/sectorstats_transform.log; exit 1; }
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(PY) -m ingest summary

transform: install  ## dbt build without Airflow: seeds, models and data tests
	SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(PY) -m ingest transform

summary: install  ## print the per-form summary
	@SECTORSTATS_AS_OF=$${SECTORSTATS_AS_OF:-$(DEMO_AS_OF)} $(PY) -m ingest summary

templates: install  ## write the blank official forms into data/reports/templates/
	$(PY) -m ingest templates

docs: install  ## Great Expectations Data Docs (suites and validation results) → data/gx/data_docs/index.html
	$(PY) -m ingest data-docs

generate: install  ## write everything generated (GX suites, domain marts, docs) after a catalogue or table change
	$(PY) -m devtools generate

test: install system-deps  ## lint, then every test (unit, property, integration with real DAGs); installs what they need
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

test-prod: install  ## the production configuration (Postgres metadata and warehouse, Celery, Redis, two workers) on this machine's services
	SECTORSTATS_TEST_PROD=1 $(PY) -m pytest tests/prod

test-unit: install  ## the fast tests only
	$(PY) -m pytest -m "not integration"

# Benchmarks (issue 7): the real DAGs on a generated, cached inbox (bench/.cache, or SECTORSTATS_BENCH_DIR), per
# stage, against a naive baseline and a floor; the report goes to bench/results/. SCALE: province-month (default),
# province-year, national-year (BENCH_ARGS="--sample 3000 --jobs 2" for a part of it).
SCALE ?= province-month
bench: install  ## benchmark the pipeline (SCALE=province-month|province-year|national-year), report in bench/results/
	nice -n 19 $(PY) -m bench.run --scale $(SCALE) $(BENCH_ARGS)

lint: install  ## ruff
	$(VENV)/bin/ruff check .

clean:  ## remove the data directory (inbox included!) and the virtualenv
	rm -rf $(DATA_DIR) $(VENV)
