"""Where a provider request may connect (issue 11, item 7): never where a redirect points, and
with private hosts disallowed, never to a private, loopback or link-local address, whatever
name leads there (checked when the connection is made, so DNS rebinding cannot get around
the check made when the provider was saved)."""

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
from tests.llm.servers import answering, serve


def config(url: str, *, allow_private: bool = True, allowed: tuple = ()) -> ProviderConfig:
    return ProviderConfig(
        ProviderKind.OPENAI_COMPATIBLE,
        url,
        "key",
        ThinkingFormat.REASONING_CONTENT,
        max_retries=0,
        allow_private_hosts=allow_private,
        allowed_hosts=allowed,
    )


async def ask(cfg: ProviderConfig) -> str:
    client = build_client(cfg)
    request = {"model": "MiniMax-M1-40k", "messages": [{"role": "user", "content": "#tps:0 hi"}]}
    content = ""
    try:
        async for part in stream_chat(client, request, normalizer_for(cfg), StreamOutcome()):
            content += part.content
    finally:
        await client.close()
    return content


@pytest.fixture(scope="module")
def provider():
    with serve(simulator.asgi_app) as served:
        yield served


async def test_a_redirect_is_not_followed(provider):
    target = f"{provider.url}/chat/completions"
    with serve(answering(307, b"", {"location": target})) as redirector:
        before = len(provider.requests)
        with pytest.raises(ProviderError) as caught:
            await ask(config(redirector.url))
    assert caught.value.kind == ErrorKind.REDIRECTED
    assert f"redirect to {target}; not followed" in caught.value.message
    assert len(redirector.requests) == 1
    assert len(provider.requests) == before  # the conversation never went there


@pytest.mark.parametrize("name", ["169.254.169.254.nip.io", "metadata.google.internal"])
async def test_a_name_of_a_private_address_is_refused_at_connect(dns, name):
    dns[name] = ["169.254.169.254"]
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await ask(config(f"http://{name}/v1", allow_private=False))
    assert caught.value.kind == ErrorKind.HOST_NOT_ALLOWED
    assert "169.254.169.254" in caught.value.body
    assert time.monotonic() - started < 5  # refused, not a connection left to time out


async def test_a_name_that_now_resolves_to_loopback_never_connects(dns, provider):
    """DNS rebinding: the name passed when it was saved; now it leads to this machine."""
    port = provider.url.split(":")[2].split("/")[0]
    dns["provider.test"] = ["127.0.0.1"]
    before = len(provider.requests)
    with pytest.raises(ProviderError) as caught:
        await ask(config(f"http://provider.test:{port}/v1", allow_private=False))
    assert caught.value.kind == ErrorKind.HOST_NOT_ALLOWED
    assert len(provider.requests) == before
    # The same name and server answer when private hosts are allowed (a self-hosted vLLM):
    # the connection went where the resolver said.
    assert await ask(config(f"http://provider.test:{port}/v1", allow_private=True))
    assert len(provider.requests) == before + 1


async def test_one_private_address_among_public_ones_is_refused(dns):
    dns["mixed.test"] = ["93.184.216.34", "10.0.0.7"]
    with pytest.raises(ProviderError) as caught:
        await ask(config("http://mixed.test/v1", allow_private=False))
    assert caught.value.kind == ErrorKind.HOST_NOT_ALLOWED and "10.0.0.7" in caught.value.body
    assert "10.0.0.7" not in caught.value.message  # the address is for the admin only


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "[::ffff:169.254.169.254]", "localhost", "0.0.0.0"]
)
async def test_private_literals_are_refused_at_connect(provider, host):
    port = provider.url.split(":")[2].split("/")[0]
    before = len(provider.requests)
    with pytest.raises(ProviderError) as caught:
        await ask(config(f"http://{host}:{port}/v1", allow_private=False))
    assert caught.value.kind == ErrorKind.HOST_NOT_ALLOWED
    assert len(provider.requests) == before


async def test_the_allow_list_holds_at_connect(provider):
    with pytest.raises(ProviderError) as caught:
        await ask(config(provider.url, allowed=("api.minimax.io",)))
    assert caught.value.kind == ErrorKind.HOST_NOT_ALLOWED
    assert await ask(config(provider.url, allowed=("127.0.0.1",)))


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::127.0.0.1", "::ffff:10.0.0.7"],
)
def test_ipv6_addresses_that_carry_a_private_ipv4_one_are_refused(address):
    from playground.llm.client import address_refusal

    assert address_refusal(address) is not None


def test_a_public_ipv6_address_passes():
    from playground.llm.client import address_refusal

    assert address_refusal("2606:4700:4700::1111") is None
    assert address_refusal("64:ff9b::808:808") is None  # NAT64 of 8.8.8.8
