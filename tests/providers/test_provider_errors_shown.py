"""What a provider's error shows, and to whom (issue 11, items 8 and 17): the key never, the
plain words and the provider's own short message to everyone who reads the chat, the provider's
raw body (scrubbed) only to the instance admin on the answer's details page."""

import logging
from html import unescape

import pytest

from playground.chats.models import Message
from playground.streaming import runner
from tests.chats.helpers import reply
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

# The simulator's #fault:401 says back the Authorization header it was sent, as some
# providers do.
KEY = "sim-Zq81kT0pLw3vYh-secret"


def failed_answer(owner, simulator, text: str) -> Message:
    _, _, answer = reply(owner, simulator, text)
    runner.wait_idle()
    answer.refresh_from_db()
    assert answer.status == Message.Status.FAILED
    return answer


def test_an_error_that_echoes_the_key_shows_it_to_nobody(owner, member, simulator, caplog):
    simulator.set_api_key(KEY)
    simulator.save()
    with caplog.at_level(logging.DEBUG):
        answer = failed_answer(owner, simulator, "#fault:401")
    assert answer.error_kind == "unauthorized"
    assert answer.error_message.startswith("The provider rejected the API key.")
    assert "Bearer [redacted]" in answer.error_message
    assert KEY not in caplog.text

    chat_page = client_for(member).get(f"/chat/{answer.chat_id}").content.decode()
    assert "The provider rejected the API key." in unescape(chat_page)

    admin_page = client_for(owner).get(f"/message/{answer.pk}/details").content.decode()
    member_page = client_for(member).get(f"/message/{answer.pk}/details").content.decode()
    # The raw body is the simulator's JSON error object, its type included.
    assert "The provider's answer" in unescape(admin_page)
    assert '"type":"simulator_error"' in unescape(admin_page)
    assert "The provider's answer" not in unescape(member_page)
    assert "simulator_error" not in member_page  # not even under the usage
    for page in (chat_page, admin_page, member_page):
        assert KEY not in page


@pytest.mark.parametrize(
    ("fault", "kind", "said"),
    [
        ("json", "insufficient_balance", "insufficient balance (MiniMax code 1008)"),
        (
            "json_error",
            "insufficient_balance",
            "You exceeded your current quota. (code insufficient_quota)",
        ),
    ],
)
def test_a_refusal_in_one_json_body_is_told_with_its_code(owner, simulator, fault, kind, said):
    answer = failed_answer(owner, simulator, f"#fault:{fault}")
    assert answer.error_kind == kind
    assert answer.error_message == (
        f"The provider account has insufficient balance. The provider refused: {said}."
    )
    assert not answer.content and not answer.reasoning
