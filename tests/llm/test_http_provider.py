"""A provider reached over real HTTP, as MiniMax, OpenRouter or vLLM are: the SDK's aiohttp
transport against the simulator served by uvicorn. Errors, a stop and a dropped connection
must come out as they do through the in-process transport."""

import asyncio
import threading
import time

import pytest
import uvicorn

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
from tests.llm.streams import FAULT_KINDS, stop_after_three_parts
from tests.support.stack import free_port


@pytest.fixture(scope="module")
def provider_url():
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(simulator.asgi_app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the simulator did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=10)


def config(url: str) -> ProviderConfig:
    return ProviderConfig(
        ProviderKind.OPENAI_COMPATIBLE, url, "key", ThinkingFormat.REASONING_CONTENT, max_retries=0
    )


def request(text: str) -> dict:
    return {"model": "MiniMax-M1-40k", "messages": [{"role": "user", "content": text}]}


async def read(cfg: ProviderConfig, text: str) -> tuple[str, str, StreamOutcome]:
    client = build_client(cfg)
    outcome = StreamOutcome()
    reasoning = content = ""
    try:
        async for part in stream_chat(client, request(text), normalizer_for(cfg), outcome):
            reasoning += part.reasoning
            content += part.content
    finally:
        await client.close()
    return reasoning, content, outcome


async def test_a_whole_reply_streams_through_the_aiohttp_transport(provider_url):
    reasoning, content, outcome = await read(config(provider_url), "#think:20 #answer:30 hi")
    assert outcome.completed and reasoning and content


@pytest.mark.parametrize("fault,kind", FAULT_KINDS)
async def test_faults_come_out_as_the_same_provider_errors(provider_url, fault, kind):
    with pytest.raises(ProviderError) as caught:
        await read(config(provider_url), f"#fault:{fault}")
    assert caught.value.kind == kind


async def test_an_unreachable_provider_is_reported_as_such():
    cfg = config(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ProviderError) as caught:
        await read(cfg, "hi")
    assert caught.value.kind == ErrorKind.UNREACHABLE


async def test_a_stop_closes_the_connection_and_the_provider_stops(provider_url):
    cfg = config(provider_url)
    client = build_client(cfg)
    before = simulator.stats.closed_early

    await stop_after_three_parts(client, cfg, request("#tps:200 x"))
    for _ in range(100):  # the server notices the disconnect on its own loop
        if simulator.stats.closed_early > before:
            break
        await asyncio.sleep(0.05)
    assert simulator.stats.closed_early == before + 1
    await client.close()
