# sectorstats: one image for every Airflow component of the production deployment (docker-compose.yaml).
# It installs exactly what `make run` installs: requirements.lock as constraints, the project with its extras.
FROM python:3.11-slim-bookworm

ARG AIRFLOW_UID=50000
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    SECTORSTATS_HOME=/opt/sectorstats \
    SECTORSTATS_DATA_DIR=/data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/sectorstats/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    GX_ANALYTICS_ENABLED=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    DO_NOT_TRACK=1

# curl for the health checks; tini reaps the Celery worker's children
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid "${AIRFLOW_UID}" --gid 0 --create-home --home-dir /home/airflow airflow \
    && mkdir -p /opt/airflow /data \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow /data

WORKDIR /opt/sectorstats
COPY --chown=${AIRFLOW_UID}:0 . .
# the same command as `make install`, with the production extra (Celery, Redis, Postgres) instead of the tests'
RUN python -m pip install --no-cache-dir --upgrade "pip>=24" \
    && python -m pip install --no-cache-dir -c requirements.lock -e ".[prod]" \
    && python -m pip check

USER ${AIRFLOW_UID}
ENTRYPOINT ["/usr/bin/tini", "--", "airflow"]
CMD ["version"]
