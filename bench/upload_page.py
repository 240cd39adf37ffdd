"""Benchmark: the upload page's answer time, from sending a normal report to seeing its verdict, on this machine.

    .venv/bin/python bench/upload_page.py [--uploads 20]

Builds a warehouse snapshot the way the DAGs do (Can Lộc's form 01 for January to November 2024 through
``run_ingest``, the calendar built and published with dbt), starts the page as production runs it
(``python -m ingest upload-page``, its own process, uvicorn, the Great Expectations validator warmed at start), logs
in over HTTP and uploads December's report ``--uploads`` times after two warm-up uploads. Each time is the POST
(receive, deliver into the inbox, parse in a worker, validate with the unit's eleven earlier months) plus the GET of
the verdict page it redirects to. Prints the median (the issue's target: under 3 s), the spread, the server's own
split (``Server-Timing``) and what a validator costs to create cold. A benchmark, not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from ingest.catalogue import load_catalogue
from tests.integration.helpers import at, consistent_values, free_port, put

REPO = Path(__file__).resolve().parents[1]


def snapshot(data: Path) -> None:
    """Eleven months of Can Lộc's form 01 through the pipeline, the calendar built and published."""
    from ingest.marts.calendar import build_calendar
    from ingest.pipeline import run_ingest

    form = load_catalogue().form("01/LĐVL-H")
    for month in range(1, 12):
        put(data / "inbox", "443", f"bieu01_T{month}.xlsx", form.code, "443", dt.date(2024, month, 1),
            consistent_values(form, 7, month), at(f"2024-{month + 1:02d}-05"))
    run_ingest("bench-upload-page")
    build_calendar(dt.date(2024, 12, 31))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (data, the page's log)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-upload-page-"))
    data = work / "data"
    env = {**os.environ, "SECTORSTATS_DATA_DIR": str(data), "SECTORSTATS_AS_OF": "2024-12-31",
           "SECTORSTATS_INBOX_SETTLE_SECONDS": "0", "PYTHONPATH": str(REPO)}
    for name in ("SECTORSTATS_WAREHOUSE", "SECTORSTATS_WAREHOUSE_URL", "SECTORSTATS_INBOX_DIR", "SECTORSTATS_INBOX_URL",
                 "SECTORSTATS_PARSE_WORKERS"):
        env.pop(name, None)
    os.environ.clear()
    os.environ.update(env)
    print(f"building the warehouse snapshot in {data} …", flush=True)
    snapshot(data)

    from ingest.doors.upload.accounts import UNIT, AccountStore
    from ingest.tell.official_forms import form_bytes

    _, password = AccountStore().add("443", UNIT, "443")
    cat = load_catalogue()
    form = cat.form("01/LĐVL-H")
    december = form_bytes(form, cat.unit("443"), dt.date(2024, 12, 1), consistent_values(form, 7, 12)).data

    port = free_port()
    log = work / "upload-page.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "ingest", "-v", "upload-page", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                return 1
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=60) as client:
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
            client.post("/login", data={"csrf": token, "name": "443", "password": password})
            times, splits, first = [], [], float("nan")
            for i in range(2 + args.uploads):
                csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
                started = time.perf_counter()
                answer = client.post("/upload", data={"csrf": csrf},
                                     files={"file": ("Bieu 01 thang 12.xlsx", december)}, follow_redirects=False)
                page = client.get(answer.headers["location"])
                seconds = time.perf_counter() - started
                status = re.search(r'data-status="([a-z_]+)"', page.text).group(1)
                if status != "accepted":
                    print(f"upload {i}: {status}, not accepted", file=sys.stderr)
                    return 1
                if i == 0:
                    first = seconds
                if i >= 2:
                    times.append(seconds)
                    splits.append(dict(re.findall(r"(\w+);dur=(\d+)", answer.headers["server-timing"])))
    finally:
        server.terminate()
        server.wait(timeout=30)
    said = log.read_text(errors="replace")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    median = statistics.median(times)
    ordered = sorted(times)
    p90 = ordered[max(0, int(0.9 * len(ordered)) - 1)]
    parse = statistics.median(float(s["parse"]) for s in splits) / 1000
    validate = statistics.median(float(s["validate"]) for s in splits) / 1000
    print(f"upload to verdict, a normal form (01/LĐVL-H, December 2024, 11 earlier months in the snapshot), "
          f"median of {len(times)}: {median:.2f} s (min {ordered[0]:.2f}, p90 {p90:.2f}, max {ordered[-1]:.2f}); "
          "target < 3 s")
    print(f"  on the server (medians): parse in a worker process {parse:.2f} s, validation {validate:.2f} s; "
          f"the first upload after the page started: {first:.2f} s")
    warm = re.search(r"validator ready in ([\d.]+) s", said)
    if warm:
        rehearsal = re.search(r"rules rehearsed in ([\d.]+) s", said)
        print(f"  at the page's start-up: the Great Expectations validator created in {float(warm.group(1)):.2f} s, "
              f"the rules rehearsed once in {float(rehearsal.group(1)) if rehearsal else float('nan'):.2f} s "
              "(kept warm: no upload pays either)")
    if args.keep:
        print(f"  (work folder: {work})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
