"""What an operator relies on: /health/, request ids in logs, and gunicorn under idle sockets."""

import json
import logging
import math
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT

from config.celery import app as celery_app
from core import logs
from core.models import Heartbeat
from tests.core.private_redis import celery_on_broker

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def with_broker(settings):
    """/health/ as in production: tasks go to a broker, beat stamps its heartbeat."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = saved


def health(client):
    response = client.get("/health/?format=json")
    # keyed by each check's repr, e.g. "Database(alias='default')"
    return response.status_code, {k.split("(")[0]: v for k, v in response.json().items()}


@pytest.mark.django_db
def test_health_answers_ok_when_all_is_up(client):
    status, body = health(client)
    assert status == 200
    assert set(body) == {"Database", "Cache", "Broker", "Beat", "Outbox"}
    assert set(body.values()) == {"OK"}


@pytest.mark.django_db
def test_health_fails_when_beat_has_not_run_lately(client, with_broker):
    status, body = health(client)
    assert status == 500
    assert body["Beat"] == "Unavailable: beat has never run"
    Heartbeat.objects.create(name="beat", at=timezone.now() - timedelta(minutes=30))
    status, body = health(client)
    assert status == 500
    assert body["Beat"].startswith("Unavailable: beat last ran at")
    Heartbeat.objects.filter(name="beat").update(at=timezone.now())
    assert health(client)[1]["Beat"] == "OK"


@pytest.mark.django_db
def test_health_names_the_broker_when_it_is_unreachable(client):
    Heartbeat.objects.create(name="beat", at=timezone.now())
    # nothing listens on port 9
    with celery_on_broker("redis://127.0.0.1:9/0", "health"):
        status, body = health(client)
    assert status == 500
    assert "unreachable" in body["Broker"]
    assert body["Database"] == "OK"


@pytest.mark.django_db
def test_health_fails_when_tasks_wait_in_the_outbox(client):
    from core.models import OutboxMessage

    waiting = OutboxMessage.objects.create(task="orders.tasks.send_order_email", args=[1, "paid"])
    assert health(client)[1]["Outbox"] == "OK"  # just written: the sweep will send it
    OutboxMessage.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(minutes=11)
    )
    status, body = health(client)
    assert status == 500
    assert body["Outbox"].startswith("Unavailable: tasks waiting since")


@pytest.mark.django_db
def test_the_heartbeat_task_stamps_beat(client, with_broker):
    from core.tasks import heartbeat

    heartbeat()
    assert timezone.now() - Heartbeat.objects.get(name="beat").at < timedelta(seconds=5)
    assert health(client)[1]["Beat"] == "OK"


def test_a_response_carries_its_request_id_and_logs_name_it(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/health/live/", headers={"X-Request-ID": "proxy-id-12345678"})
    assert response["X-Request-ID"] == "proxy-id-12345678"
    # an id the client made up in odd characters is replaced, never echoed into logs
    odd = client.get("/health/live/", headers={"X-Request-ID": "x\nforged=1"})
    assert len(odd["X-Request-ID"]) == 32 and "\n" not in odd["X-Request-ID"]


@pytest.mark.django_db
def test_log_lines_of_a_checkout_name_its_order(shopper, variant, address, caplog):
    """What a merchant greps for: the order number on every line logged while placing it."""
    from orders import services

    caplog.set_level(logging.INFO)
    token = logs._context.set({"request_id": "r-checkout"})
    try:
        order = services.place_order(shopper, [(variant.pk, 1)], address=address)
        logging.getLogger("orders").info("placed")
    finally:
        logs._context.reset(token)
    record = caplog.records[-1]
    logs.ContextFilter().filter(record)
    assert record.order == order.number
    assert record.request_id == "r-checkout"


def test_an_eager_task_logs_under_the_request_and_leaves_its_id_to_it(caplog):
    from celery import shared_task

    @shared_task(name="tests.log_something")
    def log_something():
        logging.getLogger("orders").info("in the task")

    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(logs.ContextFilter())  # fields as of when the line is logged
    token = logs._context.set({"request_id": "r-eager"})
    try:
        log_something.apply()  # as a task enqueued on commit runs in eager mode
        logging.getLogger("orders").info("after the task")
        after = logs.current("request_id")
    finally:
        logs._context.reset(token)
    assert after == "r-eager"  # the rest of the request still logs under its id
    in_task = next(r for r in caplog.records if r.getMessage() == "in the task")
    assert in_task.request_id == "r-eager"
    assert in_task.task_id


def test_json_log_lines_carry_the_bound_order_and_request():
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s %(order)s"
    )
    record = logging.LogRecord("orders", logging.INFO, __file__, 1, "paid", None, None)
    token = logs._context.set({"request_id": "r-1"})
    try:
        logs.bind(order="M2026120100001")
        logs.ContextFilter().filter(record)
    finally:
        logs._context.reset(token)
    line = json.loads(formatter.format(record))
    assert line["order"] == "M2026120100001"
    assert line["request_id"] == "r-1"
    assert record.context == " [request_id=r-1 order=M2026120100001]"


THREADS = 8  # gunicorn.conf.py's default, which the test below runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def live(port: int, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(b"GET /health/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return client.recv(1024)


def test_idle_sockets_do_not_stop_gunicorn_answering():
    """Three idle sockets used to block all three sync workers (and the README ran
    one): with the shipped configuration (a process per core, eight threads each)
    the shop keeps answering. Slow clients in numbers are the buffering proxy's job."""
    port = free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "DJANGO_DEBUG": "true",
    }
    env.pop("WEB_CONCURRENCY", None)
    env.pop("GUNICORN_THREADS", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    idle = []
    try:
        deadline = time.monotonic() + 60
        while True:  # the workers have booted once a request is answered
            try:
                assert live(port, timeout=2).startswith(b"HTTP/1.1 200")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.5)
        # the three of the finding take three of a worker's eight threads: no wait
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        started = time.monotonic()
        assert live(port, timeout=3).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < 3
        # twenty, more than all threads: each gives its thread back after gunicorn's
        # data wait (5 s) and is parked on the poller, so the shop answers within a
        # bound. The kernel may hand every socket to one worker, the request queued
        # behind all twenty: ceil(21 / 8) rounds of the wait in the worst case.
        idle += [socket.create_connection(("127.0.0.1", port)) for _ in range(17)]
        bound = math.ceil((len(idle) + 1) / THREADS) * DEFAULT_WORKER_DATA_TIMEOUT
        started = time.monotonic()
        assert live(port, timeout=bound + 5).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < bound + 5
    finally:
        for connection in idle:
            connection.close()
        server.terminate()
        server.wait(timeout=20)
