"""Parsing archived files in long-lived worker processes, each file under a time limit.

calamine is native code and cannot be interrupted from Python, so the only honest per-file time limit is
a process that can be killed. Starting a process per file would cost far more than parsing one (a form
parses in a few milliseconds), so a few long-lived workers each take a chunk of files and send back one
result per file; the parent gives each file ``max_seconds`` from the moment the worker's previous result
(or the chunk) arrived, and when a worker overruns it is killed, the file is recorded as ``file-timeout``,
the rest of its chunk goes back to the queue, and a fresh worker takes over. A worker that dies (native
code aborting, the address-space limit hit) costs its file an ``internal-error`` and is replaced the same
way. Results come back in the order of the input, whatever the order the workers finish in.

Workers are plain ``python -m ingest.read.workers`` processes talking over a socket pair, not
``multiprocessing`` children: those re-import the caller's main module (an unguarded script starts
pools recursively) and ``fork`` is unsafe in a threaded host such as an Airflow task. A worker imports
the parse function's module once (``ingest.pipeline``: ~0.8 s) and then serves every chunk of the run.

A received file is never read in the calling process (a scheduler, an Airflow task): even a load of one
file gets a worker, so its memory cap (``RLIMIT_AS``) and time limit always hold. A worker that runs out of
memory costs its file a ``file-too-complex`` problem ("send a simpler file"), found from the Python
``MemoryError`` or from native code's own report on the worker's stderr ("memory allocation of … failed");
any other death is an ``internal-error``. ``workers=0`` (``SECTORSTATS_PARSE_WORKERS=0``) runs everything in
the calling process with neither limit: for tests that patch the parser, and for a debugger, never for a
deployment.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ingest.catalogue.problems import Problem
from ingest.read.limits import Limits, current_limits, human_bytes
from ingest.settings import count_setting

log = logging.getLogger(__name__)

Parse = Callable[[bytes], Any]


# what Rust's allocator prints before it aborts the process (a backtrace may follow)
_OUT_OF_MEMORY = re.compile(rb"^memory allocation of \d+ bytes failed\s*$", re.MULTILINE)
_STDERR_TAIL = 8192


def default_workers() -> int:
    """``SECTORSTATS_PARSE_WORKERS``, else the number of CPUs this process may use (0: in this process)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return count_setting("SECTORSTATS_PARSE_WORKERS", cpus, minimum=0)


def out_of_memory(limits: Limits) -> Problem:
    """The problem of a file whose reading outgrew the worker's memory cap."""
    cap = human_bytes(limits.worker_memory_bytes) if limits.worker_memory_bytes else "the machine's memory"
    return Problem.at("file-too-complex", detail=f"reading it needed more than {cap}", expected=cap)


def read_file(path: Path, limits: Limits) -> bytes | Problem:
    """The file's bytes, or ``file-too-large`` decided from its size without reading it."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        return Problem.at("file-too-large", detail=f"{size} bytes", value=human_bytes(size),
                          expected=human_bytes(limits.max_file_bytes))
    return path.read_bytes()


def _parse_path(path: Path, parse: Parse, limits: Limits) -> Any:
    data = read_file(path, limits)
    return data if isinstance(data, Problem) else parse(data)


def _serve(conn: Connection) -> None:
    """Worker loop: first (run, limits); then a chunk [(index, item)] → (index, run(item)) each; ``None`` ends."""
    run, limits = conn.recv()
    if limits.worker_memory_bytes:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limits.worker_memory_bytes, limits.worker_memory_bytes))
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        for index, item in chunk:
            conn.send((index, _run_one(run, item, limits)))


def _run_one(run: Callable[[Any], Any], item: Any, limits: Limits) -> Any:
    """``run(item)``; running out of memory is the item's problem, and so is any other exception (logged)."""
    try:
        return run(item)
    except MemoryError:
        return out_of_memory(limits)
    except Exception as exc:
        traceback.print_exc()  # to the worker's stderr, which the parent logs
        return Problem.at("internal-error", detail=f"{type(exc).__name__}: {exc}"[:300])


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection
    stderr: Any  # a temporary file: what the worker printed, logged when it ends, read to learn why it died
    tasks: deque[int] = field(default_factory=deque)
    since: float = 0.0  # when the file at the head of ``tasks`` was handed over (or its predecessor came back)


class _Pool:
    def __init__(self, run: Callable[[Any], Any], workers: int, limits: Limits) -> None:
        self.run, self.size, self.limits = run, workers, limits
        self.workers: list[_Worker] = []
        # the workers import what this process can: the same package, the parse function's module
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))}

    def start_worker(self) -> _Worker:
        ours, theirs = socket.socketpair()
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker; closed in retire()
        with ours, theirs:
            proc = subprocess.Popen([sys.executable, "-m", "ingest.read.workers", str(theirs.fileno())],
                                    pass_fds=[theirs.fileno()], env=self.env, stdin=subprocess.DEVNULL,
                                    stderr=stderr)
            conn = Connection(ours.detach())
        conn.send((self.run, self.limits))
        worker = _Worker(proc, conn, stderr)
        self.workers.append(worker)
        return worker

    def retire(self, worker: _Worker, *, kill: bool) -> None:
        self.workers.remove(worker)
        if kill:
            worker.process.kill()
        else:
            with contextlib.suppress(BrokenPipeError, OSError):
                worker.conn.send(None)
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        worker.conn.close()
        said = stderr_tail(worker).decode("utf-8", "replace").strip()
        if said:
            log.warning("parse worker %d said:\n%s", worker.process.pid, said)
        worker.stderr.close()

    def close(self) -> None:
        for worker in list(self.workers):
            self.retire(worker, kill=bool(worker.tasks))


