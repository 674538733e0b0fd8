"""The generation: stop, faults, partial text kept, claims and usage settled once."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from playground.billing.models import UsageRecord
from playground.chats import actions
from playground.chats.generation import run_generation, save_partial_rows
from playground.chats.models import Message
from playground.llm import simulator as sim
from playground.streaming import runner
from tests.chats.helpers import new_chat, reply

pytestmark = pytest.mark.django_db(transaction=True)


def finished(answer: Message) -> Message:
    runner.wait_idle()
    answer.refresh_from_db()
    return answer


@pytest.mark.parametrize(
    "fault,kind,partial",
    [
        ("midstream", "stream_error", True),
        ("interrupt", "interrupted", True),
        ("base_resp", "insufficient_balance", True),
        ("context", "context_too_long", False),
        ("401", "unauthorized", False),
    ],
)
def test_failures_keep_partial_text_and_say_why(owner, simulator, fault, kind, partial):
    _, _, answer = reply(owner, simulator, f"#fault:{fault}")
    answer = finished(answer)
    assert answer.status == Message.Status.FAILED
    assert answer.error_kind == kind and answer.error_message
    assert bool(answer.reasoning or answer.content) is partial
    # A request refused before any token is not billed; a broken stream is, estimated.
    record = UsageRecord.objects.filter(message=answer).first()
    assert (record is not None) is partial
    if record:
        assert record.estimated and answer.usage_estimated


def test_rate_limit_is_retried_then_explained(owner, simulator, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "PROVIDER_MAX_RETRIES": 1}
    before = sim.stats.requests
    _, _, answer = reply(owner, simulator, "#fault:429")
    answer = finished(answer)
    assert answer.error_kind == "rate_limited"
    assert "rate limiting" in answer.error_message
    assert sim.stats.requests - before == 2
    assert answer.retries == 1  # shown in the inspector


def test_stop_keeps_the_partial_text_and_closes_upstream(owner, simulator):
    simulator.simulator_tokens_per_second = 100
    simulator.save()
    closed_before = sim.stats.closed_early
    _, _, answer = reply(owner, simulator, "#think:50 #answer:2000 long")
    for _ in range(100):
        answer.refresh_from_db()
        if answer.content:
            break
        asyncio.run(asyncio.sleep(0.05))
    assert actions.request_stop(answer)
    answer = finished(answer)
    assert answer.status == Message.Status.STOPPED
    assert answer.reasoning and answer.content
    assert answer.content_tokens < 2000
    assert sim.stats.closed_early == closed_before + 1
    record = UsageRecord.objects.get(message=answer)
    assert record.estimated and record.completion_tokens > 0
    assert not actions.request_stop(answer)  # stopping a finished answer does nothing


def test_a_redelivered_task_does_not_run_twice(owner, simulator):
    _, _, answer = reply(owner, simulator)
    answer = finished(answer)
    requests = sim.stats.requests
    asyncio.run(run_generation(answer.pk))
    assert sim.stats.requests == requests
    assert UsageRecord.objects.filter(message=answer).count() == 1


def test_settling_twice_keeps_one_usage_record(owner, simulator):
    from playground.billing.actions import charge_answer
    from playground.chats.generation import spend_of

    _, _, answer = reply(owner, simulator)
    answer = finished(answer)
    charge_answer(spend_of(answer))
    assert UsageRecord.objects.filter(message=answer).count() == 1


def test_history_follows_the_branch_without_old_thinking(owner, simulator):
    chat, _, first = reply(owner, simulator, "first question")
    finished(first)
    _, second = actions.start_reply(chat, owner, "second question")
    finished(second)
    sent = sim.stats.last_request["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[0]["content"] == "first question" and sent[2]["content"] == "second question"
    first.refresh_from_db()
    assert sent[1]["content"] == first.content and first.reasoning not in sent[1]["content"]
    assert sim.stats.last_request["max_tokens"] == 40_000
    assert sim.stats.last_request["stream_options"] == {"include_usage": True}


def test_stale_streams_are_reported(owner, simulator, settings):
    from datetime import timedelta

    from django.utils import timezone

    _, _, answer = reply(owner, simulator)
    finished(answer)
    Message.objects.filter(pk=answer.pk).update(
        status="streaming", heartbeat_at=timezone.now() - timedelta(seconds=600)
    )
    assert actions.fail_stale_streams() == 1
    answer.refresh_from_db()
    assert answer.status == "failed" and "unexpectedly" in answer.error_message


def test_disabled_provider_refuses_sends_and_fails_queued_answers(owner, simulator):
    chat = new_chat(owner, simulator)
    simulator.enabled = False
    simulator.save()
    chat.refresh_from_db()
    with pytest.raises(actions.ReplyRefused, match="No provider is available"):
        actions.start_reply(chat, owner, "hello")
    # An answer queued before the provider was disabled fails with a reason, not a hang.
    queued = Message.objects.create(
        chat=chat,
        role="assistant",
        status="streaming",
        provider=simulator,
        model="MiniMax-M1-40k",
    )
    asyncio.run(run_generation(queued.pk))
    queued.refresh_from_db()
    assert queued.status == "failed" and "disabled" in queued.error_message


def test_unreachable_provider_is_explained(owner, simulator, settings):
    from playground.providers.models import Provider

    settings.PLAYGROUND = {**settings.PLAYGROUND, "PROVIDER_MAX_RETRIES": 0}
    closed = Provider.objects.create(
        name="Down", kind="vllm", base_url="http://127.0.0.1:9/v1", model_ids=["m1"]
    )
    chat = new_chat(owner, closed, model="m1")
    _, answer = actions.start_reply(chat, owner, "anyone there?")
    answer = finished(answer)
    assert answer.status == "failed" and answer.error_kind == "unreachable"
    assert "could not be reached" in answer.error_message
    assert not UsageRecord.objects.filter(message=answer).exists()


def test_partial_saves_touch_only_streaming_rows(owner, simulator):
    chat = new_chat(owner, simulator)
    streaming, idle, finished_answer = (
        Message.objects.create(
            chat=chat, role=Message.Role.ASSISTANT, status=status, content="before"
        )
        for status in (Message.Status.STREAMING, Message.Status.STREAMING, Message.Status.COMPLETE)
    )
    first_token = timezone.now() - timedelta(seconds=3)
    rows = [
        Message(
            pk=pk,
            reasoning="thought",
            content="partial",
            stream_seq=7,
            first_token_at=first_token,
            thinking_ended_at=None,
        )
        for pk in (streaming.pk, finished_answer.pk)
    ]
    save_partial_rows(rows, [streaming.pk, idle.pk, finished_answer.pk])
    for message in (streaming, idle, finished_answer):
        message.refresh_from_db()
    saved = (streaming.reasoning, streaming.content, streaming.stream_seq)
    assert saved == ("thought", "partial", 7)
    assert streaming.first_token_at == first_token and streaming.heartbeat_at is not None
    assert idle.content == "before" and idle.heartbeat_at is not None  # a heartbeat only
    assert finished_answer.content == "before" and finished_answer.heartbeat_at is None


def test_a_stopped_answer_keeps_the_token_counts_it_showed(owner, simulator, monkeypatch):
    """Defect: live 200 tokens, then "169 · estimated" once stopped. One count, live and final."""
    from playground.streaming import publisher

    deltas: list[dict] = []
    send = publisher.stream_frame

    def keep(stream_id, message_id, frame, buffered):
        deltas.append(frame)
        send(stream_id, message_id, frame, buffered)

    monkeypatch.setattr(publisher, "stream_frame", keep)
    simulator.simulator_tokens_per_second = 150
    simulator.save()
    _, _, answer = reply(owner, simulator, "#think:40 #answer:3000 long")
    for _ in range(100):
        answer.refresh_from_db()
        if len(answer.content) > 200:
            break
        asyncio.run(asyncio.sleep(0.05))
    actions.request_stop(answer)
    answer = finished(answer)
    assert answer.status == Message.Status.STOPPED and answer.usage_estimated
    last = deltas[-1]
    assert (answer.reasoning_tokens, answer.content_tokens) == (
        last["reasoning_tokens"],
        last["content_tokens"],
    )
    record = UsageRecord.objects.get(message=answer)
    assert record.completion_tokens == last["reasoning_tokens"] + last["content_tokens"]


def test_a_worker_whose_answer_was_declared_interrupted_stops_and_is_not_charged_again(
    owner, simulator
):
    """A stalled worker: the sweeper ends its answer and charges the text saved by then; when
    the worker goes on, it finds out before its next write, stops, and changes nothing."""
    from playground.llm.tokens import estimate_tokens

    simulator.simulator_tokens_per_second = 100
    simulator.save()
    closed_before = sim.stats.closed_early
    _, _, answer = reply(owner, simulator, "#think:20 #answer:3000 long")
    for _ in range(100):
        answer.refresh_from_db()
        if len(answer.content) > 50:
            break
        asyncio.run(asyncio.sleep(0.05))
    streaming = Message.objects.filter(pk=answer.pk, status=Message.Status.STREAMING)
    assert actions._interrupt(streaming, "The worker stalled.") == 1
    kept = Message.objects.get(pk=answer.pk)
    answer = finished(answer)
    assert sim.stats.closed_early == closed_before + 1  # the worker stopped reading
    assert answer.status == Message.Status.FAILED and answer.error_kind == "interrupted"
    assert (answer.reasoning, answer.content) == (kept.reasoning, kept.content)
    [record] = UsageRecord.objects.filter(message=answer)
    expected = estimate_tokens(kept.reasoning) + estimate_tokens(kept.content)
    assert record.estimated and record.completion_tokens == expected


def test_a_sweep_after_the_worker_finished_changes_nothing(owner, simulator):
    _, _, answer = reply(owner, simulator, "#think:5 #answer:5 quick")
    answer = finished(answer)
    Message.objects.filter(pk=answer.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert actions.fail_stale_streams() == 0
    again = Message.objects.get(pk=answer.pk)
    assert again.status == Message.Status.COMPLETE and not again.usage_estimated
    assert UsageRecord.objects.filter(message=answer).count() == 1
