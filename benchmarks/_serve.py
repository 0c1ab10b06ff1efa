"""What every served benchmark needs: the real site served, its workers, locust.

A served benchmark runs the real site on loopback against PostgreSQL and Redis:

- ``prepare()`` first, before Django is set up: this process and every one it
  starts use benchmarks.settings, and the cache keys of this run carry a prefix
  of its own (BENCH_CACHE_PREFIX), so a page cached by an earlier run (the same
  slugs, another throw-away database) is never served; ``forget_run()`` deletes
  the run's keys and its Celery queue at the end.
- benchmarks._seed fills the throw-away database (a catalog, signed-in shoppers).
- ``Processes`` starts gunicorn instances (``serve``: K of them on free ports,
  behind benchmarks._balancer when there are several), Celery workers
  (``start_workers``: ``--pool=solo``, a queue of the run's own) and locust
  (``locust_phase``: one run, its figures per request name), each with its
  log file, and stops every one of them when the block ends, however it ends
  (an error, Ctrl-C).
- benchmarks._measure tells where the time went (CPU, time in gunicorn) and
  what went wrong (the gunicorn logs).
"""

import copy
import csv
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmarks._harness import progress, setup_django

ROOT = Path(__file__).resolve().parent.parent


def prepare() -> str:
    """Set Django up on benchmarks.settings with a cache prefix of this run's own (also
    for the processes it starts, through the environment). Returns the prefix.

    Under ``make bench`` an earlier benchmark has set Django up in this process
    already: its cache settings then take the new prefix.
    """
    from django.apps import apps

    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    os.environ["BENCH_CACHE_PREFIX"] = prefix
    if not apps.ready:
        os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
        setup_django()
        return prefix
    from django.conf import settings
    from django.test.utils import override_settings

    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = prefix
    override_settings(CACHES=caches).enable()  # and the cache connections made anew
    return prefix


def require_services(benchmark: str, *, broker: bool = False) -> None:
    """Exit with a message unless PostgreSQL, a Redis cache (and a Redis broker) are set."""
    from django.conf import settings
    from django.db import connection

    cache = settings.CACHES["default"]["BACKEND"].lower()
    if connection.vendor != "postgresql" or "redis" not in cache:
        sys.exit(f"{benchmark} needs DATABASE_URL (PostgreSQL) and CACHE_URL (Redis).")
    if broker and not settings.CELERY_BROKER_URL.startswith("redis"):
        sys.exit(f"{benchmark} needs CELERY_BROKER_URL (Redis) for its Celery workers.")


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def collectstatic(env: dict) -> None:
    print("collecting static files (manifest storage, as in production)", flush=True)
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


# --- processes --------------------------------------------------------------------


