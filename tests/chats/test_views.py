"""Sending, refusing bad input, and keeping other people's chats out of reach."""

import uuid

import pytest

from playground.billing.models import UsageRecord
from playground.chats import actions
from playground.chats.models import Chat, Message
from playground.streaming import runner
from tests.chats.helpers import new_chat, reply

pytestmark = pytest.mark.django_db(transaction=True)


def test_first_message_creates_a_chat_and_streams_a_reply(owner_client, simulator):
    response = owner_client.post(
        "/chat/start", {"text": "Explain CAP theorem", "model": f"{simulator.pk}:MiniMax-M1-80k"}
    )
    assert response.status_code == 302
    chat = Chat.objects.get()
    assert response["Location"] == f"/chat/{chat.pk}"
    assert chat.title == "Explain CAP theorem" and chat.model == "MiniMax-M1-80k"
    runner.wait_idle()
    question, answer = chat.branch()
    assert question.content == "Explain CAP theorem"
    answer.refresh_from_db()
    assert answer.status == Message.Status.COMPLETE
    assert answer.reasoning and answer.content.startswith("## Explain CAP theorem")
    assert "<h2>" in answer.content_html
    assert answer.model == "MiniMax-M1-80k" and answer.provider_name == "Simulator"
    assert answer.reasoning_tokens > 0 and answer.content_tokens > 0
    assert answer.time_to_first_token_ms is not None
    record = UsageRecord.objects.get(message=answer)
    assert record.completion_tokens == answer.reasoning_tokens + answer.content_tokens
    assert not record.estimated
    page = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert "TTFT" in page and "tok/s" in page and "MiniMax-M1-80k" in page


