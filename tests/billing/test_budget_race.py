"""Against PostgreSQL: 2 and 20 requests racing for the last part of a budget. Exactly the
ones that fit are admitted, and neither the person's nor the workspace's month goes over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import services

pytestmark = pytest.mark.services

RACE = Path(__file__).with_name("race.py")


@pytest.fixture
def database_url():
    with services.scratch_postgres_database("m1race") as url:
        yield url


@pytest.mark.parametrize("racers,fit", [(2, 1), (20, 7)])
def test_racing_requests_are_admitted_exactly_while_they_fit(database_url, racers, fit):
    amount = 30_000  # $0.03 of worst case each
    cap = amount * fit + amount // 2  # room for `fit` of them and half of one more
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "PLAYGROUND_TASKS": "inprocess",
    }
    result = subprocess.run(
        [sys.executable, str(RACE), str(racers), str(amount), str(cap)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["admitted"] == fit and outcome["refused"] == racers - fit
    # (reserved, spent) of the workspace's month and the person's: never past the cap.
    assert outcome["months"] == [[fit * amount, 0]] * 2
