"""A model without a price would cost nothing, so no budget could stop it (issue 11): while a
budget applies, its answers are refused until the instance admin adds a price or marks the
provider free. A free provider is not charged and no budget limits it."""

from __future__ import annotations

import pytest

from playground.billing.models import BudgetMonth, Reservation, UsageRecord
from playground.chats import actions
from playground.chats.models import Message
from playground.providers.models import Provider
from playground.streaming import runner
from tests.billing.test_budgets import cap
from tests.chats.helpers import new_chat
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

UNPRICED = "house-model-7b"  # no Price row, and no published price the app knows


@pytest.fixture
def house(simulator) -> Provider:
    simulator.model_ids = [*simulator.model_ids, UNPRICED]
    simulator.save()
    return simulator


@pytest.mark.parametrize("person", [False, True], ids=["workspace budget", "personal budget"])
def test_an_unpriced_model_is_refused_while_a_budget_applies(owner, owner_client, house, person):
    cap(owner, "100.00", person=person)
    chat = new_chat(owner, house, model=UNPRICED)
    response = owner_client.post(f"/chat/{chat.pk}/send", {"text": "hello there"})
    assert response.status_code == 422
    html = response.content.decode()
    assert f"{UNPRICED} of Simulator has no price" in html
    assert "Ask the instance admin to add a price for it, or to mark the provider as free." in html
    assert "hello there</textarea>" in html
    assert not Message.objects.exists() and not Reservation.objects.exists()
    assert list(BudgetMonth.objects.values_list("reserved_micros", flat=True)) == [0]


def test_without_a_budget_an_unpriced_model_is_asked(owner, owner_client, house):
    chat = new_chat(owner, house, model=UNPRICED)
    response = owner_client.post(f"/chat/{chat.pk}/send", {"text": "hello there"})
    assert response.status_code == 302
    assert Message.objects.filter(chat=chat).count() == 2
    assert not Reservation.objects.exists()


def test_a_free_provider_answers_at_no_cost_whatever_the_budget(owner, owner_client, house):
    house.is_free = True
    house.save()
    cap(owner, "0.00")  # nothing left at all
    unpriced = new_chat(owner, house, model=UNPRICED)
    assert owner_client.post(f"/chat/{unpriced.pk}/send", {"text": "hi"}).status_code == 302
    # A priced model costs nothing on a free provider either.
    chat = new_chat(owner, house, model="MiniMax-M1-40k")
    _, answer = actions.start_reply(chat, owner, "#answer:3 hi")
    runner.wait_idle()
    answer.refresh_from_db()
    assert answer.status == Message.Status.COMPLETE
    assert UsageRecord.objects.get(message=answer).cost_micros == 0
    assert not Reservation.objects.exists()
    assert not BudgetMonth.objects.filter(spent_micros__gt=0).exists()


def test_the_instance_admin_marks_a_provider_free(owner, owner_client, member, house):
    form = owner_client.get(f"/admin/providers/{house.pk}/edit").content.decode()
    assert "Free (no cost): answers are not charged and budgets do not limit them" in form
    response = owner_client.post(
        f"/admin/providers/{house.pk}/edit",
        {
            "name": house.name,
            "kind": house.kind,
            "model_ids_text": "\n".join(house.model_ids),
            "thinking_format": house.thinking_format,
            "simulator_tokens_per_second": "0",
            "enabled": "on",
            "is_default": "on",
            "is_free": "on",
        },
    )
    assert response.status_code == 302
    house.refresh_from_db()
    assert house.is_free
    listing = owner_client.get("/admin/providers/").content.decode()
    assert '<span class="badge" title="Answers are not charged' in listing
    # Only the instance admin manages providers.
    client_for(member).post(f"/admin/providers/{house.pk}/edit", {"is_free": ""})
    house.refresh_from_db()
    assert house.is_free
