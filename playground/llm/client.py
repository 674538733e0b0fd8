"""Stream a chat completion from any OpenAI-compatible provider through the ``openai`` SDK.

The SDK builds the request, authenticates, retries 429/5xx before the first token with bounded
backoff honouring Retry-After, and maps HTTP errors. The streamed body is read line by line and
parsed with orjson: the SDK's per-chunk pydantic models cost 100-170 µs each, which caps one
process near 8-10k chunks/s (design §3).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import aiohttp
import httpx2
import openai
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from openai._vendor.httpx_aiohttp import AiohttpTransport

from .errors import ErrorKind, ProviderError, kind_for_status, refusal_in, scrub
from .normalize import StreamNormalizer, ThinkingFormat
from .simulator import HEADER_THINKING_FORMAT, HEADER_TOKENS_PER_SECOND, SimulatorTransport
from .thinktags import Split

logger = logging.getLogger(__name__)

SIMULATOR_BASE_URL = "http://simulator.invalid/v1"


class ProviderKind(StrEnum):
    SIMULATOR = "simulator"
    MINIMAX = "minimax"
    OPENROUTER = "openrouter"
    VLLM = "vllm"
    OPENAI_COMPATIBLE = "openai_compatible"


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    kind: ProviderKind
    base_url: str
    api_key: str = field(repr=False)
    thinking_format: ThinkingFormat = ThinkingFormat.AUTO
    supports_prefill: bool = False
    simulator_tokens_per_second: float | None = None
    max_retries: int = 2
    timeout_seconds: float = 600.0
    # Where a connection may go (design §6): private, loopback and link-local addresses only
    # when allowed, and only hosts of the allow-list when there is one (empty: any host).
    allow_private_hosts: bool = True
    allowed_hosts: tuple[str, ...] = ()


# --- where a provider request may connect -------------------------------------------------


class HostNotAllowed(Exception):
    """The provider's host, or an address it resolves to, is not one the instance allows:
    outside the allow-list, or (``private``) a private, loopback or link-local address."""

    def __init__(self, reason: str, *, private: bool = True) -> None:
        super().__init__(reason)
        self.private = private


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries, where a route leads to it: mapped (::ffff:a.b.c.d),
    6to4 (2002:…), NAT64 (64:ff9b::a.b.c.d) or IPv4-compatible (::a.b.c.d)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str) -> str | None:
    """Why ``address`` is not a public one (private, loopback, link-local, reserved, multicast
    or unspecified); None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope id ("%eth0") aside
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    if ip.is_global and not ip.is_multicast:
        return None
    return f"{address} is a private, loopback or link-local address"


def check_host(host: str, *, allow_private: bool, allowed_hosts: tuple[str, ...]) -> None:
    """Refuse a host outside the allow-list, and with private hosts disallowed, ``localhost``
    or a non-public IP literal. Names are checked by the addresses they resolve to, when they
    are resolved (``check_addresses``)."""
    host = host.lower().rstrip(".")
    if allowed_hosts and host not in allowed_hosts:
        raise HostNotAllowed(
            f"{host} is not among the provider hosts this instance allows", private=False
        )
    if allow_private:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise HostNotAllowed(f"{host} is a loopback host")
    try:
        refusal = address_refusal(host.strip("[]"))
    except ValueError:
        return  # a name
    if refusal:
        raise HostNotAllowed(refusal)


def check_addresses(host: str, addresses: list[str]) -> None:
    """Refuse a name if any address it resolves to is not public: every address is one the
    connection may use."""
    for address in addresses:
        if address_refusal(address):
            raise HostNotAllowed(
                f"{host} resolves to {address}, a private, loopback or link-local address"
            )


class _CheckedResolver(AbstractResolver):
    """Resolves as usual, then refuses a name whose addresses are not all public. The
    connection only goes to addresses this returned, so a name that passed when the provider
    was saved and resolves elsewhere now (DNS rebinding) is refused at connect time."""

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        check_addresses(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        await self._resolver.close()


class _CheckedTransport(AiohttpTransport):
    """The SDK's aiohttp transport with the host checks of ``check_host`` before each request
    and, with private hosts disallowed, ``_CheckedResolver`` for the names it connects to (an IP
    literal never reaches a resolver, so ``check_host`` checks those). Connections are
    direct."""

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(limits=openai.DEFAULT_CONNECTION_LIMITS)
        self._allow_private = config.allow_private_hosts
        self._allowed_hosts = tuple(h.lower() for h in config.allowed_hosts)

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=self.limits.max_connections or 0,
            resolver=None if self._allow_private else _CheckedResolver(),
        )
        # No proxy from the environment (HTTPS_PROXY): it would resolve names where no check
        # sees them (aiohttp's trust_env also reads ~/.netrc, which the key must not meet).
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        check_host(
            request.url.host, allow_private=self._allow_private, allowed_hosts=self._allowed_hosts
        )
        return await super().handle_async_request(request)


