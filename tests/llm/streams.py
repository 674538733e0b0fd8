"""Shared by the simulator and HTTP provider tests."""

import asyncio
from contextlib import aclosing

import pytest

from playground.llm.client import ProviderConfig, StreamOutcome, normalizer_for, stream_chat
from playground.llm.errors import ErrorKind

# Each simulator fault and the error the app must report for it, whatever the transport.
FAULT_KINDS = [
    ("429", ErrorKind.RATE_LIMITED),
    ("401", ErrorKind.UNAUTHORIZED),
    ("500", ErrorKind.SERVER_ERROR),
    ("context", ErrorKind.CONTEXT_TOO_LONG),
    ("midstream", ErrorKind.STREAM_ERROR),
    ("interrupt", ErrorKind.INTERRUPTED),
    ("base_resp", ErrorKind.INSUFFICIENT_BALANCE),
]


async def stop_after_three_parts(client, cfg: ProviderConfig, request: dict) -> None:
    """Read three parts, then wait until cancelled, as a generation does when the user stops:
    the cancellation closes the stream (``aclosing``) and so the upstream response."""

    async def read_three() -> None:
        count = 0
        stream = stream_chat(client, request, normalizer_for(cfg), StreamOutcome())
        async with aclosing(stream):
            async for _ in stream:
                count += 1
                if count == 3:
                    await asyncio.sleep(3600)

    task = asyncio.create_task(read_three())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