class Processes:
    """The processes of one benchmark, each logging to its own file in ``logs``;
    all stopped (TERM, then KILL after a grace period) when the block ends."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen, object]] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.running.append((name, process, log))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 30) -> None:
        for entry in list(self.running):
            if entry[1] is process:
                self.running.remove(entry)
                _stop(process, timeout)
                entry[2].close()

    def stop_all(self) -> None:
        # Ctrl-C again while stopping must not leave a process behind.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            while self.running:
                self.stop(self.running[-1][1])
        finally:
            signal.signal(signal.SIGINT, previous)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _stop(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(base + "/__bare__/", timeout=2).read()  # noqa: S310
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def warm(base: str, paths: list[str]) -> None:
    """Read each path once (fills the caches); any answer but 200 is an error."""
    for path in paths:
        with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")


@dataclass
class Site:
    """The served shop: its gunicorn instances, the address shoppers use (the
    balancer's with several instances) and the environment every process shares."""

    backends: list[str]
    front: str
    env: dict
    names: list[str] = field(default_factory=list)  # the gunicorn processes' log names
    balancer: subprocess.Popen | None = None


def served_env(database: str, *, site_url: str, queue: str, extra: dict | None = None) -> dict:
    """The environment of every served process (gunicorn, Celery): one database, one
    cache, one broker queue, one secret key, DEBUG off, the sandbox gateway on."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DATABASE_URL": database_url(database),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # Tasks go to the workers when there is a broker (eager, in-process, without).
        "CELERY_TASK_ALWAYS_EAGER": "false" if os.environ.get("CELERY_BROKER_URL") else "true",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        # The sandbox gateway pays the benchmarks' orders; it notifies SITE_URL.
        "DEMO_SITE": "true",
        "SITE_URL": site_url,
        **(extra or {}),
    }


def serve(
    processes: Processes,
    database: str,
    *,
    instances: int = 1,
    workers: int = 3,
    queue: str = "",
    extra_env: dict | None = None,
) -> Site:
    """``instances`` gunicorn instances on free ports (``--workers`` each, the project's
    gunicorn.conf.py otherwise, through benchmarks/gunicorn_bench.py, which logs each
    request's CPU), behind the loopback balancer when there are several."""
    ports = [free_port() for _ in range(instances)]
    backends = [f"http://127.0.0.1:{port}" for port in ports]
    front_port = free_port() if instances > 1 else ports[0]
    front = f"http://127.0.0.1:{front_port}"
    env = served_env(
        database,
        site_url=front,
        queue=queue or queue_name(),
        extra={"BENCH_CPU_LOG_DIR": str(processes.logs), **(extra_env or {})},
    )
    collectstatic(env)
    site = Site(backends=backends, front=front, env=env)
    for number, port in enumerate(ports):
        name = f"gunicorn-{number}"
        processes.start(
            name,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "benchmarks.wsgi:application",
                "--config",
                str(ROOT / "benchmarks" / "gunicorn_bench.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            env,
        )
        site.names.append(name)
    for base in backends:
        wait_until_up(base)
    if instances > 1:
        command = [sys.executable, "-m", "benchmarks._balancer", "--port", str(front_port)]
        for port in ports:
            command += ["--backend", f"127.0.0.1:{port}"]
        site.balancer = processes.start("balancer", command, env)
        wait_until_up(front)
    return site


def queue_name() -> str:
    return os.environ["BENCH_CACHE_PREFIX"]


def start_workers(processes: Processes, site: Site, count: int) -> list[str]:
    """``count`` Celery workers (solo pool) on the run's queue; waits until each answers."""
    from config.celery import app

    names = [f"{queue_name()}-{n}@{socket.gethostname()}" for n in range(count)]
    for n, name in enumerate(names):
        processes.start(
            f"celery-{n}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "-Q",
                site.env["CELERY_TASK_DEFAULT_QUEUE"],
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ],
            site.env,
        )
    deadline = time.monotonic() + 90
    waiting = set(names)
    while waiting:
        answered = app.control.ping(destination=sorted(waiting), timeout=1.0)
        waiting -= {name for reply in answered for name in reply}
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"Celery workers did not start: {sorted(waiting)}")
    return names


def forget_run(prefix: str) -> None:
    """Delete this run's cache keys and its Celery queue from Redis."""
    import redis

    cache = redis.Redis.from_url(os.environ["CACHE_URL"])
    for key in cache.scan_iter(match=f"{prefix}:*", count=1000):
        cache.delete(key)
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if broker_url.startswith("redis"):  # the queue, kombu's bindings of it
        broker = redis.Redis.from_url(broker_url)
        for key in broker.scan_iter(match=f"*{prefix}*", count=1000):
            broker.delete(key)


def queue_length() -> int:
    """Tasks waiting in the run's Celery queue (not those a worker holds)."""
    import redis

    return redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).llen(queue_name())


def wait_for(check, *, timeout: float, label: str) -> float:
    """Poll ``check()`` (a (done, total) pair) twice a second until done == total or
    ``timeout`` seconds pass; returns the seconds it took (or ``timeout``)."""
    started = time.monotonic()
    while True:
        done, total = check()
        progress(min(done, total), max(total, 1), label)
        if done >= total:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            sys.stderr.write("\n")
            return timeout
        time.sleep(0.5)