def build_client(config: ProviderConfig) -> openai.AsyncOpenAI:
    timeout = httpx2.Timeout(config.timeout_seconds, connect=10.0)
    if config.kind == ProviderKind.SIMULATOR:
        headers = {HEADER_THINKING_FORMAT: str(config.thinking_format)}
        if config.simulator_tokens_per_second is not None:
            headers[HEADER_TOKENS_PER_SECOND] = str(config.simulator_tokens_per_second)
        return openai.AsyncOpenAI(
            api_key=config.api_key or "simulator",
            base_url=SIMULATOR_BASE_URL,
            max_retries=config.max_retries,
            default_headers=headers,
            http_client=httpx2.AsyncClient(transport=SimulatorTransport(), timeout=timeout),
        )
    return openai.AsyncOpenAI(
        api_key=config.api_key or "none",
        base_url=config.base_url,
        max_retries=config.max_retries,
        timeout=timeout,
        # The SDK's aiohttp transport: its C HTTP parser reads a stream's chunks for a
        # fraction of what httpx's h11 + anyio path costs, and a worker reads about 8,000
        # chunks a second at 200 streams (bench/RESULTS.md). With the host checks; redirects
        # are never followed (a 307 would re-send the conversation and the key elsewhere).
        http_client=httpx2.AsyncClient(
            transport=_CheckedTransport(config), timeout=timeout, follow_redirects=False
        ),
    )


def normalizer_for(config: ProviderConfig) -> StreamNormalizer:
    # The simulator's format is set by a header; reading it back in AUTO mode covers all three.
    fmt = ThinkingFormat.AUTO if config.kind == ProviderKind.SIMULATOR else config.thinking_format
    return StreamNormalizer(fmt)


# A chunk of a chat completion stream is a few hundred bytes; a provider (or a proxy) that
# never ends a line must not make the worker buffer, and re-scan, megabytes.
MAX_SSE_LINE_BYTES = 1 << 20
# What is kept of a body that is not a stream (a provider's JSON error instead of events).
MAX_STRAY_BYTES = 64 * 1024


async def sse_data(
    chunks: AsyncIterator[bytes], stray: bytearray | None = None
) -> AsyncIterator[bytes]:
    """The ``data:`` fields of a server-sent event stream, one per line, as bytes.

    Blank separators, comments (keep-alives) and ``event:``/``id:`` lines are skipped. Lines
    end with LF, CRLF or CR, and may be cut anywhere between chunks. This reads bytes
    directly: httpx's text and line iterators cost a layer of async generator each per chunk,
    and a worker reads some 8,000 chunks a second at 200 streams (bench/RESULTS.md).

    Until the first data line, the other lines (up to ``MAX_STRAY_BYTES``) go to ``stray``
    when it is given: a provider that answers with one JSON body (an error) sends no data
    line at all, and that body is its error.
    """
    pending = b""
    recording = stray is not None
    async for chunk in chunks:
        if b"\n" not in chunk and b"\r" not in chunk:  # the middle of a long line
            pending += chunk
            if len(pending) > MAX_SSE_LINE_BYTES:
                raise ProviderError(ErrorKind.STREAM_ERROR, "a line of the stream is too long")
            continue
        lines = (pending + chunk).splitlines(keepends=True)
        # An unfinished last line waits for the next chunk; so does one ending in CR, whose
        # LF may be the next chunk's first byte.
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        if len(pending) > MAX_SSE_LINE_BYTES:
            raise ProviderError(ErrorKind.STREAM_ERROR, "a line of the stream is too long")
        for line in lines:
            if line.startswith(b"data:"):
                recording = False
                yield line[5:].strip()
            elif recording and not line.startswith(b":"):
                stray += line[: MAX_STRAY_BYTES - len(stray)]  # type: ignore[operator]
    if pending.startswith(b"data:"):
        yield pending[5:].strip()
    elif recording:
        stray += pending[: MAX_STRAY_BYTES - len(stray)]  # type: ignore[operator]


@dataclass(slots=True)
class StreamOutcome:
    """What is known once the stream ends (or fails): filled in by ``stream_chat``."""

    request_id: str | None = None
    completed: bool = False
    retries: int = 0  # attempts the SDK retried (429, 5xx, connection errors), over all requests


