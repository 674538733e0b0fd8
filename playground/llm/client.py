"""Stream a chat completion from any OpenAI-compatible provider through the ``openai`` SDK.

The SDK builds the request, authenticates, retries 429/5xx before the first token with bounded
backoff honouring Retry-After, and maps HTTP errors. The streamed body is read line by line and
parsed with orjson: the SDK's per-chunk pydantic models cost 100-170 µs each, which caps one
process near 8-10k chunks/s (design §3).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx2
import openai
import orjson

from .errors import ErrorKind, ProviderError, kind_for_status
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
        # chunks a second at 200 streams (bench/RESULTS.md).
        http_client=openai.DefaultAioHttpClient(timeout=timeout),
    )


def normalizer_for(config: ProviderConfig) -> StreamNormalizer:
    # The simulator's format is set by a header; reading it back in AUTO mode covers all three.
    fmt = ThinkingFormat.AUTO if config.kind == ProviderKind.SIMULATOR else config.thinking_format
    return StreamNormalizer(fmt)


# A chunk of a chat completion stream is a few hundred bytes; a provider (or a proxy) that
# never ends a line must not make the worker buffer, and re-scan, megabytes.
MAX_SSE_LINE_BYTES = 1 << 20


async def sse_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The ``data:`` fields of a server-sent event stream, one per line, as bytes.

    Blank separators, comments (keep-alives) and ``event:``/``id:`` lines are skipped. Lines
    end with LF, CRLF or CR, and may be cut anywhere between chunks. This reads bytes
    directly: httpx's text and line iterators cost a layer of async generator each per chunk,
    and a worker reads some 8,000 chunks a second at 200 streams (bench/RESULTS.md).
    """
    pending = b""
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
                yield line[5:].strip()
    if pending.startswith(b"data:"):
        yield pending[5:].strip()


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
    try:
        async with client.chat.completions.with_streaming_response.create(**body) as response:
            outcome.retries += _retries_taken(response.http_response.request)
            outcome.request_id = response.request_id or response.headers.get("x-request-id")
            done = False
            async for data in sse_data(response.http_response.aiter_bytes()):
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
                raise ProviderError(ErrorKind.INTERRUPTED, "stream ended without finish_reason")
            outcome.completed = True
    except openai.APIStatusError as exc:
        outcome.retries += _retries_taken(exc.response.request)
        detail = _error_detail(exc)
        raise ProviderError(
            kind_for_status(exc.status_code, detail), detail, exc.status_code
        ) from exc
    except openai.APITimeoutError as exc:
        if _connection_failed(exc):
            raise ProviderError(ErrorKind.UNREACHABLE, "could not connect") from exc
        raise ProviderError(ErrorKind.TIMEOUT, "timed out") from exc
    except openai.APIConnectionError as exc:
        raise _connection_error(ErrorKind.UNREACHABLE, exc.__cause__ or exc) from exc
    except httpx2.TransportError as exc:
        # A connection lost after the first byte: the SDK does not wrap errors while iterating.
        raise _connection_error(ErrorKind.INTERRUPTED, exc) from exc


def _connection_error(kind: ErrorKind, cause: BaseException) -> ProviderError:
    """The failure in words for the person reading the chat; the exception's class and message
    mean something only to whoever reads the log, so they go there."""
    logger.warning("provider connection failed (%s): %s: %s", kind, type(cause).__name__, cause)
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
