"""Every write of money, in one module (design §5): reserve a request's worst case against the
budgets it falls under before it is sent, charge what an answer used as exactly one usage
record, and settle its reservation to that cost exactly once. Generation calls these; so does
the sweeper for an answer whose worker died.

Reserving is one conditional UPDATE per budget inside the send's transaction: two requests
racing for the last dollar cannot both be admitted, and a refusal rolls back every reservation
made before it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from playground.llm.pricing import dollars, from_micros, micros

from . import budgets
from .models import Budget, BudgetMonth, Reservation, UsageRecord, charge


class BudgetExceeded(Exception):
    """The request's worst case does not fit a budget; the message says what remains."""


def _whose(budget: Budget) -> str:
    return "your monthly budget" if budget.user_id else "the workspace's monthly budget"


def reserve(workspace, user, amount_micros: int | None, unpriced: str = "") -> list[int]:
    """Hold ``amount_micros`` against every budget of ``user`` in ``workspace`` (call inside
    the send's transaction); the ids of the month rows held, for ``settle``.

    ``amount_micros`` None: the model (``unpriced`` names it) has no price, so its answers
    would be charged nothing and no budget could stop them: refused while a budget applies.
    Zero (a free provider): nothing to hold, and no budget limits it.
    """
    if amount_micros == 0:
        return []
    applying = budgets.budgets_for(workspace, user)
    if amount_micros is None:
        if applying:
            raise BudgetExceeded(
                f"{unpriced} has no price, so {_whose(applying[0])} cannot limit what it "
                "costs. Ask the instance admin to add a price for it, or to mark the provider "
                "as free."
            )
        return []
    month, held = budgets.this_month(), []
    for budget in applying:
        row = budgets.month_row(budget, month)
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


def hold(message_id: int, amount_micros: int, months: list[int]) -> None:
    """Keep what ``reserve`` held for the answer ``message_id`` until it is settled."""
    if months:
        Reservation.objects.create(
            message_id=message_id, amount_micros=amount_micros, months=months
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


def set_caps(workspace, editor, caps: list[tuple[object, Decimal | None]]) -> None:
    """Monthly caps of the workspace (member None) and of members; None removes a cap."""
    with transaction.atomic():
        for member, cap in caps:
            if cap is None:
                Budget.objects.filter(workspace=workspace, user=member).delete()
                continue
            Budget.objects.update_or_create(
                workspace=workspace,
                user=member,
                defaults={"monthly_cap_micros": micros(cap), "updated_by": editor},
            )


@dataclass(frozen=True, slots=True)
class Spend:
    """What one answer used, as its generation (or the sweeper) counted it."""

    message_id: int
    workspace_id: int
    chat_id: uuid.UUID | None
    user_id: int | None
    provider: object  # the Provider it was asked of (its prices), or None if removed
    provider_name: str
    model: str
    asked_at: datetime  # the price in force then applies
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    estimated: bool  # the provider reported no usage; the app counted
    billable: bool = True  # False: refused before any token, which providers do not bill


def charge_answer(spend: Spend, *, answer_exists: bool = True) -> int:
    """Record what the answer cost (one usage record per answer: a second call finds it and
    charges nothing more) and settle its reservation to it; the cost in micro-dollars.

    ``answer_exists`` False: the answer's chat was deleted while it was written. Its record is
    kept without the answer (a generation ends once, so it is made once).
    """
    with transaction.atomic():
        cost = _record(spend, answer_exists) if spend.billable else 0
        settle(spend.message_id, cost)
    return cost


def _record(spend: Spend, answer_exists: bool) -> int:
    fields = {
        "workspace_id": spend.workspace_id,
        "chat_id": spend.chat_id if answer_exists else None,
        "user_id": spend.user_id,
        "provider_name": spend.provider_name,
        "model": spend.model,
        "prompt_tokens": spend.prompt_tokens,
        "cached_tokens": spend.cached_tokens,
        "completion_tokens": spend.completion_tokens,
        "reasoning_tokens": spend.reasoning_tokens,
        "estimated": spend.estimated,
        **charge(
            spend.provider,
            spend.model,
            spend.asked_at,
            spend.prompt_tokens,
            spend.cached_tokens,
            spend.completion_tokens,
        ),
    }
    if answer_exists:
        record, _ = UsageRecord.objects.get_or_create(message_id=spend.message_id, defaults=fields)
    else:
        record = UsageRecord.objects.create(message=None, **fields)
    return record.cost_micros or 0
