"""Skip a test whose service is missing, unless PLAYGROUND_REQUIRE_SERVICES=1 (CI): then fail."""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"


def required() -> bool:
    return os.environ.get("PLAYGROUND_REQUIRE_SERVICES") == "1"


def need(available: bool, reason: str) -> None:
    if available:
        return
    if required():
        pytest.fail(f"{reason} (PLAYGROUND_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def need_postgres() -> None:
    need(port_open("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")


def need_redis() -> None:
    need(port_open("127.0.0.1", 6379), "Redis is not running on 127.0.0.1:6379")


def need_chromium() -> None:
    need(os.path.exists(CHROMIUM), f"Chromium is not installed at {CHROMIUM}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        need(False, "Playwright for Python is not installed")


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of the test's own (for subprocesses that race on it), dropped
    after; its URL."""
    need_postgres()
    import psycopg

    admin_url = postgres_url()
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", admin_url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
