"""Compare: one prompt to 2 to 4 configurations, each column answering with its own settings,
follow-ups to all columns, and a column continued as a chat of its own."""

from __future__ import annotations

import pytest

from playground.chats.models import Chat, Message
from playground.comparisons.models import Comparison
from playground.llm import simulator as simulator_module
from playground.streaming import runner

pytestmark = pytest.mark.django_db(transaction=True)


def column_data(number: int, model: str, provider, **settings) -> dict:
    data = {
        f"c{number}-model": f"{provider.pk}:{model}",
        f"c{number}-temperature": "1.0",
        f"c{number}-top_p": "0.95",
        f"c{number}-presence_penalty": "0",
        f"c{number}-frequency_penalty": "0",
    }
    data.update({f"c{number}-{name}": str(value) for name, value in settings.items()})
    return data


@pytest.fixture
def sent_bodies(monkeypatch) -> list[dict]:
    """Every request body the simulator receives."""
    bodies: list[dict] = []
    original = simulator_module.handle_chat_completion

    def recording(body, headers):
        bodies.append(body)
        return original(body, headers)

    monkeypatch.setattr(simulator_module, "handle_chat_completion", recording)
    return bodies


def three_columns(provider) -> dict:
    return {
        **column_data(1, "MiniMax-M1-40k", provider),
        **column_data(2, "MiniMax-M1-80k", provider, temperature=0.4, seed=11),
        **column_data(3, "MiniMax-M1-40k", provider, thinking_budget=1000, max_tokens=5000),
        "c3-included": "1",
        "text": "#think:40 #answer:20 Which sort is stable?",
    }


def test_the_set_up_page_offers_the_two_variants_and_two_spare_columns(owner_client, simulator):
    html = owner_client.get("/compare/new").content.decode()
    assert html.count("data-column-card") == 4
    assert f'value="{simulator.pk}:MiniMax-M1-40k" selected' in html
    assert f'value="{simulator.pk}:MiniMax-M1-80k" selected' in html
    assert html.count("data-column-card data-prompt-scope hidden") == 2
    assert 'name="c3-included" value=""' in html and 'name="c1-included" value="1"' in html


def test_three_columns_each_answer_with_their_own_settings(
    owner, owner_client, simulator, sent_bodies
):
    response = owner_client.post("/compare/start", three_columns(simulator))
    comparison = Comparison.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/compare/{comparison.pk}"
    runner.wait_idle()
    columns = comparison.column_chats()
    assert [c.column for c in columns] == [1, 2, 3]
    assert [c.model for c in columns] == ["MiniMax-M1-40k", "MiniMax-M1-80k", "MiniMax-M1-40k"]
    answers = [c.messages.get(role=Message.Role.ASSISTANT) for c in columns]
    assert all(a.status == Message.Status.COMPLETE and a.content for a in answers)
    assert answers[1].params["temperature"] == 0.4 and answers[1].params["seed"] == 11
    assert answers[2].params["thinking_budget"] == 1000 and answers[2].params["max_tokens"] == 5000
    by_model_and_temperature = sorted(
        (b["model"], b["temperature"], b.get("seed"), b.get("max_tokens")) for b in sent_bodies
    )
    assert by_model_and_temperature == [
        ("MiniMax-M1-40k", 1.0, None, 5000),
        ("MiniMax-M1-40k", 1.0, None, 40000),  # no max set: the model's output limit
        ("MiniMax-M1-80k", 0.4, 11, 80000),
    ]
    assert comparison.title == "Which sort is stable?"  # without the simulator's directives
    # Columns are not chats of their own: the sidebar lists the comparison, not three chats.
    page = owner_client.get(f"/compare/{comparison.pk}").content.decode()
    assert page.count('class="compare-column"') == 3
    assert "temperature 0.4" in page and "budget 1,000" in page and "seed 11" in page
    assert "No chats yet." in page
    assert owner_client.get(f"/chat/{columns[0].pk}")["Location"] == f"/compare/{comparison.pk}"


def test_a_bad_column_setting_is_named_and_nothing_is_sent(owner_client, simulator):
    data = three_columns(simulator)
    data["c2-temperature"] = "7"
    data["c3-thinking_budget"] = "10"
    response = owner_client.post("/compare/start", data)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Some column settings need fixing; nothing was sent." in html
    assert "Temperature must be in" in html and "must be between 1,000 and 40,000" in html
    assert "Which sort is stable?" in html  # the prompt is kept
    assert not Comparison.objects.exists() and not Message.objects.exists()


def test_an_unavailable_model_or_an_empty_prompt_is_refused(owner_client, simulator):
    data = three_columns(simulator)
    data["c1-model"] = f"{simulator.pk}:gpt-nothing"
    response = owner_client.post("/compare/start", data)
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
    data = {**three_columns(simulator), "text": "   "}
    response = owner_client.post("/compare/start", data)
    assert response.status_code == 422 and "Write a message first." in response.content.decode()
    assert not Chat.objects.exists()


def test_columns_three_and_four_take_part_only_when_added(owner_client, simulator):
    data = three_columns(simulator)
    data.update(column_data(4, "MiniMax-M1-80k", simulator, temperature=99))  # not added
    data["c4-included"] = ""
    owner_client.post("/compare/start", data)
    runner.wait_idle()
    assert Comparison.objects.get().columns.count() == 3


