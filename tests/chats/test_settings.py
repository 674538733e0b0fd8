"""Chat settings: saved per chat, refused at the field when bad, recorded on each answer and
sent to the provider as they were."""

import pytest

from playground.chats.models import Message
from playground.chats.prompt import build_request
from playground.llm.params import RECOMMENDED_SYSTEM_PROMPTS
from playground.streaming import runner
from tests.chats.helpers import new_chat

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}


def form(**changes) -> dict:
    data = {
        "system_prompt": "",
        "temperature": "1.0",
        "top_p": "0.95",
        "max_tokens": "",
        "thinking_budget": "",
        "presence_penalty": "0",
        "frequency_penalty": "0",
        "seed": "",
        "stop_1": "",
        "stop_2": "",
        "stop_3": "",
        "stop_4": "",
    }
    data.update({k: str(v) for k, v in changes.items()})
    return data


def test_the_drawer_shows_the_defaults_and_the_recommended_prompts(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    page = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert 'name="temperature" value="1.0"' in page and 'name="top_p" value="0.95"' in page
    for name in RECOMMENDED_SYSTEM_PROMPTS:
        assert f"Use the recommended {name.lower()} system prompt" in page


def test_saved_settings_persist_with_the_chat(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    response = owner_client.post(
        f"/chat/{chat.pk}/settings",
        form(system_prompt="Be brief.", temperature=0.3, seed=7, stop_1="END", max_tokens=9000),
        headers=HTMX,
    )
    assert response.status_code == 200 and "Saved." in response.content.decode()
    chat.refresh_from_db()
    assert chat.params["temperature"] == 0.3 and chat.params["seed"] == 7
    assert chat.params["stop"] == ["END"] and chat.params["system_prompt"] == "Be brief."
    page = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert 'name="temperature" value="0.3"' in page and 'value="END"' in page


@pytest.mark.parametrize(
    "changes,field,text",
    [
        ({"temperature": 5}, "temperature", "[0, 2]"),
        ({"temperature": "warm"}, "temperature", "Enter a number"),
        ({"top_p": 0}, "top_p", "above 0"),
        ({"max_tokens": 40001}, "max_tokens", "40,000"),
        ({"thinking_budget": 200}, "thinking_budget", "between 1,000"),
        ({"max_tokens": 2000, "thinking_budget": 3000}, "thinking_budget", "above max output"),
        ({"stop_1": "x" * 201}, "stop_1", "200 characters"),
    ],
)
def test_a_bad_value_is_named_at_its_field_and_nothing_is_saved(
    owner, owner_client, simulator, changes, field, text
):
    chat = new_chat(owner, simulator)
    chat.params = {"temperature": 0.5}
    chat.save()
    response = owner_client.post(f"/chat/{chat.pk}/settings", form(**changes), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in html and text in html
    assert "Some values need fixing; nothing was saved." in html
    chat.refresh_from_db()
    assert chat.params == {"temperature": 0.5}


def test_without_htmx_a_bad_value_reopens_the_drawer_with_the_message(
    owner, owner_client, simulator
):
    chat = new_chat(owner, simulator)
    response = owner_client.post(f"/chat/{chat.pk}/settings", form(top_p=3))
    html = response.content.decode()
    assert response.status_code == 422 and 'id="id_top_p_error"' in html
    assert 'aria-label="Chat settings" hidden' not in html


def test_a_tight_budget_is_warned_about(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    response = owner_client.post(
        f"/chat/{chat.pk}/settings", form(max_tokens=4000, thinking_budget=4000), headers=HTMX
    )
    assert "leave little or no room for an answer" in response.content.decode()


def test_an_outsider_cannot_read_or_change_settings(owner, outsider_client, simulator):
    chat = new_chat(owner, simulator)
    response = outsider_client.post(f"/chat/{chat.pk}/settings", form(temperature=0.1))
    assert response.status_code == 404
    chat.refresh_from_db()
    assert chat.params == {}


def test_each_answer_records_its_settings_and_the_request_carries_them(
    owner, owner_client, simulator
):
    chat = new_chat(owner, simulator, model="MiniMax-M1-80k")
    owner_client.post(
        f"/chat/{chat.pk}/settings",
        form(
            system_prompt="Answer in French.",
            temperature=0.2,
            seed=11,
            stop_1="zzz",
            max_tokens=12000,
            presence_penalty=0.5,
        ),
    )
    owner_client.post(f"/chat/{chat.pk}/send", {"text": "Bonjour"})
    runner.wait_idle()
    answer = Message.objects.get(chat=chat, role=Message.Role.ASSISTANT)
    assert answer.params["temperature"] == 0.2 and answer.params["seed"] == 11
    request = build_request(answer)
    assert request["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert request["messages"][1] == {"role": "user", "content": "Bonjour"}
    assert {k: request[k] for k in ("temperature", "top_p", "max_tokens", "seed", "stop")} == {
        "temperature": 0.2,
        "top_p": 0.95,
        "max_tokens": 12000,
        "seed": 11,
        "stop": ["zzz"],
    }
    assert request["presence_penalty"] == 0.5
    # Later changes to the chat do not rewrite what an earlier answer was sent with.
    owner_client.post(f"/chat/{chat.pk}/settings", form(temperature=0.9))
    answer.refresh_from_db()
    assert build_request(answer)["temperature"] == 0.2


def test_the_provider_honours_max_tokens_from_the_settings(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    owner_client.post(f"/chat/{chat.pk}/settings", form(max_tokens=30))
    owner_client.post(f"/chat/{chat.pk}/send", {"text": "#think:20 #answer:200 go"})
    runner.wait_idle()
    answer = Message.objects.get(chat=chat, role=Message.Role.ASSISTANT)
    assert answer.finish_reason == "length"
    assert answer.reasoning_tokens + answer.content_tokens == 30


def test_settings_that_no_longer_fit_the_model_refuse_the_send(owner, owner_client, simulator):
    chat = new_chat(owner, simulator, model="MiniMax-M1-80k")
    owner_client.post(f"/chat/{chat.pk}/settings", form(max_tokens=60000))
    chat.refresh_from_db()
    chat.model = "MiniMax-M1-40k"
    chat.save()
    response = owner_client.post(f"/chat/{chat.pk}/send", {"text": "hello"}, headers=HTMX)
    assert response.status_code == 422
    assert "Check the chat settings" in response.content.decode()
    assert not Message.objects.filter(chat=chat).exists()


def test_help_and_errors_are_named_by_their_fields(owner, owner_client, simulator):
    """The settings form renders through the project field template: the widget's
    aria-describedby points at the help text and the error that exist on the page."""
    from tests.chats.helpers import new_chat

    chat = new_chat(owner, simulator)
    html = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert 'aria-describedby="id_thinking_budget_helptext"' in html
    assert 'id="id_thinking_budget_helptext"' in html
    bad = owner_client.post(f"/chat/{chat.pk}/settings", {"temperature": "hot", "top_p": "0.95"})
    html = bad.content.decode()
    assert bad.status_code == 422 and 'id="id_temperature_error"' in html
    widget = html.split('name="temperature"')[1].split(">", 1)[0]
    assert 'aria-describedby="id_temperature_error"' in widget
