"""Locust load for benchmarks.storefront: anonymous shoppers reading one kind of page.

The paths come from BENCH_PATHS (comma-separated); each simulated shopper walks
them round-robin from its own starting point, with no think time.
"""

import itertools
import os
import random

from locust import FastHttpUser, constant, task

PATHS = os.environ.get("BENCH_PATHS", "/").split(",")


class Shopper(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        start = random.randrange(len(PATHS))
        self.paths = itertools.cycle(PATHS[start:] + PATHS[:start])

    @task
    def page(self):
        with self.client.get(next(self.paths), name="page", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
