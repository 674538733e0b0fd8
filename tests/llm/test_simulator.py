"""The simulator through the real openai SDK: formats, limits, usage and faults."""

import asyncio
import time

import pytest

from playground.llm import simulator
from playground.llm.client import (
    ProviderConfig,
    ProviderKind,
    StreamOutcome,
    build_client,
    normalizer_for,
    stream_chat,
)
from playground.llm.errors import ErrorKind, ProviderError
from playground.llm.normalize import ThinkingFormat
from playground.llm.simulator import Directives, split_tokens
from tests.llm.streams import FAULT_KINDS, stop_after_three_parts


def config(fmt=ThinkingFormat.REASONING_CONTENT, tps=0.0, retries=0) -> ProviderConfig:
    return ProviderConfig(
        ProviderKind.SIMULATOR, "", "", fmt, simulator_tokens_per_second=tps, max_retries=retries
    )


async def collect(text: str, cfg: ProviderConfig | None = None, **extra):
    cfg = cfg or config()
    client = build_client(cfg)
    normalizer = normalizer_for(cfg)
    outcome = StreamOutcome()
    request = {
        "model": "MiniMax-M1-40k",
        "messages": [{"role": "user", "content": text}],
        "stream_options": {"include_usage": True},
        **extra,
    }
    reasoning = content = ""
    chunks = 0
    async for part in stream_chat(client, request, normalizer, outcome):
        reasoning += part.reasoning
        content += part.content
        chunks += 1
    await client.close()
    return normalizer, outcome, reasoning, content, chunks


@pytest.mark.parametrize(
    "fmt", [ThinkingFormat.REASONING_CONTENT, ThinkingFormat.REASONING, ThinkingFormat.THINK_TAGS]
)
async def test_each_thinking_format_arrives_as_thinking_then_answer(fmt):
    normalizer, outcome, reasoning, content, _ = await collect("Explain recursion", config(fmt))
    assert outcome.completed
    assert normalizer.finish_reason == "stop"
    assert reasoning.strip().startswith(
        ("Let", "The", "First", "Hmm", "A ", "I ", "There", "Alternatively")
    )
    assert content.startswith("## Explain recursion")
    assert "<think>" not in content and "</think>" not in reasoning
    assert normalizer.usage.completion_tokens > normalizer.usage.reasoning_tokens > 0


async def test_same_prompt_and_seed_give_the_same_answer():
    first = await collect("Same question", seed=7)
    second = await collect("Same question", seed=7)
    assert first[2:4] == second[2:4]


async def test_max_tokens_cuts_with_finish_reason_length():
    normalizer, _, _, content, _ = await collect("Long one", max_tokens=10)
    assert normalizer.finish_reason == "length"
    assert normalizer.usage.completion_tokens == 10
    assert content == ""  # all ten went to thinking


async def test_stop_sequence_ends_the_answer_before_it():
    _, _, _, content, _ = await collect("Stop test", stop=["| Option"])
    assert content and "| Option" not in content
    assert "1. Start from the simplest case" in content


async def test_answer_length_directive_and_speed():
    started = time.monotonic()
    cfg = config(tps=200)
    normalizer, *_ = await collect("#think:20 #answer:40 pace", cfg)
    elapsed = time.monotonic() - started
    assert normalizer.usage.completion_tokens == 60
    assert 60 / 200 * 0.8 <= elapsed < 60 / 200 * 3


async def test_context_over_one_million_tokens_is_a_400():
    huge = "word " * 1_200_000  # about 1.36M tokens by the estimator
    with pytest.raises(ProviderError) as caught:
        await collect(huge)
    assert caught.value.kind == ErrorKind.CONTEXT_TOO_LONG
    assert caught.value.status == 400


async def test_429_is_retried_by_the_sdk_then_reported():
    before = simulator.stats.requests
    with pytest.raises(ProviderError) as caught:
        await collect("#fault:429", config(retries=1))
    assert caught.value.kind == ErrorKind.RATE_LIMITED
    assert simulator.stats.requests - before == 2  # first try plus one retry after Retry-After