async def stream_chat(
    client: openai.AsyncOpenAI,
    request: dict[str, Any],
    normalizer: StreamNormalizer,
    outcome: StreamOutcome,
) -> AsyncIterator[Split]:
    """Yield reasoning/answer deltas; raise ``ProviderError`` for every provider failure.

    Leaving the iteration early (a stop) closes the upstream response.
    """
    body = {**request, "stream": True}
    # Whatever the provider says may echo the key: each error is scrubbed of it (``redact``)
    # before it is shown, logged or stored.
    key = client.api_key
    try:
        async with client.chat.completions.with_streaming_response.create(**body) as response:
            http = response.http_response
            outcome.retries += _retries_taken(http.request)
            request_id = response.request_id or response.headers.get("x-request-id")
            outcome.request_id = scrub(request_id, [key]) if request_id else None
            done = saw_data = False
            stray = bytearray()
            async for data in sse_data(http.aiter_bytes(), stray):
                saw_data = True
                if data == b"[DONE]":
                    done = True
                    break
                try:
                    chunk = orjson.loads(data)
                except orjson.JSONDecodeError as exc:
                    raise ProviderError(ErrorKind.STREAM_ERROR, "malformed chunk") from exc
                split = normalizer.feed(chunk)
                if split.reasoning or split.content:
                    yield split
            tail = normalizer.finish()
            if tail.reasoning or tail.content:
                yield tail
            if not done and normalizer.finish_reason is None:
                if not saw_data and stray.strip():
                    raise _not_a_stream(bytes(stray), http.headers.get("content-type", ""))
                raise ProviderError(ErrorKind.INTERRUPTED, "stream ended without finish_reason")
            outcome.completed = True
    except ProviderError as exc:
        exc.redact(key)
        raise
    except HostNotAllowed as exc:
        # The addresses stay in the log and the admin's view: readers of the chat get the
        # plain words, not the instance's internal addresses.
        logger.warning("provider request refused: %s", exc)
        raise ProviderError(ErrorKind.HOST_NOT_ALLOWED, body=str(exc)) from None
    except openai.APIStatusError as exc:
        outcome.retries += _retries_taken(exc.response.request)
        # Not chained: the SDK's exception carries the provider's words unscrubbed.
        raise _status_error(exc).redact(key) from None
    except openai.APITimeoutError as exc:
        if _connection_failed(exc):
            raise ProviderError(ErrorKind.UNREACHABLE, "could not connect") from exc
        raise ProviderError(ErrorKind.TIMEOUT, "timed out") from exc
    except openai.APIConnectionError as exc:
        raise _connection_error(ErrorKind.UNREACHABLE, exc.__cause__ or exc, key) from exc
    except httpx2.TransportError as exc:
        # A connection lost after the first byte: the SDK does not wrap errors while iterating.
        raise _connection_error(ErrorKind.INTERRUPTED, exc, key) from exc


def _status_error(exc: openai.APIStatusError) -> ProviderError:
    status = exc.status_code
    body = _body_text(exc)
    if 300 <= status < 400:
        location = exc.response.headers.get("location") or "an unnamed place"
        return ProviderError(
            ErrorKind.REDIRECTED,
            f"the provider answered with a redirect to {location}; not followed",
            status,
            body=body,
        )
    detail = _error_detail(exc)
    return ProviderError(kind_for_status(status, detail), detail, status, body=body)


def _not_a_stream(raw: bytes, content_type: str) -> ProviderError:
    """The error of a provider that answered a streaming request with a body of no events:
    its own (a MiniMax ``base_resp`` or an ``error`` object, with its code) when the body is a
    JSON object holding one, whatever its content type."""
    text = raw.decode("utf-8", "replace")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        payload = None
    refusal = refusal_in(payload, text)
    if refusal is not None:
        return refusal
    if "json" in content_type or isinstance(payload, dict):
        return ProviderError(
            ErrorKind.STREAM_ERROR, "the provider answered with JSON, not a stream", body=text
        )
    return ProviderError(ErrorKind.INTERRUPTED, "stream ended without finish_reason", body=text)


def _body_text(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text
    except httpx2.ResponseNotRead:
        return "" if exc.body is None else str(exc.body)


def _connection_error(kind: ErrorKind, cause: BaseException, key: str) -> ProviderError:
    """The failure in words for the person reading the chat; the exception's class and message
    mean something only to whoever reads the log, so they go there (scrubbed)."""
    logger.warning(
        "provider connection failed (%s): %s: %s",
        kind,
        type(cause).__name__,
        scrub(str(cause), [key]),
    )
    return ProviderError(kind, _connection_words(cause))


def _connection_words(cause: BaseException) -> str:
    if isinstance(cause, httpx2.TimeoutException):
        return "timed out"
    if isinstance(cause, httpx2.ConnectError):
        return "could not connect"
    if isinstance(cause, httpx2.ReadError | httpx2.RemoteProtocolError):
        return "the provider closed the connection"
    return "the connection failed"


def _retries_taken(request: httpx2.Request) -> int:
    """The SDK numbers each attempt in a header; the last attempt's number is the retries."""
    try:
        return max(0, int(request.headers.get("x-stainless-retry-count", "0")))
    except ValueError:
        return 0


def _connection_failed(exc: BaseException) -> bool:
    """Whether a "timeout" was really a refused connection or an unknown host: the SDK's
    aiohttp transport maps every aiohttp connection error to a connect timeout."""
    cause: BaseException | None = exc.__cause__ or exc.__context__
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, TimeoutError):
            return False  # a real timeout, whatever lies below it
        if isinstance(cause, OSError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if isinstance(message, str):
            return message
    return exc.message
