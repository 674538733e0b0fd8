"""Where budgets stand (issue 5, design §5): the budgets a person falls under, each month's
row, and the standing shown on pages. Reserving and settling are in ``actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from playground.llm.pricing import from_micros

from .models import Budget, BudgetMonth, UsageRecord

WARN_AT = 0.8


def this_month() -> date:
    return timezone.now().date().replace(day=1)


def budgets_for(workspace, user) -> list[Budget]:
    """The person's budget in the workspace, then the workspace's."""
    found = Budget.objects.filter(workspace=workspace).filter(Q(user=user) | Q(user__isnull=True))
    return sorted(found, key=lambda b: b.user_id is None)


def month_row(budget: Budget, month: date) -> BudgetMonth:
    """The budget's row for ``month``; made on first use with what was already spent that
    month (a cap set mid-month counts the spend before it)."""
    row = BudgetMonth.objects.filter(budget=budget, month=month).first()
    if row is not None:
        return row
    start = datetime.combine(month, time.min, tzinfo=UTC)
    end = datetime.combine((month + timedelta(days=32)).replace(day=1), time.min, tzinfo=UTC)
    records = UsageRecord.objects.filter(
        workspace_id=budget.workspace_id, created_at__gte=start, created_at__lt=end
    )
    if budget.user_id:
        records = records.filter(user_id=budget.user_id)
    spent = records.aggregate(total=Sum("cost_micros"))["total"] or 0
    try:
        with transaction.atomic():
            return BudgetMonth.objects.create(budget=budget, month=month, spent_micros=spent)
    except IntegrityError:  # another request made it first
        return BudgetMonth.objects.get(budget=budget, month=month)


@dataclass(frozen=True)
class Standing:
    """Where one budget stands this month."""

    label: str
    cap_micros: int
    spent_micros: int
    reserved_micros: int

    @property
    def used(self) -> float:
        if not self.cap_micros:
            return 1.0
        return (self.spent_micros + self.reserved_micros) / self.cap_micros

    @property
    def percent(self) -> int:
        # Uncapped: a cap lowered below the month's spend can leave it far past 100%, and the
        # page should say by how much (templates format it with intcomma).
        return round(self.used * 100)

    @property
    def level(self) -> str:
        return "over" if self.used >= 1 else "warn" if self.used >= WARN_AT else "ok"

    @property
    def spent(self) -> Decimal:
        return from_micros(self.spent_micros)

    @property
    def cap(self) -> Decimal:
        return from_micros(self.cap_micros)


def standings(workspace, user) -> list[Standing]:
    month = this_month()
    result = []
    for budget in budgets_for(workspace, user):
        row = month_row(budget, month)
        result.append(
            Standing(
                label="Your budget" if budget.user_id else "Workspace budget",
                cap_micros=budget.monthly_cap_micros,
                spent_micros=row.spent_micros,
                reserved_micros=row.reserved_micros,
            )
        )
    return result
