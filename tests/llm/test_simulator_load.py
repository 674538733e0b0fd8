"""The simulator shares its event loop with every other stream (the embedded server, a Celery
worker): however long an answer is asked for, it is capped at the model's output limit and made
token by token, and the loop gets a turn every few milliseconds (issue 11, item 1)."""

import asyncio
import time

import orjson
import pytest

from playground.llm import params, simulator
from playground.llm.client import (
    ProviderConfig,
    ProviderKind,
    StreamOutcome,
    build_client,
    normalizer_for,
    stream_chat,
)
from playground.llm.normalize import ThinkingFormat
from playground.llm.simulator import cut_at_stops, sized_tokens, split_tokens

HUGE = "#think:200000 #answer:200000 #tps:0 tell me everything"
# The longest the loop may wait for its next turn. A turn of the simulator takes well under
# a millisecond; the rest is headroom for a shared, busy test machine. Before the fix one
# such request held the loop for minutes.
MAX_LOOP_GAP = 0.05


class LoopWatch:
    """Measures the longest time between two turns of the running loop."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task | None = None

    async def _watch(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    async def __aenter__(self) -> "LoopWatch":
        self._task = asyncio.create_task(self._watch())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def call_asgi(
    body: dict, headers: list | None = None, app=simulator.asgi_app
) -> tuple[int, bytes]:
    """One request to an ASGI app (the simulator's, by default) in process; its status and
    whole body."""
    requests = [{"type": "http.request", "body": orjson.dumps(body)}]
    status = []
    parts = []  # bytes only: 80,000 kept messages would make the collector pause the loop

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # no disconnect: the client reads to the end

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])
        else:
            parts.append(message.get("body", b""))

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/simulator/v1/chat/completions",
        "headers": headers or [],
    }
    await app(scope, receive, send)
    return status[0], b"".join(parts)


def events(body: bytes) -> list[dict]:
    lines = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: ")]
    return [orjson.loads(line) for line in lines if line != b"[DONE]"]


@pytest.mark.parametrize("model", simulator.MODELS)
async def test_a_huge_streamed_answer_is_capped_and_never_holds_the_loop(model):
    request = {
        "model": model,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 10**6,  # more than any model may write: the model's limit applies
        "messages": [{"role": "user", "content": HUGE}],
    }
    async with LoopWatch() as watch:
        status, body = await asyncio.wait_for(call_asgi(request), timeout=60)
    assert status == 200
    chunks = events(body)
    limit = simulator.OUTPUT_LIMITS[model]
    tokens = [
        c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("reasoning_content")
    ]
    assert len(tokens) == limit
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == limit
    assert watch.longest < MAX_LOOP_GAP, f"the loop waited {watch.longest * 1000:.0f} ms"


async def test_a_huge_whole_answer_is_capped_and_never_holds_the_loop():
    request = {
        "model": "MiniMax-M1-80k",
        "max_tokens": 10**6,
        "messages": [{"role": "user", "content": HUGE}],
    }
    async with LoopWatch() as watch:
        status, body = await asyncio.wait_for(call_asgi(request), timeout=60)
    answer = orjson.loads(body)
    assert status == 200 and answer["usage"]["completion_tokens"] == 80_000
    assert answer["choices"][0]["finish_reason"] == "length"
    assert len(split_tokens(answer["choices"][0]["message"]["reasoning_content"])) == 80_000
    assert watch.longest < MAX_LOOP_GAP, f"the loop waited {watch.longest * 1000:.0f} ms"


async def test_in_process_a_huge_answer_leaves_the_worker_loop_free():
    """The Celery worker's way: the SDK through the in-process transport."""
    cfg = ProviderConfig(
        ProviderKind.SIMULATOR, "", "", ThinkingFormat.THINK_TAGS, simulator_tokens_per_second=0
    )
    client = build_client(cfg)
    normalizer = normalizer_for(cfg)
    request = {
        "model": "MiniMax-M1-40k",
        "max_tokens": 40_000,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": HUGE}],
    }
    received = 0
    async with LoopWatch() as watch:
        async for split in stream_chat(client, request, normalizer, StreamOutcome()):
            received += bool(split.reasoning or split.content)
    await client.close()
    assert normalizer.finish_reason == "length"
    assert normalizer.usage.completion_tokens == 40_000
    assert watch.longest < MAX_LOOP_GAP, f"the loop waited {watch.longest * 1000:.0f} ms"


def test_the_simulator_knows_the_output_limits_the_app_knows():
    assert simulator.OUTPUT_LIMITS == params.MODEL_OUTPUT_LIMITS


@pytest.mark.parametrize(
    ("text", "limit", "think", "answer"),
    [
        ("#think:200000 #answer:200000", 40_000, 40_000, 40_000),
        ("#think:50000 #answer:10", 40_000, 40_000, 10),
        ("#think:50000", 80_000, 50_000, None),
    ],
)
def test_each_length_directive_is_clamped_to_the_model(text, limit, think, answer):
    capped = simulator.Directives.parse(text).capped(limit)
    assert (capped.think_tokens, capped.answer_tokens) == (think, answer)


def test_tokens_are_made_as_they_are_read():
    tokens = sized_tokens("Short text.", 10**9)  # a billion would never fit in memory
    first = [next(tokens) for _ in range(1000)]
    joined = "".join(first)
    assert joined.startswith("Short text. Each further step")
    assert split_tokens(joined) == first  # the text re-splits to the tokens sent


@pytest.mark.parametrize(
    ("stops", "expected"),
    [
        (["wor"], "hello "),
        (["lo w"], "hel"),
        (["never"], "hello world, again"),
        (["again", "o"], "hell"),
    ],
)
def test_stop_sequences_cut_a_stream_of_tokens(stops, expected):
    assert "".join(cut_at_stops(iter(split_tokens("hello world, again")), stops)) == expected
