"""A comparison's columns are answered together (issue 11): an answer of a column cannot be
retried alone through the chat endpoint, and no Retry is offered on it, neither on the
comparison's page nor in the final frame of a column's answer."""

from __future__ import annotations

import pytest

from playground.chats.generation import final_frame
from playground.chats.models import Message
from playground.comparisons.models import Comparison
from playground.streaming import runner
from tests.chats.helpers import reply
from tests.comparisons.test_compare import three_columns

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}


def retry_url(message: Message) -> str:
    return f"/message/{message.pk}/retry"


@pytest.fixture
def column_answer(owner_client, simulator) -> Message:
    owner_client.post("/compare/start", three_columns(simulator))
    runner.wait_idle()
    return Message.objects.filter(
        chat__comparison__isnull=False, role=Message.Role.ASSISTANT
    ).first()


def test_a_column_answer_cannot_be_retried_alone(owner_client, column_answer):
    before = Message.objects.count()
    for headers in ({}, HTMX):
        response = owner_client.post(retry_url(column_answer), headers=headers)
        assert response.status_code == 404
    assert Message.objects.count() == before
    column_answer.chat.refresh_from_db()
    assert column_answer.chat.tip_id == column_answer.pk


def test_no_retry_is_offered_on_a_column_answer(owner_client, column_answer):
    comparison = Comparison.objects.get()
    page = owner_client.get(f"/compare/{comparison.pk}").content.decode()
    assert 'aria-label="Copy answer"' in page  # the answers' actions are there
    assert "/retry" not in page
    assert retry_url(column_answer) not in final_frame(column_answer.pk, 99)["html"]


def test_a_chat_answer_still_offers_retry(owner, owner_client, simulator):
    chat, _, answer = reply(owner, simulator, "#answer:3 hi")
    runner.wait_idle()
    assert retry_url(answer) in owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert retry_url(answer) in final_frame(answer.pk, 99)["html"]
