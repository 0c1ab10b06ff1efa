"""gunicorn's configuration for the shop: `gunicorn config.wsgi` reads it from here.

Threaded workers (gthread): a connection that sends nothing holds no worker, so
a few idle or slow clients cannot stop the shop answering (a sync worker waits
on each one for the whole timeout). Still run it behind a buffering reverse
proxy (nginx, see README) that takes slow uploads and slow readers off it.
Every value can be set from the environment.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# Processes: one per core (the work is mostly database waits, which threads cover).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# Load Django once in the master and fork: every worker is ready the moment it
# starts (and shares the loaded code's memory). Connections open lazily, after the fork.
preload_app = True
# A request still running after this many seconds is killed and the worker restarted;
# payment gateway calls time out well before (ALIPAY_TIMEOUT, 10 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Bounded request heads; bodies are bounded by the proxy (client_max_body_size) and
# by Django (DATA_UPLOAD_MAX_MEMORY_SIZE, and the notify endpoint's own limit).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Recycle workers now and then, so a slow leak never grows for good.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
# The proxy in front is the only peer whose X-Forwarded-* gunicorn believes.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