def test_htmx_send_returns_both_messages(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    response = owner_client.post(
        f"/chat/{chat.pk}/send", {"text": "second"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="msg msg-user"') == 1 and 'data-status="streaming"' in html


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", "Write a message first."),
        ("   \n\t ", "Write a message first."),
        ("x" * 400_001, "the limit is 400,000"),
    ],
)
def test_bad_messages_are_refused_with_the_draft_kept(owner, owner_client, simulator, text, reason):
    chat = new_chat(owner, simulator)
    response = owner_client.post(
        f"/chat/{chat.pk}/send", {"text": text}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert reason in response.content.decode()
    assert not Message.objects.exists()
    if text.strip():
        assert text[:100] in response.content.decode()  # nothing the user wrote is lost


def test_unknown_model_is_refused(owner_client, simulator):
    response = owner_client.post("/chat/start", {"text": "hi", "model": f"{simulator.pk}:gpt-9"})
    assert response.status_code == 422
    assert "does not offer the model" in response.content.decode()
    assert not Chat.objects.exists()


def test_a_second_send_while_streaming_is_refused(owner, owner_client, simulator):
    simulator.simulator_tokens_per_second = 50
    simulator.save()
    chat, _, answer = reply(owner, simulator, "#answer:200 slow")
    response = owner_client.post(f"/chat/{chat.pk}/send", {"text": "again"})
    assert response.status_code == 422
    assert "still being written" in response.content.decode()
    owner_client.post(f"/message/{answer.pk}/stop")


@pytest.mark.parametrize(
    "path",
    [
        "/chat/{sid}",
        "/chat/{sid}/send",
        "/chat/{sid}/model",
        "/chat/{sid}/rename",
        "/chat/{sid}/delete",
        "/message/{mid}/stop",
        "/message/{mid}/retry",
    ],
)
def test_outsiders_get_404_and_change_nothing(owner, outsider_client, simulator, path):
    chat, _, answer = reply(owner, simulator)
    runner.wait_idle()
    url = path.format(sid=chat.pk, mid=answer.pk)
    response = (
        outsider_client.post(url, {"text": "mine now", "title": "hijacked"})
        if path[-5:] != "{sid}" and not path.endswith("{sid}")
        else outsider_client.get(url)
    )
    assert response.status_code == 404
    chat.refresh_from_db()
    assert chat.title == "Hello" and chat.messages.count() == 2
    answer.refresh_from_db()
    assert not answer.cancel_requested


@pytest.mark.parametrize("bad", ["not-a-uuid", str(uuid.uuid4()), "0", "../../etc"])
def test_unknown_chat_ids_are_404(owner_client, bad):
    assert owner_client.get(f"/chat/{bad}").status_code == 404
    assert owner_client.post(f"/chat/{bad}/send", {"text": "x"}).status_code == 404


@pytest.mark.parametrize("bad", ["abc", "99999999", "1" * 40, "-1"])
def test_unknown_message_ids_are_404(owner_client, bad):
    assert owner_client.post(f"/message/{bad}/stop").status_code == 404


def test_anonymous_users_are_sent_to_login(client, simulator):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_retry_keeps_the_failed_answer_and_adds_a_new_one(owner, owner_client, simulator):
    chat, question, failed = reply(owner, simulator, "#fault:500 please")
    runner.wait_idle()
    failed.refresh_from_db()
    assert failed.status == Message.Status.FAILED
    response = owner_client.post(f"/message/{failed.pk}/retry", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    runner.wait_idle()
    answers = list(question.children.order_by("pk"))
    assert answers[0].pk == failed.pk and len(answers) == 2
    assert chat.branch()[-1] == answers[1]


def test_rename_and_delete(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    owner_client.post(f"/chat/{chat.pk}/rename", {"title": "  <b>Plans</b>  "})
    chat.refresh_from_db()
    assert chat.title == "<b>Plans</b>"
    page = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert "&lt;b&gt;Plans&lt;/b&gt;" in page and "<b>Plans</b>" not in page
    owner_client.post(f"/chat/{chat.pk}/rename", {"title": "   "})
    chat.refresh_from_db()
    assert chat.title == "<b>Plans</b>"
    owner_client.post(f"/chat/{chat.pk}/delete")
    assert not Chat.objects.exists()


def test_set_model_validates_the_choice(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    ok = owner_client.post(
        f"/chat/{chat.pk}/model",
        {"model": f"{simulator.pk}:MiniMax-M1-80k"},
        headers={"HX-Request": "true"},
    )
    assert ok.status_code == 204
    bad = owner_client.post(
        f"/chat/{chat.pk}/model", {"model": "999:MiniMax-M1-80k"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422
    chat.refresh_from_db()
    assert chat.model == "MiniMax-M1-80k"


def test_model_output_is_sanitized(owner, owner_client, simulator):
    from playground.chats.rendering import render_markdown

    html = render_markdown(
        "<img src=x onerror=alert(1)> [a](javascript:alert(2)) <script>x</script>\n\n"
        '```js" onmouseover="x\ncode\n```\n\n![p](https://example.com/a.png)'
    )
    assert "<img src=x" not in html and "<script" not in html
    assert 'href="javascript' not in html and "onmouseover" not in html.split("</code>")[0]
    assert "&lt;script&gt;" in html  # shown as text, not dropped
    assert '<img src="https://example.com/a.png" alt="p">' in html


def test_a_refused_first_message_creates_no_chat(owner, owner_client, simulator):
    """Defect: /chat/start answered 500 and left an empty chat behind when the budget refused
    the first message. Now: the refusal an existing chat shows, the draft kept, no rows."""
    from playground.billing.models import Budget
    from playground.workspaces.access import personal_workspace

    Budget.objects.create(workspace=personal_workspace(owner), monthly_cap_micros=1)
    response = owner_client.post("/chat/start", {"text": "An expensive question"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "monthly budget" in html and "An expensive question" in html
    assert not Chat.objects.exists() and not Message.objects.exists()
    htmx = owner_client.post("/chat/start", {"text": "Again"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and htmx["HX-Retarget"] == "#composer"
    assert not Chat.objects.exists()


def test_the_branch_is_one_query_from_the_tip(owner, simulator, django_assert_num_queries):
    chat = new_chat(owner, simulator)
    for n in range(3):
        actions.start_reply(chat, owner, f"#think:2 #answer:2 question {n}")
        runner.wait_idle()
    with django_assert_num_queries(1):
        branch = chat.branch()
    assert [m.role for m in branch] == ["user", "assistant"] * 3
    assert branch[-1].pk == Chat.objects.get(pk=chat.pk).tip_id
