"""A NUL character, which PostgreSQL cannot store (a 500) and SQLite stores unseen, is refused
with a plain message wherever text is taken, and nothing is saved (issue 11). Each backend in a
fresh database of its own (tests/chats/nul_bytes.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import services

SCRIPT = Path(__file__).with_name("nul_bytes.py")


@pytest.fixture
def postgres_database():
    with services.scratch_postgres_database("m1nul") as url:
        yield url


def run(tmp_path, database_url: str) -> dict:
    env = {
        **os.environ,
        "PLAYGROUND_VAR_DIR": str(tmp_path),
        "REDIS_URL": "",
        "PLAYGROUND_TASKS": "inprocess",
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def check(results: dict) -> None:
    document = results.pop("document name")
    assert document == {"status": 200, "names": ["report.txt"]}
    assert len(results) == 16
    for place, outcome in results.items():
        assert outcome["status"] in (200, 302, 422), (place, outcome)
        assert outcome["said"] is True, (place, outcome)
        assert outcome["saved"] is False, (place, outcome)


@pytest.mark.services
def test_on_postgresql(tmp_path, postgres_database):
    check(run(tmp_path, postgres_database))


def test_on_sqlite(tmp_path):
    check(run(tmp_path, ""))
