"""Run by test_budget_race in a fresh PostgreSQL database: N threads, each in its own
transaction and connection, reserve the same amount against one budget at the same moment.
Prints what happened as JSON."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from playground.accounts.actions import sign_up  # noqa: E402
from playground.billing import actions as billing  # noqa: E402
from playground.billing.models import Budget, BudgetMonth  # noqa: E402
from playground.workspaces.access import personal_workspace  # noqa: E402


def main(racers: int, amount: int, cap: int) -> None:
    assert connection.vendor == "postgresql", connection.vendor
    call_command("migrate", verbosity=0)
    user = sign_up(f"racer{os.getpid()}", "correct horse battery 9")
    workspace = personal_workspace(user)
    for who in (None, user):
        Budget.objects.create(workspace=workspace, user=who, monthly_cap_micros=cap)
    start = threading.Barrier(racers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def race() -> None:
        try:
            start.wait()
            with transaction.atomic():
                billing.reserve(workspace.pk, user, amount)
                # Hold the transaction open a moment so the racers overlap for real.
                connection.cursor().execute("SELECT pg_sleep(0.05)")
            outcome = "admitted"
        except billing.BudgetExceeded:
            outcome = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = list(BudgetMonth.objects.values_list("reserved_micros", "spent_micros"))
    print(
        json.dumps(
            {
                "admitted": outcomes.count("admitted"),
                "refused": outcomes.count("refused"),
                "months": rows,
            }
        )
    )


if __name__ == "__main__":
    main(*(int(value) for value in sys.argv[1:4]))
