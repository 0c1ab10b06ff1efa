"""Every log line says which request or task wrote it, and which order it was about.

A request gets an id (the reverse proxy's X-Request-ID when it is a tame token,
else a new one), sent back in the response so a shopper's report can be found;
a Celery task carries the id of the request that enqueued it, and logs under
its own task id too. ``bind(order=...)`` adds the order number for the rest of
the request or task. With LOG_FORMAT=json each line is one JSON object
(python-json-logger) with these as fields, ready for a log collector.
"""

import contextvars
import logging
import re
import uuid

from celery import signals

# The default is never mutated: bind() sets a new dict.
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("log_context", default={})  # noqa: B039
REQUEST_ID_HEADER = "X-Request-ID"
_TAME = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
FIELDS = ("request_id", "task_id", "order", "payment")


def bind(**values) -> None:
    """Add fields (e.g. ``order=order.number``) to every log line until the request ends."""
    _context.set({**_context.get(), **{k: str(v) for k, v in values.items() if v}})


def current(name: str) -> str:
    return _context.get().get(name, "")


class ContextFilter(logging.Filter):
    """Puts the bound fields on each record (empty when unbound), and all of them as
    ``context`` (`` [request_id=… order=…]``) for the text format."""

    def filter(self, record):
        context = _context.get()
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name, ""))
        bound = " ".join(
            f"{name}={getattr(record, name)}" for name in FIELDS if getattr(record, name)
        )
        record.context = f" [{bound}]" if bound else ""
        return True


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _TAME.match(offered) else uuid.uuid4().hex
        token = _context.set({"request_id": request_id})
        try:
            response = self.get_response(request)
        finally:
            _context.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    if headers is not None and current("request_id"):
        headers["request_id"] = current("request_id")


# task id -> the context to restore after it: an eager task (make run, tests) runs
# inside the request that enqueued it, whose later lines must keep their request id.
_outer: dict[str, contextvars.Token] = {}


@signals.task_prerun.connect
def _task_context(task_id=None, task=None, **kwargs):
    # An eager task is not published, so it has no header: it inherits the request's id.
    request_id = getattr(task.request, "request_id", None) if task else None
    context = {"task_id": task_id or "", "request_id": request_id or current("request_id")}
    _outer[task_id] = _context.set(context)


@signals.task_postrun.connect
def _task_context_end(task_id=None, **kwargs):
    token = _outer.pop(task_id, None)
    try:
        _context.reset(token)
    except (TypeError, ValueError):  # no token, or one of another context
        _context.set({})
