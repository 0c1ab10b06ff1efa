"""Settings for the served benchmarks: the real ones, plus a bare view as the ceiling.

Each run caches under a key prefix of its own (BENCH_CACHE_PREFIX, set by
benchmarks._serve.prepare): its throw-away database reuses the slugs and ids of
the previous run's, so entries that run left in Redis must never be read.
"""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
CACHES["default"]["KEY_PREFIX"] = os.environ.get("BENCH_CACHE_PREFIX", "")  # noqa: F405