# --- locust -----------------------------------------------------------------------


@dataclass
class Phase:
    """One locust run: its rows per request name (and "Aggregated") and its failures."""

    name: str
    stats: dict[str, dict]
    failures: list[dict]
    wall_s: float = 0.0  # locust's run, from start to exit
    locust_cpu_s: float = 0.0  # the CPU locust itself used
    missed_slots: int = 0  # purchase slots no buyer was free to take (locust_shop.Pacer)

    def row(self, name: str) -> dict:
        return self.stats.get(name) or {
            "type": "",
            "requests": 0,
            "failures": 0,
            "rps": 0.0,
            "p50_ms": 0.0,
            "p95_ms": 0.0,
            "max_ms": 0.0,
        }

    def succeeded(self, name: str) -> int:
        row = self.row(name)
        return row["requests"] - row["failures"]


def locust_phase(
    processes: Processes,
    name: str,
    *,
    locustfile: str,
    classes: list[str],
    users: int,
    seconds: int,
    host: str,
    env: dict,
    spawn_rate: int | None = None,
    stop_timeout: int = 2,
    cap: int | None = None,
    label: str = "",
) -> Phase:
    """Run locust headless for ``seconds``, showing them as they pass; with ``cap``,
    for up to ``cap`` seconds, the users quitting on their own (after ``seconds``, or
    once each is done). Returns its figures per request name."""
    prefix = processes.logs / name
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / locustfile), *classes,
        "--headless", "--users", str(users), "--spawn-rate", str(spawn_rate or users),
        "--run-time", f"{cap or seconds}s", "--host", host, "--csv", str(prefix),
        "--loglevel", "WARNING", "--only-summary", "--stop-timeout", str(stop_timeout),
    ]  # fmt: skip
    result = Path(f"{prefix}_result.json")
    env = {**os.environ, **env, "BENCH_RESULT": str(result)}
    before = _children_cpu()
    runner = processes.start(f"locust-{name}", command, env)
    started, shown = time.monotonic(), 0
    try:
        while runner.poll() is None:
            time.sleep(0.5)
            elapsed = min(int(time.monotonic() - started), seconds)
            if elapsed > shown:
                shown = elapsed
                progress(elapsed, seconds, f"  {label or name}: seconds")
    finally:
        processes.stop(runner)
    if shown < seconds:
        sys.stderr.write("\n")
    measured = {"wall_s": time.monotonic() - started, "locust_cpu_s": _children_cpu() - before}
    if result.exists():  # written at the very end (benchmarks.locust_shop)
        figures = json.loads(result.read_text())
        return Phase(
            name=name,
            stats=figures["stats"],
            failures=figures["failures"],
            missed_slots=figures.get("missed_slots", 0),
            **measured,
        )
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        log = processes.logs / f"locust-{name}.log"
        raise RuntimeError(f"{name}: locust wrote no figures, see {log}")
    with open(stats_file) as stats:
        rows = {row["Name"]: _figures(row) for row in csv.DictReader(stats)}
    with open(f"{prefix}_failures.csv") as failures:
        failed = [
            {"name": row["Name"], "error": row["Error"], "occurrences": int(row["Occurrences"])}
            for row in csv.DictReader(failures)
        ]
    return Phase(name=name, stats=rows, failures=failed, **measured)


def _children_cpu() -> float:
    """CPU seconds of this process's children that have exited (locust, once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _figures(row: dict) -> dict:
    def number(column):
        value = row.get(column, "")
        return float(value) if value not in ("", "N/A") else 0.0

    return {
        "type": row["Type"],
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(number("Requests/s"), 1),
        "p50_ms": number("50%"),
        "p95_ms": number("95%"),
        "max_ms": round(number("Max Response Time"), 1),
    }
