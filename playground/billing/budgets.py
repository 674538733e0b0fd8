"""Budgets that hold under concurrency (issue 5, design §5).

Before a request is sent, its worst case (input at its tier, plus max output) is reserved
against every budget it falls under, the person's and the workspace's, each by one
conditional UPDATE inside the send's transaction: two requests racing for the last dollar
cannot both be admitted, and a refusal rolls back every reservation made before it. When the
answer ends, the reservation is settled to the real cost exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from playground.llm.pricing import dollars, from_micros

from .models import Budget, BudgetMonth, Reservation, UsageRecord

WARN_AT = 0.8


class BudgetExceeded(Exception):
    """The request's worst case does not fit a budget; the message says what remains."""


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


def _whose(budget: Budget) -> str:
    return "your monthly budget" if budget.user_id else "the workspace's monthly budget"


def reserve(workspace, user, amount_micros: int) -> list[int]:
    """Hold ``amount_micros`` against every budget of ``user`` in ``workspace`` (call inside
    the send's transaction); the ids of the month rows held, for ``settle``."""
    month, held = this_month(), []
    for budget in budgets_for(workspace, user):
        row = month_row(budget, month)
        admitted = (
            BudgetMonth.objects.filter(pk=row.pk)
            .filter(
                spent_micros__lte=budget.monthly_cap_micros - amount_micros - F("reserved_micros")
            )
            .update(reserved_micros=F("reserved_micros") + amount_micros)
        )
        if not admitted:
            row.refresh_from_db()
            left = max(0, budget.monthly_cap_micros - row.spent_micros - row.reserved_micros)
            raise BudgetExceeded(
                f"This request could cost up to {dollars(from_micros(amount_micros))} "
                f"(its input, plus the most it may write), and {_whose(budget)} has "
                f"{dollars(from_micros(left))} left of {dollars(budget.cap)} this month. "
                "Lower max output tokens, detach a document, or ask a workspace admin."
            )
        held.append(row.pk)
    return held


def hold(message, amount_micros: int, months: list[int]) -> None:
    if months:
        Reservation.objects.create(
            message_id=message.pk, amount_micros=amount_micros, months=months
        )


def settle(message_id: int, cost_micros: int) -> bool:
    """Turn an answer's reservation into its real cost; a second settle does nothing."""
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update()
            .filter(message_id=message_id, settled_at__isnull=True)
            .first()
        )
        if reservation is None:
            return False
        Reservation.objects.filter(pk=reservation.pk).update(settled_at=timezone.now())
        BudgetMonth.objects.filter(pk__in=reservation.months).update(
            reserved_micros=F("reserved_micros") - reservation.amount_micros,
            spent_micros=F("spent_micros") + max(cost_micros, 0),
        )
    return True


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
