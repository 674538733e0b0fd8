"""Faults against the real services of this machine (issue 11): a worker killed mid-answer, and
a worker that stalls past the stale time and then resumes. PostgreSQL, Redis, Celery beat and
workers, uvicorn: the production mode as the README deploys it."""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.stack import Stack, User, message_row

pytestmark = pytest.mark.services

SWEEP = {"PLAYGROUND_SWEEP_SECONDS": "1", "PLAYGROUND_STALE_STREAM_SECONDS": "3"}


@pytest.fixture(scope="module")
def stack():
    with Stack.production(tokens_per_second=40, extra_env=SWEEP) as running:
        yield running


def _with_budget(stack: Stack, user: User) -> None:
    """A monthly cap on the user's workspace, so each answer holds a reservation."""
    [(workspace_id,)] = stack.query(
        "SELECT m.workspace_id FROM workspaces_membership m JOIN accounts_user u "
        "ON u.id = m.user_id WHERE u.username = ?",
        user.username,
    )
    stack.execute(
        "INSERT INTO billing_budget (workspace_id, monthly_cap_micros, updated_at) "
        "VALUES (?, 50000000, NOW())",
        workspace_id,
    )


def _wait_for(stack: Stack, answer: int, check, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = message_row(stack, answer)
        if check(row):
            return row
        time.sleep(0.2)
    raise AssertionError(f"answer {answer} is still {message_row(stack, answer)['status']}")


def _settled_once(stack: Stack, answer: int) -> int:
    """The answer's usage records (exactly one) and its reservation (settled); its cost."""
    [(records, cost)] = stack.query(
        "SELECT COUNT(*), MAX(cost_micros) FROM billing_usagerecord WHERE message_id = ?", answer
    )
    assert records == 1
    [(settled,)] = stack.query(
        "SELECT settled_at IS NOT NULL FROM billing_reservation WHERE message_id = ?", answer
    )
    assert settled
    return cost


def test_a_worker_killed_mid_answer(stack):
    """SIGKILL: the answer ends interrupted within the sweeper's bound (stale time plus one
    sweep, once a worker runs the sweep), its hold released and charged once."""
    ann = User(stack, "ann").sign_up()
    _with_budget(stack, ann)
    chat = ann.new_chat()
    answer = ann.send(chat, "#think:20 #answer:4000 a long one")
    _wait_for(stack, answer, lambda row: len(row["content"]) > 20, timeout=30)
    stack.signal("worker", signal.SIGKILL)
    killed_at = time.monotonic()
    stack.start_worker()  # as a supervisor would; it runs the sweeps beat queues
    row = _wait_for(stack, answer, lambda row: row["status"] != "streaming", timeout=40)
    assert row["status"] == "failed" and row["error_kind"] == "interrupted"
    assert row["content"] and row["usage_estimated"]
    assert time.monotonic() - killed_at < 40
    assert _settled_once(stack, answer) > 0
    [(reserved,)] = stack.query("SELECT SUM(reserved_micros) FROM billing_budgetmonth")
    assert reserved == 0


def test_a_worker_that_stalls_then_resumes(stack):
    """SIGSTOP past the stale time: the sweeper (run here by another process) ends the answer
    and charges what was saved; on SIGCONT the worker finds out, stops, and changes nothing:
    the text and the charge stay those of the sweep."""
    bob = User(stack, "bob").sign_up()
    _with_budget(stack, bob)
    chat = bob.new_chat()
    # Short enough that a worker going on after the stall would finish it (about 8 s at 40
    # tokens a second) within the wait below, and overwrite the swept answer if it could.
    answer = bob.send(chat, "#think:20 #answer:300 a short one")
    _wait_for(stack, answer, lambda row: len(row["content"]) > 20, timeout=30)
    stack.signal("worker", signal.SIGSTOP)
    try:
        time.sleep(4)  # past PLAYGROUND_STALE_STREAM_SECONDS
        stack.manage("shell", "-c", "from playground.streaming import sweeper; sweeper.sweep()")
        swept = message_row(stack, answer)
        assert swept["status"] == "failed" and swept["error_kind"] == "interrupted"
        cost = _settled_once(stack, answer)
    finally:
        stack.signal("worker", signal.SIGCONT)
    time.sleep(10)  # the worker resumes, polls its stop flags, and stops
    after = message_row(stack, answer)
    assert after == swept
    assert _settled_once(stack, answer) == cost
