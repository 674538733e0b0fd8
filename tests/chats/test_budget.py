"""The thinking budget is enforced by the app: stop at the budget, then continue with the
thinking closed where the provider can prefill, or say plainly that it cannot (design §4)."""

import pytest

from playground.billing.models import UsageRecord
from playground.chats.models import Message
from playground.chats.prompt import continuation_request
from playground.llm.client import ProviderKind
from playground.llm.simulator import split_tokens, stats
from playground.streaming import runner
from tests.chats.helpers import reply

pytestmark = pytest.mark.django_db(transaction=True)


def answer_with_budget(owner, simulator, budget: int, text: str) -> Message:
    chat, _, answer = reply(owner, simulator, text)  # settings apply from the next answer
    runner.wait_idle()
    chat.params = {"thinking_budget": budget, "max_tokens": 6000}
    chat.save()
    from playground.chats import actions

    _, answer = actions.start_reply(chat, owner, text)
    runner.wait_idle()
    answer.refresh_from_db()
    return answer


def test_thinking_stops_at_the_budget_and_the_answer_follows(owner, simulator):
    before = stats.requests
    answer = answer_with_budget(owner, simulator, 1000, "#think:3000 #answer:40 prove it")
    assert answer.status == Message.Status.COMPLETE
    assert answer.thinking_budget_hit == 1000
    # The thinking was cut at the budget (the simulator streams a token a chunk).
    assert abs(len(split_tokens(answer.reasoning)) - 1000) <= 1
    assert answer.content.startswith("## prove it") and answer.content_tokens > 0
    assert answer.usage_estimated
    assert stats.requests - before == 1 + 2  # the first answer; then the cut one and its end
    prefill = stats.last_request["messages"][-1]
    assert prefill["role"] == "assistant" and prefill["content"].endswith("\n</think>\n\n")
    assert stats.last_request["continue_final_message"] is True
    record = UsageRecord.objects.get(message=answer)
    assert record.estimated and record.reasoning_tokens == answer.reasoning_tokens


def test_a_provider_without_prefill_stops_and_says_so_keeping_the_thinking(owner, simulator):
    simulator.supports_prefill = False
    simulator.save()
    answer = answer_with_budget(owner, simulator, 1000, "#think:3000 #answer:40 prove it")
    assert answer.status == Message.Status.FAILED
    assert answer.error_kind == "thinking_budget"
    assert "cannot continue an answer from the thinking" in answer.error_message
    assert answer.thinking_budget_hit == 1000
    assert answer.reasoning and not answer.content


def test_thinking_within_the_budget_is_left_alone(owner, simulator):
    answer = answer_with_budget(owner, simulator, 2000, "#think:100 #answer:40 easy")
    assert answer.status == Message.Status.COMPLETE
    assert answer.thinking_budget_hit is None and not answer.usage_estimated
    assert answer.reasoning_tokens == 100


def test_the_continuation_request_closes_the_thinking_and_spends_the_budget():
    request = {
        "model": "MiniMax-M1-40k",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 9000,
        "extra_body": {"thinking_token_budget": 4000},
    }
    vllm = continuation_request(request, "so far", 4000, ProviderKind.VLLM)
    assert vllm["messages"][-1] == {"role": "assistant", "content": "<think>\nso far\n</think>\n\n"}
    assert vllm["max_tokens"] == 5000
    assert vllm["extra_body"] == {"continue_final_message": True, "add_generation_prompt": False}
    openrouter = continuation_request(
        {**request, "extra_body": {"reasoning": {"max_tokens": 4000}}},
        "so far",
        4000,
        ProviderKind.OPENROUTER,
    )
    assert "extra_body" not in openrouter
    assert request["messages"] == [{"role": "user", "content": "hi"}]  # not changed in place


def test_a_provider_that_thinks_again_after_the_prefill_is_stopped_at_the_budget(
    owner, simulator, monkeypatch
):
    """Budget forcing holds whatever the provider does: thinking after the closed-thinking
    prefill is neither shown nor charged, and the answer says the prefill was ignored."""
    from playground.chats import generation
    from playground.llm.thinktags import Split

    async def stubborn(client, request, normalizer, outcome):
        prefilled = request["messages"][-1]["role"] == "assistant"
        for _ in range(1500):
            yield Split(reasoning="again " if prefilled else "hmm ")

    monkeypatch.setattr(generation, "stream_chat", stubborn)
    answer = answer_with_budget(owner, simulator, 1000, "think hard")
    assert answer.status == Message.Status.FAILED and answer.error_kind == "prefill_ignored"
    assert "ignored the closed thinking" in answer.error_message
    assert answer.thinking_budget_hit == 1000
    assert "again" not in answer.reasoning and answer.reasoning_tokens == 1000
    record = UsageRecord.objects.get(message=answer)
    assert record.reasoning_tokens == 1000 and record.completion_tokens == 1000
