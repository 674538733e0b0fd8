"""How far a budget stands: the real percentage, however far past its cap."""

from __future__ import annotations

import pytest

from playground.billing import budgets
from playground.billing.models import Budget, BudgetMonth
from playground.workspaces.access import personal_workspace

pytestmark = pytest.mark.django_db


def test_a_budget_far_past_its_cap_shows_its_real_percentage(owner, owner_client):
    # A $1 cap after $12.50 was spent (say, a cap lowered mid-month): 1,250%, not "999%".
    workspace = personal_workspace(owner)
    budget = Budget.objects.create(workspace=workspace, monthly_cap_micros=1_000_000)
    BudgetMonth.objects.create(budget=budget, month=budgets.this_month(), spent_micros=12_500_000)
    [standing] = budgets.standings(workspace, owner)
    assert standing.percent == 1250 and standing.level == "over"
    html = owner_client.get(f"/workspace/{workspace.pk}/budgets").content.decode()
    assert "1,250% of $1.00" in html
