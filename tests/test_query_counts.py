"""Pages make a constant number of queries, whatever the number of messages, columns or
usage rows (design §7). The figures are exact so that a new query per page is noticed."""

import pytest

from playground.billing.models import UsageRecord
from playground.chats import actions
from playground.comparisons.models import Comparison
from playground.streaming import runner
from playground.workspaces.access import personal_workspace
from tests.chats.helpers import new_chat
from tests.comparisons.test_compare import three_columns

pytestmark = pytest.mark.django_db(transaction=True)

CHAT_PAGE = 13
SEND = 15
COMPARE_PAGE = 10
USAGE_PAGE = 9
WORKSPACE_USAGE_PAGE = 13


def _turns(chat, owner, count: int) -> None:
    for n in range(count):
        actions.start_reply(chat, owner, f"#think:2 #answer:2 question {n}")
        runner.wait_idle()


def test_the_chat_page(owner, owner_client, simulator, django_assert_num_queries):
    chat = new_chat(owner, simulator)
    _turns(chat, owner, 1)
    with django_assert_num_queries(CHAT_PAGE):
        assert owner_client.get(f"/chat/{chat.pk}").status_code == 200
    _turns(chat, owner, 19)  # 40 messages
    with django_assert_num_queries(CHAT_PAGE):
        assert owner_client.get(f"/chat/{chat.pk}").status_code == 200


def test_the_send_request(owner, owner_client, simulator, django_assert_num_queries):
    chat = new_chat(owner, simulator)
    _turns(chat, owner, 1)
    htmx = {"HX-Request": "true"}
    with django_assert_num_queries(SEND):
        owner_client.post(f"/chat/{chat.pk}/send", {"text": "#answer:2 hi"}, headers=htmx)
    runner.wait_idle()
    _turns(chat, owner, 19)
    with django_assert_num_queries(SEND):
        owner_client.post(f"/chat/{chat.pk}/send", {"text": "#answer:2 hi"}, headers=htmx)
    runner.wait_idle()


def test_the_compare_page(owner, owner_client, simulator, django_assert_num_queries):
    owner_client.post("/compare/start", three_columns(simulator))
    runner.wait_idle()
    comparison = Comparison.objects.get()
    with django_assert_num_queries(COMPARE_PAGE):
        assert owner_client.get(f"/compare/{comparison.pk}").status_code == 200
    for n in range(5):
        owner_client.post(f"/compare/{comparison.pk}/send", {"text": f"#answer:2 more {n}"})
        runner.wait_idle()
    with django_assert_num_queries(COMPARE_PAGE):
        assert owner_client.get(f"/compare/{comparison.pk}").status_code == 200


def test_the_usage_pages(owner, member, owner_client, simulator, django_assert_num_queries):
    workspace = personal_workspace(owner)
    workspace_url = f"/workspace/{workspace.pk}/usage"

    def spend(count: int) -> None:
        for n in range(count):
            chat = new_chat(owner, simulator)
            UsageRecord.objects.create(
                workspace=workspace,
                user=member if n % 2 else owner,
                chat=chat,
                provider_name="Simulator",
                model="MiniMax-M1-40k",
                prompt_tokens=100,
                completion_tokens=50,
                cost_micros=1_000,
            )

    spend(2)
    with django_assert_num_queries(USAGE_PAGE):
        owner_client.get("/usage/")
    with django_assert_num_queries(WORKSPACE_USAGE_PAGE):
        owner_client.get(workspace_url)
    spend(30)
    with django_assert_num_queries(USAGE_PAGE):
        owner_client.get("/usage/")
    with django_assert_num_queries(WORKSPACE_USAGE_PAGE):
        owner_client.get(workspace_url)
