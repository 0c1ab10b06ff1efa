"""Settings for the served benchmark: the real ones, plus a bare view as the ceiling."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
