"""gunicorn's configuration for the served benchmarks: the project's gunicorn.conf.py,
plus the CPU time each request took, for the benchmark to read.

A gthread worker serves a request in one thread from start to end, so
``time.thread_time()`` around it is the Python CPU the request cost, however
busy the machine was (wall time grows with every other process; this does not).
Each worker appends "<unix time> <method> <path> <cpu ms>" lines to
``$BENCH_CPU_LOG_DIR/cpu-<pid>.log`` (benchmarks._measure.request_cpu reads them).
"""

import os
import runpy
import threading
import time
from pathlib import Path

_project = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({name: value for name, value in _project.items() if not name.startswith("_")})

_lock = threading.Lock()
_log = None


def pre_request(worker, req):
    req.bench_cpu_started = time.thread_time()


def post_request(worker, req, environ, resp):
    global _log
    spent_ms = (time.thread_time() - req.bench_cpu_started) * 1000
    with _lock:
        if _log is None:
            folder = Path(os.environ["BENCH_CPU_LOG_DIR"])
            _log = open(folder / f"cpu-{os.getpid()}.log", "a", buffering=1)  # noqa: SIM115
        _log.write(f"{time.time():.3f} {req.method} {req.path} {spent_ms:.2f}\n")
