"""A lost connection is told in words a person reads; its exception goes to the log."""

import logging

import httpx2
import openai
import pytest

from playground.llm.client import StreamOutcome, stream_chat
from playground.llm.errors import ErrorKind, ProviderError
from playground.llm.normalize import StreamNormalizer, ThinkingFormat

CHUNK = b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n'


class _DropsAfterOneChunk(httpx2.AsyncByteStream):
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __aiter__(self):
        yield CHUNK
        raise self.error


def client_raising(error: Exception, *, midstream: bool) -> openai.AsyncOpenAI:
    """A provider whose connection fails with ``error``, before the response or after its
    first chunk."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if not midstream:
            raise error
        headers = {"content-type": "text/event-stream"}
        return httpx2.Response(200, headers=headers, stream=_DropsAfterOneChunk(error))

    transport = httpx2.MockTransport(handler)
    return openai.AsyncOpenAI(
        api_key="key",
        base_url="http://provider.invalid/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=transport),
    )


@pytest.mark.parametrize(
    ("error", "midstream", "kind", "words"),
    [
        (
            httpx2.ConnectError("[Errno 111] refused"),
            False,
            ErrorKind.UNREACHABLE,
            "could not connect",
        ),
        (httpx2.ReadError(""), True, ErrorKind.INTERRUPTED, "the provider closed the connection"),
        (
            httpx2.RemoteProtocolError("peer closed connection"),
            True,
            ErrorKind.INTERRUPTED,
            "the provider closed the connection",
        ),
        (httpx2.ReadTimeout("read timed out"), True, ErrorKind.INTERRUPTED, "timed out"),
    ],
)
async def test_a_lost_connection_is_told_in_plain_words(caplog, error, midstream, kind, words):
    client = client_raising(error, midstream=midstream)
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    parts = []
    normalizer = StreamNormalizer(ThinkingFormat.AUTO)
    with (
        caplog.at_level(logging.WARNING, logger="playground.llm.client"),
        pytest.raises(ProviderError) as caught,
    ):
        async for part in stream_chat(client, request, normalizer, StreamOutcome()):
            parts.append(part.content)
    await client.close()
    assert (caught.value.kind, caught.value.detail) == (kind, words)
    assert parts == (["Hel"] if midstream else [])
    assert type(error).__name__ in caplog.text  # the real cause, for whoever reads the log