def stderr_tail(worker: _Worker) -> bytes:
    """The last few KB the worker wrote to its stderr."""
    size = worker.stderr.seek(0, os.SEEK_END)
    worker.stderr.seek(max(0, size - _STDERR_TAIL))
    return worker.stderr.read()


def _death(worker: _Worker, code: int | None, limits: Limits) -> Problem:
    """Why a worker died, as its file's problem: out of memory (native code said so), else an internal error."""
    if _OUT_OF_MEMORY.search(stderr_tail(worker)):
        return out_of_memory(limits)
    return Problem.at("internal-error", detail=f"the reader process stopped (exit code {code})")


def parse_paths(paths: Sequence[Path], parse: Parse, *, workers: int | None = None, limits: Limits | None = None,
                chunk: int | None = None) -> Iterator[Any]:
    """``parse(bytes)`` of every file, in the order of ``paths``; with ``workers`` > 1 in worker processes.

    ``parse`` must be a module-level function when ``workers`` > 1 (it is sent to the workers by name).
    A file over the size limit is never read; one over the time limit is a ``file-timeout`` Problem.
    """
    limits = limits or current_limits()
    return map_in_workers(paths, functools.partial(_parse_path, parse=parse, limits=limits), workers=workers,
                          limits=limits, chunk=chunk)


def map_in_workers(items: Sequence[Any], run: Callable[[Any], Any], *, workers: int | None = None,
                   limits: Limits | None = None, chunk: int | None = None) -> Iterator[Any]:
    """``run(item)`` of every item, in order, in worker processes (each item under the time limit and the memory
    cap; a worker that dies costs its item a Problem); ``workers=0`` runs them here, unprotected (tests,
    debuggers). ``run`` and the items must pickle: module-level functions, ``functools.partial`` of them,
    plain data."""
    limits = limits or current_limits()
    workers = default_workers() if workers is None else workers
    if workers <= 0:
        for item in items:
            yield run(item)
        return
    if not items:
        return
    workers = min(workers, len(items))
    chunk = chunk or max(1, min(16, len(items) // (workers * 4)))
    queue: deque[int] = deque(range(len(items)))
    results: dict[int, Any] = {}
    next_out = 0
    pool = _Pool(run, workers, limits)
    try:
        while next_out < len(items):
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
            if next_out >= len(items):
                break
            _dispatch(pool, queue, items, chunk)
            _collect(pool, queue, results, limits)
    finally:
        pool.close()


def _dispatch(pool: _Pool, queue: deque[int], items: Sequence[Any], chunk: int) -> None:
    while queue and (len(pool.workers) < pool.size or any(not w.tasks for w in pool.workers)):
        worker = next((w for w in pool.workers if not w.tasks), None) or pool.start_worker()
        batch = [queue.popleft() for _ in range(min(chunk, len(queue)))]
        worker.tasks.extend(batch)
        worker.since = time.monotonic()
        worker.conn.send([(i, items[i]) for i in batch])


def _collect(pool: _Pool, queue: deque[int], results: dict[int, Any], limits: Limits) -> None:
    busy = [w for w in pool.workers if w.tasks]
    if not busy:
        return
    now = time.monotonic()
    timeout = max(0.0, min(w.since + limits.max_seconds for w in busy) - now)
    ready = wait([w.conn for w in busy], timeout=timeout)
    for worker in busy:
        if worker.conn in ready:
            try:
                index, result = worker.conn.recv()
            except (EOFError, OSError):
                try:
                    code = worker.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = None
                head = worker.tasks.popleft()
                log.error("parse worker died on file #%d (exit code %s); starting another", head, code)
                results[head] = _death(worker, code, limits)
                queue.extendleft(reversed(worker.tasks))
                worker.tasks.clear()
                pool.retire(worker, kill=True)
                continue
            worker.tasks.remove(index)
            results[index] = result
            worker.since = time.monotonic()
        elif time.monotonic() >= worker.since + limits.max_seconds:
            head = worker.tasks.popleft()
            log.warning("file #%d took more than %.0f s: worker killed", head, limits.max_seconds)
            results[head] = Problem.at("file-timeout", detail=f"more than {limits.max_seconds:g} s",
                                       expected=f"{limits.max_seconds:g}")
            queue.extendleft(reversed(worker.tasks))
            worker.tasks.clear()
            pool.retire(worker, kill=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s (parse worker): %(message)s")
    _serve(Connection(int(sys.argv[1])))
