"""View code and the inspector show exactly what the app sent, compared with what the provider
recorded, and only to people who can see the chat."""

import ast
import json
import re
from html import unescape

import pytest

from playground.chats import actions
from playground.chats.models import Message
from playground.llm import simulator
from playground.llm.snippets import abbreviate
from playground.streaming import runner
from tests.chats.helpers import new_chat

pytestmark = pytest.mark.django_db(transaction=True)


def sent_and_shown(owner, owner_client, simulator_provider, params: dict, text: str):
    chat = new_chat(owner, simulator_provider)
    chat.params = params
    chat.save()
    _, answer = actions.start_reply(chat, owner, text)
    runner.wait_idle()
    recorded = simulator.stats.last_request
    page = owner_client.get(f"/message/{answer.pk}/details")
    return answer, recorded, page


def python_kwargs(page_html: str, index: int = 0) -> dict:
    """The keyword arguments of the Python snippet, parsed as Python."""

    codes = re.findall(r'<code class="language-python">(.*?)</code>', page_html, re.S)
    code = unescape(codes[index])
    literal = code.split("client.chat.completions.create(**", 1)[1].rsplit(")\nfor chunk", 1)[0]
    return ast.literal_eval(literal)


def curl_body(page_html: str, index: int = 0) -> dict:

    codes = re.findall(r'<code class="language-bash">(.*?)</code>', page_html, re.S)
    code = unescape(codes[index])
    return json.loads(code.split("<<'JSON'\n", 1)[1].rsplit("\nJSON", 1)[0])


def test_view_code_equals_the_request_the_provider_received(owner, owner_client, simulator):
    params = {"system_prompt": "Be terse.", "temperature": 0.3, "seed": 5, "stop": ["END"]}
    _, recorded, page = sent_and_shown(owner, owner_client, simulator, params, "hi there")
    html = page.content.decode()
    assert page.status_code == 200
    kwargs = python_kwargs(html)
    body = curl_body(html)
    # The SDK adds nothing to the body beyond these fields for this request.
    assert kwargs == {**recorded, "stream": True}
    assert body == recorded
    assert "os.environ['SIMULATOR_API_KEY']" in unescape(html)
    assert "const client = new OpenAI" in html


def test_a_budget_forced_answer_shows_both_requests(owner, owner_client, simulator):
    params = {"thinking_budget": 1000, "max_tokens": 6000}
    _, recorded, page = sent_and_shown(
        owner, owner_client, simulator, params, "#tps:0 #think:3000 #answer:20 hard"
    )
    html = page.content.decode()
    assert "Request 2 (continuation)" in html
    assert "1,000 tokens, enforced by the app (reached: the thinking was stopped there)" in html
    # The continuation is what the provider saw last; its long prefill (the thinking) is shown
    # shortened in the middle, everything else as sent.
    shown = curl_body(html, 1)
    assert shown == {**recorded, "messages": shown["messages"]}
    assert shown["messages"][:-1] == recorded["messages"][:-1]
    assert shown["messages"][-1]["content"] == abbreviate(recorded["messages"][-1]["content"])
    assert recorded["messages"][-1]["content"].endswith("\n</think>\n\n")


def test_the_inspector_shows_what_came_back(owner, owner_client, simulator):
    answer, _, page = sent_and_shown(owner, owner_client, simulator, {}, "hello")
    answer.refresh_from_db()
    html = page.content.decode()
    assert answer.usage_raw and '"completion_tokens"' in unescape(html)
    assert f"Finish reason</dt><dd>{answer.finish_reason}" in html
    assert "<dt>Retries</dt><dd>0</dd>" in html
    for label in ("Queued", "Started", "First token", "Thinking ended", "Finished"):
        assert f"<dt>{label}</dt>" in html


def test_long_texts_are_shortened_but_the_rest_is_exact(owner, owner_client, simulator):
    long_prompt = "A" * 5000 + "MIDDLE" + "Z" * 5000
    _, recorded, page = sent_and_shown(
        owner, owner_client, simulator, {"system_prompt": long_prompt}, "q"
    )
    html = page.content.decode()
    assert "MIDDLE" not in html and "characters omitted" in html
    body = curl_body(html)
    assert body["messages"][1:] == recorded["messages"][1:]


def test_outsiders_and_questions_get_404(owner, owner_client, outsider_client, simulator):
    chat = new_chat(owner, simulator)
    question, answer = actions.start_reply(chat, owner, "hi")
    runner.wait_idle()
    assert outsider_client.get(f"/message/{answer.pk}/details").status_code == 404
    assert owner_client.get(f"/message/{question.pk}/details").status_code == 404
    assert owner_client.get("/message/abc/details").status_code == 404
    assert Message.objects.count() == 2


def test_an_answer_from_before_settings_shows_the_request_it_was_sent(
    owner, owner_client, simulator
):
    chat = new_chat(owner, simulator)
    _, answer = actions.start_reply(chat, owner, "old")
    runner.wait_idle()
    Message.objects.filter(pk=answer.pk).update(params={})
    body = curl_body(owner_client.get(f"/message/{answer.pk}/details").content.decode())
    assert body == {
        "model": "MiniMax-M1-40k",
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "old"}],
        "max_tokens": 40000,
        "stream": True,
    }


def test_view_code_for_the_settings_as_they_stand(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    actions.start_reply(chat, owner, "first question")
    runner.wait_idle()
    chat.refresh_from_db()
    chat.params = {"system_prompt": "Be terse.", "seed": 3}
    chat.save()
    page = owner_client.get(f"/chat/{chat.pk}/code")
    body = curl_body(page.content.decode())
    assert page.status_code == 200 and body["seed"] == 3
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert body["messages"][-1]["content"] == "(your next message)"
    assert "Inspector" not in page.content.decode()


def test_view_code_for_settings_that_no_longer_fit_says_why(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    chat.params = {"max_tokens": 70000}
    chat.save()
    response = owner_client.get(f"/chat/{chat.pk}/code", follow=True)
    assert "Check the chat settings" in response.content.decode()
