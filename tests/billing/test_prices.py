"""Prices: tiers by input length, cached input, the admin's price tables from a date, and the
cost every answer is charged exactly once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from playground.billing.models import Price, UsageRecord, charge, price_for
from playground.chats import actions
from playground.chats.models import Message
from playground.llm.pricing import MINIMAX_M1, PriceError, cost, micros, validate_tiers
from playground.streaming import runner
from tests.chats.helpers import new_chat

M1 = [
    {"up_to": 200_000, "input": "0.40", "cached_input": "0.10", "output": "2.20"},
    {"up_to": None, "input": "1.30", "cached_input": "", "output": "2.20"},
]


def test_the_tier_of_the_input_prices_the_whole_request():
    at_boundary = cost(MINIMAX_M1, 200_000, 10_000)
    over = cost(MINIMAX_M1, 200_001, 10_000)
    assert at_boundary.input == Decimal("0.08") and at_boundary.output == Decimal("0.022")
    assert over.input == Decimal("1.30") * 200_001 / 1_000_000
    assert over.tier.up_to is None and at_boundary.tier.up_to == 200_000


def test_cached_input_costs_the_cached_price_where_a_tier_has_one():
    table = validate_tiers(M1)
    below = cost(table, 100_000, 0, cached_tokens=60_000)
    assert below.input == (Decimal("0.40") * 40_000 + Decimal("0.10") * 60_000) / 1_000_000
    above = cost(table, 300_000, 0, cached_tokens=300_000)  # no cached price: as input
    assert above.input == Decimal("1.30") * 300_000 / 1_000_000
    assert cost(table, 10, 0, cached_tokens=99).input == Decimal("0.10") * 10 / 1_000_000


def test_money_is_whole_micro_dollars():
    assert micros(Decimal("0.0000005")) == 1 and micros(Decimal("0.0000004")) == 0
    assert micros(cost(MINIMAX_M1, 1, 0).input) == 0  # $0.0000004
    assert micros(Decimal("1.37")) == 1_370_000


@pytest.mark.parametrize(
    "rows,message",
    [
        ([], "at least one tier"),
        ([{"up_to": None, "input": "-1", "output": "2"}], "cannot be negative"),
        ([{"up_to": None, "input": "", "output": "2"}], "needs an input price"),
        ([{"up_to": None, "input": "abc", "output": "2"}], "must be a number"),
        ([{"up_to": None, "input": "NaN", "output": "2"}], "cannot be negative"),
        ([{"up_to": 5, "input": "1", "output": "2"}], "last tier has no upper bound"),
        (
            [
                {"up_to": 100, "input": "1", "output": "2"},
                {"up_to": 50, "input": "1", "output": "2"},
                {"up_to": None, "input": "1", "output": "2"},
            ],
            "more than 100",
        ),
    ],
)
def test_a_negative_or_missing_price_is_refused(rows, message):
    with pytest.raises(PriceError, match=message):
        validate_tiers(rows)


@pytest.mark.django_db
def test_a_price_applies_from_its_date_and_the_published_one_before(simulator):
    now = timezone.now()
    assert price_for(simulator, "MiniMax-M1-40k")[0] == MINIMAX_M1
    Price.objects.create(
        provider=simulator,
        model="MiniMax-M1-40k",
        effective_from=now - timedelta(days=1),
        tiers=[{"up_to": None, "input": "1", "cached_input": None, "output": "1"}],
    )
    table, price = price_for(simulator, "MiniMax-M1-40k")
    assert price is not None and table.tiers[0].input_per_million == Decimal(1)
    assert price_for(simulator, "MiniMax-M1-40k", now - timedelta(days=2))[0] == MINIMAX_M1
    assert price_for(simulator, "some-other-model")[0] is None
    assert charge(simulator, "some-other-model", now, 10, 0, 10) == {}


@pytest.mark.django_db(transaction=True)
def test_every_answer_is_charged_once_at_its_tier(owner, simulator):
    chat = new_chat(owner, simulator)
    _, answer = actions.start_reply(chat, owner, "#think:100 #answer:50 price me")
    runner.wait_idle()
    record = UsageRecord.objects.get(message=answer)
    expected = cost(MINIMAX_M1, record.prompt_tokens, record.completion_tokens)
    assert record.cost_micros == micros(expected.input) + micros(expected.output)
    assert record.tier == "input up to 200k" and record.price is None
    assert record.completion_tokens == 150
    # A second settle finds the record and changes nothing.
    from playground.billing.actions import charge_answer
    from playground.chats.generation import spend_of

    answer = Message.objects.select_related("chat", "provider").get(pk=answer.pk)
    charge_answer(spend_of(answer))
    assert UsageRecord.objects.filter(message=answer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_answer_and_the_inspector_show_the_cost(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    owner_client.post(f"/chat/{chat.pk}/send", {"text": "#think:10 #answer:10 hi"})
    runner.wait_idle()
    record = UsageRecord.objects.get()
    page = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert "· input up to 200k" in page and "spent in this chat" in page
    details = owner_client.get(f"/message/{record.message_id}/details").content.decode()
    assert "at the input up to 200k tier" in details


@pytest.mark.django_db
def test_the_instance_admin_sets_a_price_and_bad_ones_are_refused(
    owner, owner_client, member, simulator
):
    url = f"/admin/providers/{simulator.pk}/prices"
    data = {
        "model": "MiniMax-M1-80k",
        "effective_from": "2026-12-01T00:00",
        "tier1_up_to": "200000",
        "tier1_input": "0.40",
        "tier1_cached_input": "0.10",
        "tier1_output": "2.20",
        "tier2_input": "1.30",
        "tier2_output": "2.20",
    }
    response = owner_client.post(url, data)
    assert response.status_code == 302
    price = Price.objects.get()
    assert price.tiers == [M1[0], {**M1[1], "cached_input": None}]
    bad = owner_client.post(url, {**data, "tier2_output": "-3"})
    assert bad.status_code == 422 and "cannot be negative" in bad.content.decode()
    missing = owner_client.post(url, {**data, "tier2_output": ""})
    assert missing.status_code == 422 and "needs an output price" in missing.content.decode()
    assert Price.objects.count() == 1
    from tests.conftest import client_for

    assert client_for(member).get(url).status_code == 403
    assert "Prices of Simulator" in owner_client.get(url).content.decode()
