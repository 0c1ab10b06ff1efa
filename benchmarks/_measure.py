"""Where a served benchmark's time went, and what went wrong: the shop's CPU and the
machine's (/proc), each request's time in gunicorn (its access log) and its CPU
(benchmarks/gunicorn_bench.py's logs), the errors the gunicorn logs hold."""

import os
import re
from pathlib import Path

from benchmarks._serve import Processes, Site

TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (state is [0], ppid [1])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


class CpuMeter:
    """CPU seconds the shop has used so far: gunicorn (masters and their workers, those
    alive and those reaped), the balancer, the Celery workers, and the PostgreSQL
    backends of the run's database (a backend that exits between two samples is missed)."""

    def __init__(self, processes: Processes, database: str):
        self.processes, self.database = processes, database

    def sample(self) -> float:
        from django.db import connection

        masters = {
            process.pid
            for name, process, _log in self.processes.running
            if name.startswith(("gunicorn", "celery", "balancer"))
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database])
            backends = {pid for (pid,) in cursor.fetchall()}
        ticks = 0
        for pid in Path("/proc").iterdir():
            if not pid.name.isdigit():
                continue
            fields = _proc_stat(int(pid.name))
            if fields is None:
                continue
            number = int(pid.name)
            if number in masters or number in backends or int(fields[1]) in masters:
                ticks += int(fields[11]) + int(fields[12])  # its own
                if number in masters:
                    ticks += int(fields[13]) + int(fields[14])  # its reaped children's
        return ticks / TICKS

    @staticmethod
    def machine() -> float:
        """CPU seconds every core of the machine has been busy (/proc/stat), whoever ran."""
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return (sum(fields[:8]) - idle) / TICKS


ACCESS_LINE = re.compile(r'"(\w+) (\S+) HTTP/[\d.]+" (\d{3}) \S+ (\d+)ms')


def access_log(processes: Processes, site: Site) -> list[tuple[str, str, int, int]]:
    """Every request the gunicorn instances answered: (method, path, status, ms), the
    time spent in gunicorn (gunicorn.conf.py's access log format), not in its queue."""
    requests = []
    for name in site.names:
        for found in ACCESS_LINE.finditer(processes.log(name)):
            requests.append((found[1], found[2], int(found[3]), int(found[4])))
    return requests


def request_cpu(processes: Processes, since: float, until: float) -> list[tuple[str, float]]:
    """(path, CPU ms) of every request gunicorn finished between the two Unix times
    (benchmarks/gunicorn_bench.py's logs): the Python CPU each cost in its thread."""
    requests = []
    for log in processes.logs.glob("cpu-*.log"):
        for line in log.read_text().splitlines():
            at, _method, path, ms = line.split(" ")
            if since <= float(at) <= until:
                requests.append((path, float(ms)))
    return requests


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))] if ordered else 0


def server_errors(processes: Processes, site: Site) -> dict:
    """What the gunicorn logs hold that a benchmark must report: answers 5xx (access
    log), tracebacks, and database pool timeouts."""
    found = {"http_5xx": 0, "tracebacks": 0, "pool_timeouts": 0, "first_error": ""}
    for name in site.names:
        for line in processes.log(name).splitlines():
            if '" 5' in line and "request_id=" in line:
                found["http_5xx"] += 1
            if line.startswith("Traceback"):
                found["tracebacks"] += 1
            if "PoolTimeout" in line:
                found["pool_timeouts"] += 1
            if not found["first_error"] and (" ERROR " in line or "Error:" in line):
                found["first_error"] = line.strip()[:300]
    return found
