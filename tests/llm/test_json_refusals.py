"""A provider that answers a streaming request with one JSON body (HTTP 200) refuses it: its own
error is shown with its code and the kind of design §4's table, not "interrupted" (issue 11,
item 17)."""

import orjson
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
from tests.llm.servers import answering, serve

BALANCE = {"base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}
REFUSED_BALANCE = (
    "The provider account has insufficient balance. "
    "The provider refused: insufficient balance (MiniMax code 1008)."
)


async def refusal(cfg: ProviderConfig, text: str = "hi") -> ProviderError:
    client = build_client(cfg)
    request = {"model": "MiniMax-M1-40k", "messages": [{"role": "user", "content": text}]}
    try:
        with pytest.raises(ProviderError) as caught:
            async for _ in stream_chat(client, request, normalizer_for(cfg), StreamOutcome()):
                pass
    finally:
        await client.close()
    return caught.value


def at(url: str) -> ProviderConfig:
    return ProviderConfig(ProviderKind.MINIMAX, url, "key", ThinkingFormat.AUTO, max_retries=0)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "text/event-stream", None],
)
@pytest.mark.parametrize("indent", [False, True])
async def test_minimax_base_resp_instead_of_a_stream(content_type, indent):
    body = orjson.dumps(BALANCE, option=orjson.OPT_INDENT_2 if indent else 0)
    headers = {"content-type": content_type} if content_type else {}
    with serve(answering(200, body, headers)) as provider:
        error = await refusal(at(provider.url))
    assert error.kind == ErrorKind.INSUFFICIENT_BALANCE
    assert error.message == REFUSED_BALANCE
    assert error.status is None and "1008" in error.body  # the raw body, for the admin


@pytest.mark.parametrize(
    ("payload", "kind", "words"),
    [
        (
            {"base_resp": {"status_code": 1002, "status_msg": "rate limit exceeded"}},
            ErrorKind.RATE_LIMITED,
            "rate limit exceeded (MiniMax code 1002)",
        ),
        (
            {"base_resp": {"status_code": 2049, "status_msg": "invalid api key"}},
            ErrorKind.UNAUTHORIZED,
            "invalid api key (MiniMax code 2049)",
        ),
        (
            {"base_resp": {"status_code": 1039, "status_msg": "token limit"}},
            ErrorKind.CONTEXT_TOO_LONG,
            "token limit (MiniMax code 1039)",
        ),
        (
            {"error": {"message": "You exceeded your quota.", "code": "insufficient_quota"}},
            ErrorKind.INSUFFICIENT_BALANCE,
            "You exceeded your quota. (code insufficient_quota)",
        ),
        (
            {"error": {"message": "No auth credentials found", "code": 401}},
            ErrorKind.UNAUTHORIZED,
            "No auth credentials found (code 401)",
        ),
        ({"error": "model overloaded"}, ErrorKind.BAD_REQUEST, "model overloaded"),
    ],
)
async def test_the_providers_own_error_and_code_are_shown(payload, kind, words):
    body = orjson.dumps(payload)
    with serve(answering(200, body, {"content-type": "application/json"})) as provider:
        error = await refusal(at(provider.url))
    assert error.kind == kind
    assert error.message.endswith(f"The provider refused: {words}.")


async def test_json_without_an_error_is_not_taken_for_a_stream():
    whole = {"id": "x", "object": "chat.completion", "choices": []}
    with serve(answering(200, orjson.dumps(whole), {"content-type": "application/json"})) as p:
        error = await refusal(at(p.url))
    assert error.kind == ErrorKind.STREAM_ERROR and "not a stream" in error.detail


async def test_an_empty_stream_is_still_interrupted():
    with serve(answering(200, b": keep-alive\n\n", {"content-type": "text/event-stream"})) as p:
        error = await refusal(at(p.url))
    assert error.kind == ErrorKind.INTERRUPTED


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        ("json", ErrorKind.INSUFFICIENT_BALANCE, "insufficient balance (MiniMax code 1008)"),
        (
            "json_error",
            ErrorKind.INSUFFICIENT_BALANCE,
            "You exceeded your current quota. (code insufficient_quota)",
        ),
    ],
)
@pytest.mark.parametrize("over_http", [False, True])
async def test_the_simulator_refuses_so_on_request(fault, kind, words, over_http):
    if over_http:
        with serve(simulator.asgi_app) as provider:
            error = await refusal(at(provider.url), f"#fault:{fault}")
    else:
        cfg = ProviderConfig(ProviderKind.SIMULATOR, "", "", max_retries=0)
        error = await refusal(cfg, f"#fault:{fault}")
    assert error.kind == kind
    assert error.message.endswith(f"The provider refused: {words}.")