@pytest.mark.parametrize("fault,kind", FAULT_KINDS)
async def test_faults_surface_as_provider_errors(fault, kind):
    cfg = config()
    client = build_client(cfg)
    normalizer = normalizer_for(cfg)
    received = []
    request = {
        "model": "MiniMax-M1-40k",
        "messages": [{"role": "user", "content": f"#fault:{fault}"}],
    }
    with pytest.raises(ProviderError) as caught:
        async for part in stream_chat(client, request, normalizer, StreamOutcome()):
            received.append(part)
    assert caught.value.kind == kind
    if fault in ("midstream", "interrupt", "base_resp"):
        assert received  # the partial text arrived before the failure


async def test_keepalive_comments_are_skipped():
    _, outcome, _, content, _ = await collect("#fault:keepalive hello")
    assert outcome.completed and content


async def test_leaving_early_closes_the_upstream_stream():
    cfg = config(tps=500)
    client = build_client(cfg)
    before = simulator.stats.closed_early
    request = {"model": "MiniMax-M1-40k", "messages": [{"role": "user", "content": "x"}]}
    await stop_after_three_parts(client, cfg, request)
    assert simulator.stats.closed_early == before + 1
    await client.close()


async def test_unknown_model_is_a_clear_error():
    cfg = config()
    client = build_client(cfg)
    request = {"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(ProviderError) as caught:
        async for _ in stream_chat(client, request, normalizer_for(cfg), StreamOutcome()):
            pass
    assert caught.value.status == 404


def test_directives_are_parsed_and_bounded():
    d = Directives.parse("#fault:429 #think:999999999 #answer:x #tps:12.5")
    assert d.faults == {"429"} and d.think_tokens == 80_000  # the longest output of any M1
    assert d.answer_tokens is None and d.tokens_per_second == 12.5


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("Explain tides #think:200 #answer:50 #tps:0", "Explain tides"),
        ("#fault:429\nWhy is the sky blue?", "Why is the sky blue?"),
        ("Compare #think:10#tps:0 two  sorts\nin detail", "Compare two  sorts\nin detail"),
        ("Rate (#bench:clock) it", "Rate () it"),
        ("C#, #tags and #todo:later stay", "C#, #tags and #todo:later stay"),
        ("#think:5 #answer:5", ""),
    ],
)
def test_strip_directives_removes_only_what_the_simulator_reads(text, stripped):
    assert simulator.strip_directives(text) == stripped


def test_tokens_keep_all_text():
    text = "Hello,   wörld!\n\n```py\nx = 1\n```"
    assert "".join(split_tokens(text)) == text


async def test_http_face_speaks_sse():
    sent = []
    requests = [
        {
            "type": "http.request",
            "body": b'{"model":"MiniMax-M1-40k","stream":true,'
            b'"messages":[{"role":"user","content":"#answer:3 #think:2"}]}',
        }
    ]

    async def receive():  # as ASGI servers do: the body, then nothing until a disconnect
        if requests:
            return requests.pop()
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/simulator/v1/chat/completions",
        "headers": [(b"x-simulator-tokens-per-second", b"0")],
    }
    await simulator.asgi_app(scope, receive, send)
    assert sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert body.endswith(b"data: [DONE]\n\n") and b'"finish_reason":"stop"' in body


@pytest.mark.parametrize("think,answer", [(1, 1), (120, 200), (7, 333), (0, 1000)])
async def test_requested_lengths_are_exact(think, answer):
    normalizer, *_ = await collect(f"#think:{think} #answer:{answer} q")
    assert normalizer.usage.reasoning_tokens == think
    assert normalizer.usage.completion_tokens == think + answer


async def test_clock_tokens_carry_index_and_emission_time():
    started = time.time()
    _, _, reasoning, content, _ = await collect("#bench:clock #think:3 #answer:4")
    tokens = (reasoning + content).split()
    assert [int(t.split("/")[0]) for t in tokens] == list(range(7))
    assert all(started <= float(t.split("/")[1]) <= time.time() for t in tokens)