def test_a_follow_up_goes_to_every_column_and_a_column_continues_as_a_chat(
    owner, owner_client, simulator
):
    owner_client.post("/compare/start", three_columns(simulator))
    comparison = Comparison.objects.get()
    runner.wait_idle()
    follow_up = {"text": "#answer:10 And in place?"}
    response = owner_client.post(
        f"/compare/{comparison.pk}/send", follow_up, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    for number in (1, 2, 3):
        assert f'hx-swap-oob="beforeend:#column-{number}-messages"' in html
    runner.wait_idle()
    second = comparison.columns.get(column=2)
    assert [m.role for m in second.branch()] == ["user", "assistant"] * 2

    response = owner_client.post(f"/chat/{second.pk}/continue")
    chat = Chat.objects.standalone().get()
    assert response["Location"] == f"/chat/{chat.pk}"
    assert chat.model == "MiniMax-M1-80k" and chat.params == second.params
    copied, original = chat.branch(), second.branch()
    assert [(m.role, m.content) for m in copied] == [(m.role, m.content) for m in original]
    assert {m.pk for m in copied}.isdisjoint({m.pk for m in original})
    # The chat goes on with its own history; the comparison stays as it was.
    owner_client.post(f"/chat/{chat.pk}/send", {"text": "#answer:5 Thanks"})
    runner.wait_idle()
    assert len(chat.branch()) == 6 and len(second.branch()) == 4
    assert chat.title.endswith("· MiniMax-M1-80k")
    assert [m.created_at for m in copied] == [m.created_at for m in original]


def test_a_column_changes_only_through_its_comparison(owner, owner_client, simulator):
    owner_client.post("/compare/start", three_columns(simulator))
    column = Comparison.objects.get().columns.get(column=1)
    runner.wait_idle()
    for path in ("send", "model", "settings", "rename", "delete", "presets/save"):
        response = owner_client.post(f"/chat/{column.pk}/{path}", {"text": "x", "name": "x"})
        assert response.status_code == 404, path
    assert owner_client.get(f"/chat/{column.pk}/code").status_code == 404
    assert column.messages.count() == 2 and Chat.objects.filter(pk=column.pk).exists()


def test_a_follow_up_is_refused_while_a_column_is_answering(owner, owner_client, simulator):
    simulator.simulator_tokens_per_second = 20
    simulator.save()
    data = {**three_columns(simulator), "text": "#think:400 slow"}
    owner_client.post("/compare/start", data)
    comparison = Comparison.objects.get()
    response = owner_client.post(
        f"/compare/{comparison.pk}/send", {"text": "next"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422 and "still being written" in response.content.decode()
    assert response["HX-Retarget"] == "#composer"
    assert Message.objects.filter(content="next").count() == 0
    column = comparison.columns.get(column=1)
    response = owner_client.post(f"/chat/{column.pk}/continue", follow=True)
    assert "Wait for the column" in response.content.decode()
    owner_client.post(f"/compare/{comparison.pk}/delete")
    assert not Comparison.objects.exists() and not Message.objects.exists()


def test_outsiders_see_no_comparison(owner, owner_client, outsider_client, simulator):
    owner_client.post("/compare/start", three_columns(simulator))
    comparison = Comparison.objects.get()
    column = comparison.columns.first()
    runner.wait_idle()
    for method, path in (
        ("get", f"/compare/{comparison.pk}"),
        ("get", f"/compare/new?from={comparison.pk}"),
        ("post", f"/compare/{comparison.pk}/send"),
        ("post", f"/compare/{comparison.pk}/delete"),
        ("post", f"/chat/{column.pk}/continue"),
    ):
        data = {"text": "x"} if method == "post" else None
        assert getattr(outsider_client, method)(path, data).status_code == 404
    assert owner_client.get("/compare/not-a-uuid").status_code == 404
    assert Comparison.objects.exists() and Chat.objects.standalone().count() == 0


def test_edit_and_run_again_starts_from_the_comparison(owner_client, simulator):
    owner_client.post("/compare/start", three_columns(simulator))
    comparison = Comparison.objects.get()
    runner.wait_idle()
    html = owner_client.get(f"/compare/new?from={comparison.pk}").content.decode()
    assert 'name="c3-included" value="1"' in html and 'name="c4-included" value=""' in html
    assert 'name="c2-temperature" value="0.4"' in html
    assert 'name="c3-thinking_budget" value="1000"' in html
    assert "Which sort is stable?" in html


def test_a_field_error_is_named_by_the_field_it_describes(owner_client, simulator):
    """The project field template (as_field_group) gives the error the id Django's widget
    points at with aria-describedby (it pointed at nothing before)."""
    data = three_columns(simulator)
    data["c2-temperature"] = "7"
    html = owner_client.post("/compare/start", data).content.decode()
    assert 'aria-describedby="id_c2-temperature_error"' in html
    assert 'id="id_c2-temperature_error"' in html


def test_a_refusal_in_the_browser_swaps_the_form_in_place(owner_client, simulator):
    """Defect: a refused Compare left the browser on /compare/start, and a reload posted the
    prompt again. With htmx the form is swapped in place (the address stays /compare/new);
    a comparison that starts is reached by HX-Redirect."""
    data = {**three_columns(simulator), "c2-temperature": "7"}
    refused = owner_client.post("/compare/start", data, headers={"HX-Request": "true"})
    html = refused.content.decode()
    assert refused.status_code == 422 and html.lstrip().startswith("<form")
    assert "Temperature must be in" in html and "<html" not in html
    assert not Comparison.objects.exists()
    started = owner_client.post(
        "/compare/start", three_columns(simulator), headers={"HX-Request": "true"}
    )
    comparison = Comparison.objects.get()
    assert started["HX-Redirect"] == f"/compare/{comparison.pk}"
    runner.wait_idle()
