"""A Redis server of the test's own, to stop and start again (an outage on demand).

`redis-server` runs as a subprocess on a free port, without persistence, so
stopping it loses what it held, as a crashed cache would. Only the process this
fixture started is ever stopped (by its pid).
"""

import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self):
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # by its pid: only the server this test started
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis():
    """A started PrivateRedis, stopped at the end of the test."""
    if REDIS_SERVER is None:
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail("REQUIRE_SERVICES is set but redis-server is not installed")
        pytest.skip("needs redis-server installed")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@contextlib.contextmanager
def celery_on_broker(url: str, queue: str):
    """Point this process's Celery sends at `url`, queue `queue`, eager mode off.

    The app caches its connection and producer pools on first use, so both are
    dropped on the way in and out (kombu keys its pools by URL). The outbox's
    per-process breaker is reset too, so one test's outage never delays the
    next test's sends.
    """
    from config.celery import app
    from core import outbox

    conf = app.conf
    # The write URL: CELERY_BROKER_URL in the environment outranks conf.broker_url.
    saved = conf.broker_write_url, conf.task_always_eager, conf.task_default_queue

    def reset_pools():
        # Dropped, not closed: kombu keeps one pool per broker URL for the process,
        # and the next user of this URL (the main broker) must get it open.
        app._pool = None
        app.amqp._producer_pool = None
        outbox.breaker.reset()

    reset_pools()
    conf.broker_write_url, conf.task_always_eager, conf.task_default_queue = url, False, queue
    try:
        yield app
    finally:
        reset_pools()
        conf.broker_write_url, conf.task_always_eager, conf.task_default_queue = saved
