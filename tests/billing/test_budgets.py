"""Budgets: the worst case reserved before sending, refused with what remains, settled to the
real cost exactly once after complete, stopped and failed answers; warnings; the admin page."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from django.db import transaction

from playground.billing import actions as billing
from playground.billing import budgets
from playground.billing.models import Budget, BudgetMonth, Reservation, UsageRecord
from playground.chats import actions
from playground.chats.generation import charge_interrupted
from playground.chats.models import Message
from playground.streaming import runner
from playground.workspaces.access import personal_workspace
from tests.chats.helpers import new_chat

pytestmark = pytest.mark.django_db(transaction=True)


def cap(owner, dollars: str, person: bool = False) -> Budget:
    from decimal import Decimal

    from playground.llm.pricing import micros

    return Budget.objects.create(
        workspace=personal_workspace(owner),
        user=owner if person else None,
        monthly_cap_micros=micros(Decimal(dollars)),
    )


def month(budget: Budget) -> BudgetMonth:
    return BudgetMonth.objects.get(budget=budget, month=budgets.this_month())


def test_an_answer_holds_its_worst_case_then_is_settled_to_its_cost(owner, simulator):
    budget = cap(owner, "1.00")
    chat = new_chat(owner, simulator)
    chat.params = {"max_tokens": 10_000}
    chat.save()
    _, answer = actions.start_reply(chat, owner, "#think:50 #answer:50 #tps:0 hi")
    reservation = Reservation.objects.get(message_id=answer.pk)
    # 10,000 output tokens at $2.20 per million, plus a little input: about $0.022.
    assert 22_000 <= reservation.amount_micros < 23_000
    runner.wait_idle()
    reservation.refresh_from_db()
    record = UsageRecord.objects.get(message=answer)
    row = month(budget)
    assert reservation.settled_at is not None
    assert row.reserved_micros == 0 and row.spent_micros == record.cost_micros > 0
    assert not billing.settle(answer.pk, 999_999)  # a second settle changes nothing
    assert month(budget).spent_micros == record.cost_micros


def test_a_request_that_does_not_fit_is_refused_with_what_remains(owner, owner_client, simulator):
    cap(owner, "0.01", person=True)
    chat = new_chat(owner, simulator)
    response = owner_client.post(f"/chat/{chat.pk}/send", {"text": "hello"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "your monthly budget has $0.0100 left of $0.0100 this month" in html
    assert not Message.objects.exists() and not BudgetMonth.objects.filter(reserved_micros__gt=0)


def test_the_workspace_cap_and_the_persons_both_hold(owner, simulator):
    workspace_budget, person_budget = cap(owner, "1.00"), cap(owner, "0.05", person=True)
    chat = new_chat(owner, simulator)
    chat.params = {"max_tokens": 10_000}  # ~$0.022 each at worst
    chat.save()
    actions.start_reply(chat, owner, "#tps:5 #think:400 one")
    second = new_chat(owner, simulator)
    second.params = chat.params
    second.save()
    actions.start_reply(second, owner, "#tps:5 #think:400 two")
    third = new_chat(owner, simulator)
    third.params = chat.params
    third.save()
    with pytest.raises(actions.ReplyRefused, match="your monthly budget"):
        actions.start_reply(third, owner, "three")
    assert month(person_budget).reserved_micros == month(workspace_budget).reserved_micros
    for message in Message.objects.filter(status="streaming"):
        actions.request_stop(message)
    runner.wait_idle()
    # Stopped answers are settled too: nothing stays reserved.
    assert month(person_budget).reserved_micros == 0
    assert month(person_budget).spent_micros == sum(
        UsageRecord.objects.values_list("cost_micros", flat=True)
    )


def test_a_failed_answer_that_got_no_token_costs_nothing(owner, simulator):
    budget = cap(owner, "1.00")
    chat = new_chat(owner, simulator)
    _, answer = actions.start_reply(chat, owner, "#fault:500 boom")
    runner.wait_idle()
    answer.refresh_from_db()
    assert answer.status == "failed"
    row = month(budget)
    assert row.reserved_micros == 0 and row.spent_micros == 0
    assert Reservation.objects.get(message_id=answer.pk).settled_at is not None


def test_an_interrupted_answer_is_settled_to_an_estimate(owner, simulator):
    budget = cap(owner, "1.00")
    chat = new_chat(owner, simulator)
    _, answer = actions.start_reply(chat, owner, "#think:5 #answer:5 #tps:0 hi")
    runner.wait_idle()
    # As if its generation had died mid-stream: unsettled, no usage record.
    UsageRecord.objects.all().delete()
    Reservation.objects.filter(message_id=answer.pk).update(settled_at=None)
    BudgetMonth.objects.update(spent_micros=0, reserved_micros=10_000)
    Reservation.objects.filter(message_id=answer.pk).update(amount_micros=10_000)
    charge_interrupted([answer.pk])
    record = UsageRecord.objects.get(message=answer)
    assert record.estimated and record.cost_micros > 0
    row = month(budget)
    assert row.reserved_micros == 0 and row.spent_micros == record.cost_micros


def test_warnings_at_80_and_100_percent(owner, owner_client, simulator):
    budget = cap(owner, "1.00")
    chat = new_chat(owner, simulator)
    BudgetMonth.objects.create(budget=budget, month=budgets.this_month(), spent_micros=850_000)
    html = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert "Workspace budget: 85% used this month ($0.8500 of $1.00)" in html
    BudgetMonth.objects.update(spent_micros=1_000_000)
    html = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert "100% used" in html and "New requests are refused" in html


def test_admins_set_caps_and_bad_ones_are_refused(owner, owner_client, outsider_client):
    workspace = personal_workspace(owner)
    url = f"/workspace/{workspace.pk}/budgets"
    field = f"member_{owner.pk}_cap"
    response = owner_client.post(url, {"workspace_cap": "25", field: "$10.50"})
    assert response.status_code == 302
    assert {(b.user_id, b.monthly_cap_micros) for b in Budget.objects.all()} == {
        (None, 25_000_000),
        (owner.pk, 10_500_000),
    }
    bad = owner_client.post(url, {"workspace_cap": "-5", field: "ten"})
    html = bad.content.decode()
    assert bad.status_code == 422 and "cannot be negative" in html and "write an amount" in html
    assert Budget.objects.count() == 2
    owner_client.post(url, {"workspace_cap": "", field: "10.50"})  # empty: no cap
    assert not Budget.objects.filter(user__isnull=True).exists()
    assert outsider_client.get(url).status_code == 404


def test_deleting_a_chat_mid_answer_still_charges_and_releases_the_hold(
    owner, owner_client, simulator
):
    budget = cap(owner, "1.00")
    chat = new_chat(owner, simulator)
    _, answer = actions.start_reply(chat, owner, "#tps:20 #think:400 slow")
    for _ in range(200):  # mid-answer: once it has begun
        if Message.objects.filter(pk=answer.pk, first_token_at__isnull=False).exists():
            break
        time.sleep(0.05)
    owner_client.post(f"/chat/{chat.pk}/delete")
    runner.wait_idle()
    assert not Message.objects.exists()
    record = UsageRecord.objects.get()
    assert record.message is None and record.chat is None and record.cost_micros >= 0
    row = month(budget)
    assert row.reserved_micros == 0 and row.spent_micros == record.cost_micros
    assert Reservation.objects.get(message_id=answer.pk).settled_at is not None


def test_deleting_a_chat_before_its_answer_starts_releases_the_hold(owner, simulator):
    """The chat is gone before the generation claims its answer: nothing was used, nothing
    is charged, and the hold is released (it was held forever before)."""
    from playground.chats.generation import run_generation

    budget = cap(owner, "1.00")
    chat = new_chat(owner, simulator)
    with transaction.atomic():  # the generation starts on commit: delete before that
        _, answer = actions.start_reply(chat, owner, "#think:5 #answer:5 hi")
        Message.objects.filter(chat=chat).delete()
    runner.wait_idle()
    asyncio.run(run_generation(answer.pk))  # as a late task would, if it came at all
    assert not UsageRecord.objects.exists()
    assert month(budget).reserved_micros == 0
    assert Reservation.objects.get(message_id=answer.pk).settled_at is not None


def test_a_cap_set_mid_month_counts_what_was_spent_before_it(owner, simulator):
    chat = new_chat(owner, simulator)
    actions.start_reply(chat, owner, "#think:10 #answer:10 #tps:0 before the cap")
    runner.wait_idle()
    spent = UsageRecord.objects.get().cost_micros
    budget = cap(owner, "1.00", person=True)
    assert budgets.standings(personal_workspace(owner), owner)[0].spent_micros == spent
    assert month(budget).spent_micros == spent > 0


def test_the_compare_page_warns_too(owner, owner_client, simulator):
    from playground.comparisons import actions as compare
    from playground.llm.params import Params

    budget = cap(owner, "1.00")
    columns = [
        compare.ColumnConfig(simulator, model, Params())
        for model in ("MiniMax-M1-40k", "MiniMax-M1-80k")
    ]
    comparison = compare.start_comparison(
        owner, personal_workspace(owner), "#tps:0 #think:1 #answer:1 hi", columns
    )
    runner.wait_idle()
    BudgetMonth.objects.filter(budget=budget).update(spent_micros=900_000)
    html = owner_client.get(f"/compare/{comparison.pk}").content.decode()
    assert "Workspace budget: 90% used this month" in html


@pytest.mark.django_db(transaction=True)
def test_the_hold_counts_the_message_being_sent(owner, simulator):
    """The worst case reserved before a send includes the new question's input, not only the
    history before it and the output."""
    from playground.llm.pricing import micros

    Budget.objects.create(workspace=personal_workspace(owner), monthly_cap_micros=10_000_000)
    chat = new_chat(owner, simulator)
    long_question = "#think:2 #answer:2 " + "word " * 60_000  # about 68k tokens
    _, answer = actions.start_reply(chat, owner, long_question)
    runner.wait_idle()
    output_only = micros(Decimal("2.20") * 40_000 / 1_000_000)
    held = Reservation.objects.get(message_id=answer.pk).amount_micros
    assert held > output_only + micros(Decimal("0.40") * 60_000 / 1_000_000)
