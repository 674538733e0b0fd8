"""A provider's words can echo the key it was sent (issue 11, item 8): every error text, log
line and inspector field that comes out of the client is scrubbed of the key, word for word,
and of anything that looks like a key or a bearer token."""

import logging

import orjson
import pytest

from playground.llm.client import (
    ProviderConfig,
    ProviderKind,
    StreamOutcome,
    build_client,
    normalizer_for,
    stream_chat,
)
from playground.llm.errors import ErrorKind, ProviderError, scrub
from playground.llm.normalize import ThinkingFormat
from tests.llm.servers import serve

# Not shaped like any known key: only the exact value can find it.
KEY = "mmx-Zq81kT0pLw3vYh"


def echoing_provider(status: int, *, midstream: bool = False, request_id: bool = False):
    """A provider that says the Authorization header it received back in its error."""

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        sent = dict(scope["headers"]).get(b"authorization", b"").decode()
        said = f"Incorrect API key provided: {sent}. Your key {KEY} is not valid."
        headers = [(b"content-type", b"application/json")]
        if request_id:
            headers.append((b"x-request-id", f"req-{KEY}".encode()))
        if not midstream:
            body = orjson.dumps({"error": {"message": said, "code": "invalid_api_key"}})
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        headers[0] = (b"content-type", b"text/event-stream")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        delta = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
        error = {"error": {"message": said, "code": 500}}
        for event in (delta, error):
            body = b"data: " + orjson.dumps(event) + b"\n\n"
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


async def fail(url: str) -> tuple[ProviderError, StreamOutcome]:
    cfg = ProviderConfig(
        ProviderKind.OPENAI_COMPATIBLE, url, KEY, ThinkingFormat.AUTO, max_retries=0
    )
    client = build_client(cfg)
    outcome = StreamOutcome()
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    try:
        with pytest.raises(ProviderError) as caught:
            async for _ in stream_chat(client, request, normalizer_for(cfg), outcome):
                pass
    finally:
        await client.close()
    return caught.value, outcome


def texts_of(error: ProviderError) -> list[str]:
    """Every text a person or a log could see of the error: a traceback shows the chain of
    causes, and the contexts not suppressed."""
    texts = [error.detail, error.body, error.message, str(error), repr(error)]
    cause = error
    while cause is not None:
        texts.append(str(cause))
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    return texts


@pytest.mark.parametrize("midstream", [False, True])
async def test_an_error_that_echoes_the_key_is_scrubbed(caplog, midstream):
    with (
        caplog.at_level(logging.DEBUG),
        serve(echoing_provider(401, midstream=midstream)) as provider,
    ):
        error, _ = await fail(provider.url)
    assert error.kind == (ErrorKind.STREAM_ERROR if midstream else ErrorKind.UNAUTHORIZED)
    assert "Incorrect API key provided: Bearer [redacted]" in error.message
    assert "Bearer [redacted]" in error.body  # the raw body, for the instance admin
    for text in texts_of(error):
        assert KEY not in text
    logging.getLogger("generation").error("failed", exc_info=error)  # as a crash is logged
    assert KEY not in caplog.text


async def test_the_request_id_is_scrubbed_too():
    with serve(echoing_provider(200, midstream=True, request_id=True)) as provider:
        error, outcome = await fail(provider.url)
    assert outcome.request_id == "req-[redacted]"
    assert KEY not in error.message


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("auth: Bearer eyJhbGciOi.J9abc-def", "auth: Bearer [redacted]"),
        ("bad key sk-proj-AbC123456789xyz here", "bad key [redacted] here"),
        ("key sk-or-v1-0123456789abcdef", "key [redacted]"),
        ('{"api_key": "abcd1234efgh"}', '{"api_key": "[redacted]"}'),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "token [redacted]"),
        ("nothing secret in a bearer of news", "nothing secret in a bearer of news"),
    ],
)
def test_what_looks_like_a_key_is_scrubbed(said, shown):
    assert scrub(said) == shown


def test_a_short_key_is_not_searched_word_for_word():
    assert scrub("the cat sat", ["cat"]) == "the cat sat"
    assert scrub("x mmx-Zq81kT0pLw3vYh y", [KEY]) == "x [redacted] y"


def test_a_key_cut_by_a_length_limit_is_still_scrubbed_whole():
    """A key without a recognisable prefix, straddling the 500-character cut of the detail
    (or the cut of a provider's message), leaves no part of itself behind."""
    from playground.llm.errors import ErrorKind, ProviderError, refusal_in

    key = "vllm-Q9x7Zt3kP0wR8mN2"
    detail = "x" * 490 + key + " and more"
    error = ProviderError(ErrorKind.BAD_REQUEST, detail).redact(key)
    assert "vllm-Q9" not in error.detail and "vllm-Q9" not in str(error)
    refused = refusal_in({"error": {"message": "y" * 295 + key, "code": 400}}).redact(key)
    assert "vllm-Q9" not in refused.message
