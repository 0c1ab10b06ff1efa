"""A real Celery worker for integration tests: its own process, on Redis and the test database.

`start_worker()` starts a `celery worker` subprocess consuming a queue unique to
the test, and points this process's `.delay()` at that queue with eager mode
off. Every worker a test started is stopped at its end (SIGTERM, then SIGKILL),
and its output is printed, which pytest shows when the test failed. Tests that
crash a worker (`worker.kill()`) can start another on the same queue.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from core import outbox
from tests.core.private_redis import private_redis  # noqa: F401 - the fixture

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"
READY_TIMEOUT = 30  # seconds for a worker to connect to Redis and start consuming
STOP_TIMEOUT = 15  # seconds for a warm shutdown before the worker is killed
# One task at a time in the worker's own process (a kill -9 test kills the task with it).
WORKER_OPTIONS = ["--pool=solo", "--concurrency=1", "--loglevel=INFO"]
WORKER_OPTIONS += ["--without-gossip", "--without-mingle", "--without-heartbeat"]


class WorkerProcess:
    """One `celery worker --pool=solo` subprocess; its output is collected as it comes."""

    def __init__(self, queue: str, env: dict[str, str], extra_args: tuple[str, ...] = ()):
        self.queue = queue
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [str(CELERY), "-A", "config", "worker", "-Q", queue, "--hostname", f"{queue}@%h"]
            + WORKER_OPTIONS
            + list(extra_args),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # a Ctrl-C in the terminal is for pytest, not for it
        )
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            with self._lock:
                self._lines.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait_for(self, expected: str | re.Pattern, timeout: float) -> bool:
        """Wait until the output contains `expected` (a string, or a compiled regex).

        False on timeout, or as soon as the worker exited without printing it.
        """

        def found() -> bool:
            output = self.output
            if isinstance(expected, re.Pattern):
                return expected.search(output) is not None
            return expected in output

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found():
                return True
            if self.process.poll() is not None:
                self._reader.join(timeout=1)
                return found()
            time.sleep(0.1)
        return found()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if not self.wait_for(" ready.", timeout):
            raise RuntimeError(
                f"celery worker {self.pid} not ready after {timeout}s "
                f"(exit code {self.process.poll()}):\n{self.output}"
            )

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Warm shutdown (SIGTERM); SIGKILL if it has not exited after `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return self.process.returncode

    def kill(self) -> int:
        """Die at once, as on `kill -9` or a lost machine: nothing is acknowledged."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=5)
        return self.process.returncode


def worker_database_url() -> str:
    """DATABASE_URL of the database pytest-django created (test_<name>), not the real one."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


def worker_env(queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DATABASE_POOL": "false",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        # The suite pays through the sandbox, which only a demo site's worker delivers.
        "DEMO_SITE": "true",
    }


def _delete_queue(queue: str) -> None:
    """Drop what the test left in Redis for its queue (messages, bindings); best effort."""
    try:
        with celery_app.connection_for_write() as conn:
            client = conn.default_channel.client
            # The queue's list (and its priority lists) and its exchange's binding keys.
            keys = list(client.scan_iter(match=f"*{queue}*"))
            if keys:
                client.delete(*keys)
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the test's own result
        print(f"could not delete Redis queue {queue}: {exc!r}")


@pytest.fixture
def worker_queue():
    """A fresh queue that `.delay()` in this process publishes to, eager mode off.

    Celery's router reads `conf.task_default_queue` on every send (only
    `app.amqp.default_queue` is cached, and the router does not use it) and
    creates the missing queue, which the producer publishes to by name: the
    list the worker consumes with `-Q`. The worker gets the same name as
    CELERY_TASK_DEFAULT_QUEUE, so what it enqueues itself stays in this test.
    """
    queue = f"test-{uuid.uuid4().hex}"
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_default_queue
    conf.task_always_eager = False
    conf.task_default_queue = queue
    outbox.breaker.reset()  # an outage of an earlier test holds no send back
    yield queue
    conf.task_always_eager, conf.task_default_queue = saved
    outbox.breaker.reset()
    _delete_queue(queue)


@pytest.fixture
def start_worker(worker_queue, transactional_db):
    """start_worker() -> a ready WorkerProcess on this test's queue; stopped after the test."""
    workers: list[WorkerProcess] = []

    def start(
        *, wait: bool = True, extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> WorkerProcess:
        worker = WorkerProcess(
            worker_queue, {**worker_env(worker_queue), **(env or {})}, extra_args
        )
        workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        code = worker.stop()
        # Captured: pytest shows it only for a test that failed.
        print(f"--- celery worker {worker.pid} (exit {code}) ---\n{worker.output}")


@pytest.fixture
def celery_worker(start_worker):
    """One worker, ready, consuming this test's queue."""
    return start_worker()
