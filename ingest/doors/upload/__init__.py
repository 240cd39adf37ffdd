"""The upload page: districts log in, see what their unit owes, upload a report and get a verdict in seconds.

A small FastAPI application (:mod:`.app`), run **beside** Airflow as its own process
(``python -m ingest upload-page [--host 127.0.0.1 --port 8090]``, served by uvicorn), not as an Airflow 3 FastAPI
plugin. A plugin runs inside Airflow's API server, which holds the metadata database and the admin UI; the door
districts use must be exposable on the internet behind a reverse proxy while Airflow stays internal, and a hostile
upload must never touch the API server's process. Here the page holds no Airflow credential and no writable
warehouse connection: it reads the warehouse read-only, runs the reader in worker processes under the reading
limits, and delivers into the inbox folder, from which the ingest DAG takes the file like any other.

- :mod:`.accounts`: one account per unit and one for the province, in ``$SECTORSTATS_DATA_DIR/doors/``, passwords
  hashed with scrypt, failed logins throttled (``python -m ingest accounts …``);
- :mod:`.sessions`: server-side sessions (hashed tokens, idle and absolute expiry) and their CSRF tokens;
- :mod:`.source`: what the page reads from the warehouse, read-only (the analysts' snapshot on DuckDB);
- :mod:`.receive`: the upload body, streamed to a temporary file under a size cap, the CSRF token checked first;
- :mod:`.preview`: the parse and validate stages' own code on the one file, without writing the warehouse;
- :mod:`.delivery`: the file into ``inbox/<unit>/`` (never overwriting anything) and the log of uploads;
- :mod:`.texts`: the page's words, from ``ingest/catalogue/upload_page.yaml`` (Vietnamese, English).

What the page tells is a preview: the verdict recorded is the DAG's, e-mailed as for every other file and shown on
the page once loaded.
"""
