"""Benchmarks: `make bench` runs every module listed in __main__.BENCHMARKS.

Each prints a readable table and, as its last line, one JSON object of its figures.
They run against DATABASE_URL (use PostgreSQL for figures worth reporting) on a
throw-away test database that they create and drop.
"""
