"""A built-in stand-in for MiniMax-M1 that speaks the OpenAI streaming protocol.

It is reached through the ``openai`` SDK like any provider: in process through
``SimulatorTransport`` (an httpx transport), or over HTTP through ``asgi_app`` (which the
project serves behind authentication: playground/providers/simulator_http.py). It thinks,
then answers, in any of the three thinking formats, at a configurable speed, with a usage
chunk, ``max_tokens`` and ``stop`` honoured, the model's output limit (40k or 80k tokens) and a
context-length error above 1M tokens.

It runs on the event loop of whatever serves it, next to other streams: the text is made
token by token as it is sent, never built whole, and the loop gets a turn every few dozen
tokens; a large request body is read in a thread.

The faults real providers have are requested from the chat itself with directives in the
last user message, so they can be tried from the UI:

    #fault:429          HTTP 429 with Retry-After
    #fault:500          HTTP 500
    #fault:401          HTTP 401 whose message echoes the key it was sent (as some providers do)
    #fault:context      HTTP 400 context-length error
    #fault:midstream    an error event after some tokens (HTTP status already 200)
    #fault:interrupt    the stream ends without finish_reason or [DONE]
    #fault:keepalive    SSE keep-alive comments before the first token
    #fault:base_resp    a MiniMax-style base_resp error inside a 200 stream
    #fault:json         HTTP 200 with one JSON body instead of a stream: MiniMax's base_resp
                        1008 "insufficient balance"
    #fault:json_error   the same with an OpenAI-style ``error`` object (insufficient_quota)
    #think:N #answer:N  lengths in tokens, together at most the model's output limit (a
                        directive over it is clamped); #tps:N tokens per second (0 = no pacing)
    #bench:clock        each token is " index/emission-time" (benchmarks measure delay; not
                        "@", which the markdown linkifier tries as an e-mail address)
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from itertools import chain, cycle, islice
from typing import Any

import httpx2
import orjson

from .normalize import ThinkingFormat
from .tokens import estimate_messages_tokens

CONTEXT_LIMIT = 1_000_000
DEFAULT_TOKENS_PER_SECOND = 40.0
HEADER_THINKING_FORMAT = "x-simulator-thinking-format"
HEADER_TOKENS_PER_SECOND = "x-simulator-tokens-per-second"
# Thinking and answer together (the model's real limits; playground.llm.params has the same).
OUTPUT_LIMITS = {"MiniMax-M1-40k": 40_000, "MiniMax-M1-80k": 80_000}
MODELS = tuple(OUTPUT_LIMITS)
DEFAULT_MAX_TOKENS = 8192  # MiniMax's default max_completion_tokens (design §4)
# Tokens made between two turns of the event loop when nothing paces them (#tps:0).
TOKENS_PER_TURN = 64
# A request body above this is parsed and prepared in a thread, off the event loop.
BODY_BYTES_IN_A_THREAD = 256 * 1024

_DIRECTIVE = re.compile(r"#(fault|think|answer|tps|bench):([\w.-]+)")
# A run of directives with the whitespace around it, so that removing it leaves one space.
_DIRECTIVES_SPACED = re.compile(rf"\s*(?:{_DIRECTIVE.pattern}\s*)+")
_TOKEN = re.compile(r"\s*\S{1,4}|\s+")


@dataclass
class SimulatorStats:
    """Counters the tests read to see what reached the simulator and how it ended."""

    requests: int = 0
    closed_early: int = 0
    last_request: dict[str, Any] = field(default_factory=dict)


stats = SimulatorStats()


@dataclass(frozen=True, slots=True)
class Directives:
    faults: frozenset[str]
    think_tokens: int | None
    answer_tokens: int | None
    tokens_per_second: float | None
    clock: bool = False

    @classmethod
    def parse(cls, text: str) -> Directives:
        faults: set[str] = set()
        values: dict[str, str] = {}
        for name, value in _DIRECTIVE.findall(text):
            if name == "fault":
                faults.add(value.lower())
            else:
                values[name] = value
        longest = max(OUTPUT_LIMITS.values())
        return cls(
            frozenset(faults),
            _bounded_int(values.get("think"), 0, longest),
            _bounded_int(values.get("answer"), 1, longest),
            _bounded_float(values.get("tps"), 0, 100_000),
            values.get("bench") == "clock",
        )

    def capped(self, limit: int) -> Directives:
        """Each length at most the model's output ``limit``; together they are cut there too,
        as ``max_tokens`` is (``_Run._limits``), with finish reason ``length`` as a real model
        that thinks to its limit has."""
        think, answer = self.think_tokens, self.answer_tokens
        return Directives(
            self.faults,
            None if think is None else min(think, limit),
            None if answer is None else min(answer, limit),
            self.tokens_per_second,
            self.clock,
        )


def _bounded_int(value: str | None, low: int, high: int) -> int | None:
    if value is None or not value.isdigit():
        return None
    return max(low, min(high, int(value)))


def _bounded_float(value: str | None, low: float, high: float) -> float | None:
    try:
        return None if value is None else max(low, min(high, float(value)))
    except ValueError:
        return None


def strip_directives(text: str) -> str:
    """The text without the directives the simulator reads (a chat title has no use for
    ``#think:200``): one space stays where they stood between words, none at the ends."""

    def gap(match: re.Match[str]) -> str:
        spaced = match[0]
        return " " if spaced[0].isspace() and spaced[-1].isspace() else ""

    return _DIRECTIVES_SPACED.sub(gap, text).strip()


def split_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


# --- what the simulated model says ---------------------------------------------------------

_THOUGHTS = [
    "Let me restate the question to be sure I read it right: {topic}.",
    "The user wants something concrete, so a worked example will help more than theory.",
    "First I should pin down the terms; {word} could mean more than one thing here.",
    "Let me check an edge case before I commit to an answer.",
    "Hmm, wait. If the input were empty, would this still hold? Yes, with one guard.",
    "A table comparing the options would make the trade-off easy to scan.",
    "I should keep the answer short and put the code where it can be copied.",
    "Let me verify the arithmetic once more: the totals agree.",
    "There is a simpler path: handle the common case first, then the exceptions.",
    "Alternatively, I could approach {word} from the other end, but that costs clarity.",
]

_ANSWER = """## {title}

Here is a direct answer about **{topic}**, followed by the details.

1. Start from the simplest case and make it work.
2. Add the edge cases one at a time, with a check for each.
3. Measure before optimising anything.

| Option | Strength | Cost |
|---|---|---|
| Direct | easy to read | slower on large inputs |
| Indexed | fast lookups | more memory |

```python
def solve(items: list[int]) -> int:
    \"\"\"Sum the positive items: the core of the approach.\"\"\"
    return sum(item for item in items if item > 0)
```

> In short: {word} works best when each step is small and checked.
"""

_FILLER = (
    "Each further step follows the same pattern, so the reasoning stays easy to check and "
    "the result stays easy to trust. "
)


def _topic(prompt: str) -> tuple[str, str]:
    clean = _DIRECTIVE.sub("", prompt).strip() or "the question"
    words = re.findall(r"[A-Za-z\u00c0-\uffff]{4,}", clean) or ["this"]
    return clean[:80], max(words, key=len)[:30]


_DOCUMENT = re.compile(r'<document name="([^"\n]*)">\n(.*?)\n</document>', re.S)
_WORD = re.compile(r"[^\W\d_]{4,}")
READ_CHARS = 2_000_000  # the simulator skims this much of the documents for its quote


def attached_documents(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(name, text) of the documents the app put in the system message."""
    system = next(
        (m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "system"),
        "",
    )
    return _DOCUMENT.findall(system) if isinstance(system, str) else []


def best_passage(documents: list[tuple[str, str]], prompt: str) -> tuple[str, str] | None:
    """The document line that shares the most words with the prompt: (name, line). The
    simulator cannot read, but it can show that the documents reached it."""
    wanted = {w.lower() for w in _WORD.findall(_DIRECTIVE.sub("", prompt))}
    best, best_score = None, 0
    for name, text in documents:
        for line in text[:READ_CHARS].splitlines():
            line = line.strip()
            if not line or len(line) > 400:
                continue
            score = len(wanted & {w.lower() for w in _WORD.findall(line)})
            if score > best_score:
                best, best_score = (name, line), score
    return best


def compose(
    prompt: str, seed: int | None, documents: list[tuple[str, str]] | None = None
) -> tuple[str, str]:
    """The thinking and the answer for a prompt, before any length is asked (a few hundred
    tokens each): deterministic for a prompt and seed. With documents, the answer starts by
    naming them and quoting the line that fits the prompt."""
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    topic, word = _topic(prompt)
    thoughts = rng.sample(_THOUGHTS, k=6)
    thinking = " ".join(t.format(topic=topic, word=word) for t in thoughts)
    answer = _ANSWER.format(title=topic[:60].rstrip(" ?.!") or "Answer", topic=topic, word=word)
    if documents:
        names = ", ".join(f"**{name}**" for name, _ in documents)
        opening = f"From the attached documents ({names}):"
        passage = best_passage(documents, prompt)
        if passage:
            opening += f" “{passage[1]}” ({passage[0]})"
        answer = f"{opening}\n\n{answer}"
        thinking = f"I have {len(documents)} attached document(s) to read first. {thinking}"
    return thinking, answer


# The filler's tokens, each starting with its whitespace: after text that ends in a non-space
# they split as they would in the joined text, so the streamed text re-splits to the tokens
# that were sent (the budget tests count them).
_FILLER_TOKENS = tuple(split_tokens(" " + _FILLER.rstrip()))


def token_count(text: str, tokens: int | None) -> int:
    """How many tokens ``sized_tokens(text, tokens)`` makes, without making them."""
    return len(split_tokens(text)) if tokens is None else tokens


def sized_tokens(text: str, tokens: int | None) -> Iterator[str]:
    """The tokens of ``text``, cut or padded with filler to ``tokens`` (all of them for
    None), made one at a time: the work is linear in the tokens read, and nothing longer
    than ``text`` is built."""
    pieces = split_tokens(text)
    if tokens is None or tokens <= len(pieces):
        return iter(pieces[:tokens])
    # Trailing whitespace would merge into the filler's first token: pad after the text.
    return islice(chain(split_tokens(text.rstrip()), cycle(_FILLER_TOKENS)), tokens)


def cut_at_stops(tokens: Iterator[str], stops: list[str]) -> Iterator[str]:
    """``tokens`` up to the first stop sequence (which is not sent), holding back only the
    last few tokens that might begin one, so a long answer is never searched whole."""
    if not stops:
        yield from tokens
        return
    keep = max(len(stop) for stop in stops) - 1  # characters a stop may still complete
    held: deque[str] = deque()
    held_text = ""
    for token in tokens:
        held.append(token)
        held_text += token
        found = [i for i in (held_text.find(stop) for stop in stops) if i >= 0]
        if found:
            before = held_text[: min(found)]
            for piece in held:
                if len(piece) > len(before):
                    if before:
                        yield before  # the start of a token the stop cuts
                    return
                yield piece
                before = before[len(piece) :]
            return
        while held and len(held_text) - len(held[0]) >= keep:
            held_text = held_text[len(held[0]) :]
            yield held.popleft()
    yield from held


# --- the protocol ---------------------------------------------------------------------------


@dataclass(slots=True)
class SimResponse:
    status: int
    headers: dict[str, str]
    body: bytes | AsyncIterator[bytes]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> SimResponse:
    payload = {"error": {"message": message, "type": "simulator_error", "code": status}}
    return SimResponse(
        status, {"content-type": "application/json", **(headers or {})}, orjson.dumps(payload)
    )


def _json_body(payload: dict[str, Any]) -> SimResponse:
    return SimResponse(200, {"content-type": "application/json"}, orjson.dumps(payload))


def _continues_an_answer(messages: list[dict[str, Any]]) -> bool:
    """A last assistant message whose thinking is closed: the model continues with the answer
    (vLLM's ``continue_final_message``)."""
    last = messages[-1] if messages else None
    return (
        isinstance(last, dict)
        and last.get("role") == "assistant"
        and "</think>" in str(last.get("content", ""))
    )


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


def handle_chat_completion(body: Any, headers: dict[str, str]) -> SimResponse:
    """Validate a chat-completions request and start its (streamed or whole) answer."""
    stats.requests += 1
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _error(400, "messages must be a list")
    stats.last_request = body
    model = body.get("model")
    if model not in MODELS:
        return _error(404, f"The model `{model}` does not exist.")
    messages = body["messages"]
    directives = Directives.parse(_last_user_text(messages)).capped(OUTPUT_LIMITS[model])
    faults = directives.faults
    if "429" in faults:
        return _error(429, "Rate limit reached, retry later.", {"retry-after": "1"})
    if "500" in faults:
        return _error(500, "Internal server error")
    if "401" in faults:
        sent = headers.get("authorization", "")
        return _error(401, f"Incorrect API key provided: {sent}.")
    # A refusal in one JSON body with HTTP 200, where a stream was asked for.
    if "json" in faults:
        refusal = {"base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}
        return _json_body(refusal)
    if "json_error" in faults:
        quota = "insufficient_quota"
        error = {"message": "You exceeded your current quota.", "type": quota, "code": quota}
        return _json_body({"error": error})
    prompt_tokens = estimate_messages_tokens(messages)
    if "context" in faults or prompt_tokens > CONTEXT_LIMIT:
        return _error(
            400,
            f"This model's maximum context length is {CONTEXT_LIMIT} tokens. However, you "
            f"requested {prompt_tokens} tokens in the messages. Please reduce the length.",
        )
    fmt_header = headers.get(HEADER_THINKING_FORMAT, ThinkingFormat.REASONING_CONTENT)
    try:
        thinking_format = ThinkingFormat(fmt_header)
    except ValueError:
        thinking_format = ThinkingFormat.REASONING_CONTENT
    tps = directives.tokens_per_second
    if tps is None:
        tps = _bounded_float(headers.get(HEADER_TOKENS_PER_SECOND), 0, 100_000)
    seed = body.get("seed") if isinstance(body.get("seed"), int) else None
    thinking, answer = compose(_last_user_text(messages), seed, attached_documents(messages))
    run = _Run(
        body=body,
        prompt_tokens=prompt_tokens,
        directives=directives,
        thinking_format=thinking_format,
        tokens_per_second=DEFAULT_TOKENS_PER_SECOND if tps is None else tps,
        thinking=thinking,
        answer=answer,
    )
    if not body.get("stream"):
        return SimResponse(200, {"content-type": "application/json"}, run.whole())
    return SimResponse(200, {"content-type": "text/event-stream"}, run.stream())


_THINK_OPEN = split_tokens("<think>\n")
_THINK_CLOSE = split_tokens("\n</think>\n\n")


@dataclass
class _Run:
    """One answer, made token by token as it is read (``_emitted``), never whole: a request
    for the model's whole output limit costs the same per token as a short one."""

    body: dict[str, Any]
    prompt_tokens: int
    directives: Directives
    thinking_format: ThinkingFormat
    tokens_per_second: float
    thinking: str  # before fitting to the asked length
    answer: str
    id: str = field(default_factory=lambda: f"chatcmpl-sim-{random.getrandbits(48):012x}")
    # Filled in by ``_emitted`` as it goes.
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    finish: str | None = None

    def _limits(self) -> tuple[int, list[str]]:
        max_tokens = self.body.get("max_completion_tokens") or self.body.get("max_tokens")
        if not isinstance(max_tokens, int) or max_tokens <= 0:
            max_tokens = DEFAULT_MAX_TOKENS
        stop = self.body.get("stop") or []
        stop = [stop] if isinstance(stop, str) else [s for s in stop if isinstance(s, str) and s]
        return min(max_tokens, OUTPUT_LIMITS[self.body["model"]]), stop[:4]

    def _thinks(self) -> bool:
        # An assistant prefill that closed the thinking (budget forcing): answer only.
        return not _continues_an_answer(self.body["messages"])

    def _planned(self) -> int:
        """About how many tokens the answer will have (stop sequences aside)."""
        d = self.directives
        thinking = token_count(self.thinking, d.think_tokens) if self._thinks() else 0
        return min(self._limits()[0], thinking + token_count(self.answer, d.answer_tokens))

    def _tokens(self) -> Iterator[tuple[str, str, bool]]:
        """(part, token, is thinking) in order, made lazily."""
        d = self.directives
        if self._thinks():
            thinking = sized_tokens(self.thinking, d.think_tokens)
            if self.thinking_format == ThinkingFormat.THINK_TAGS:
                for token in chain(_THINK_OPEN, thinking, _THINK_CLOSE):
                    yield "content", token, True
            else:
                for token in thinking:
                    yield "reasoning", token, True
        stops = self._limits()[1]
        for token in cut_at_stops(sized_tokens(self.answer, d.answer_tokens), stops):
            yield "content", token, False

    def _emitted(self) -> Iterator[tuple[str, str]]:
        """The tokens to send, cut at ``max_tokens``; counts them and sets the finish reason."""
        max_tokens = self._limits()[0]
        for part, token, thinking in self._tokens():
            if self.completion_tokens == max_tokens:
                self.finish = "length"
                return
            self.completion_tokens += 1
            self.reasoning_tokens += thinking
            yield part, token
        self.finish = "stop"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.body["model"],
            "choices": [choice],
        }
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def _delta(self, part: str, token: str) -> dict[str, str]:
        if part == "content":
            return {"content": token}
        key = (
            "reasoning"
            if self.thinking_format == ThinkingFormat.REASONING
            else ("reasoning_content")
        )
        return {key: token}

    def _usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        }

    async def whole(self) -> AsyncIterator[bytes]:
        """The answer as one JSON body (no ``stream``), made with turns of the loop between."""
        reasoning: list[str] = []
        content: list[str] = []
        for index, (part, token) in enumerate(self._emitted(), start=1):
            (reasoning if part == "reasoning" else content).append(token)
            if index % TOKENS_PER_TURN == 0:
                await asyncio.sleep(0)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        yield orjson.dumps(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": self.finish}],
                "usage": self._usage(),
            }
        )

    async def stream(self) -> AsyncIterator[bytes]:
        faults = self.directives.faults
        cut_at = (
            max(1, min(self._planned() // 3, 40))
            if faults & {"midstream", "interrupt", "base_resp"}
            else None
        )
        interval = 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
        start = time.monotonic()
        if "keepalive" in faults:
            for _ in range(3):
                yield b": OPENROUTER PROCESSING\n\n"
                await asyncio.sleep(0.2)
            start = time.monotonic()
        yield self._chunk({"role": "assistant", "content": ""})
        for index, (part, token) in enumerate(self._emitted()):
            if index == cut_at:
                if "midstream" in faults:
                    error = {"error": {"message": "Upstream overloaded", "code": 502}}
                    yield b"data: " + orjson.dumps(error) + b"\n\n"
                elif "base_resp" in faults:
                    resp = {
                        "base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}
                    }
                    yield b"data: " + orjson.dumps(resp) + b"\n\n"
                return
            if interval:
                delay = start + index * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif index % TOKENS_PER_TURN == 0:
                    await asyncio.sleep(0)  # behind its pace: still never hold the loop
            elif index % TOKENS_PER_TURN == 0:
                await asyncio.sleep(0)
            if self.directives.clock:
                token = f" {index}/{time.time():.6f}"
            yield self._chunk(self._delta(part, token))
        yield self._chunk({}, self.finish)
        stream_options = self.body.get("stream_options") or {}
        if isinstance(stream_options, dict) and stream_options.get("include_usage"):
            usage_chunk = {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self.body["model"],
                "choices": [],
                "usage": self._usage(),
            }
            yield b"data: " + orjson.dumps(usage_chunk) + b"\n\n"
        yield b"data: [DONE]\n\n"


def _models_response() -> SimResponse:
    data = [{"id": m, "object": "model", "owned_by": "simulator"} for m in MODELS]
    return SimResponse(
        200, {"content-type": "application/json"}, orjson.dumps({"object": "list", "data": data})
    )


def route(method: str, path: str, body: bytes, headers: dict[str, str]) -> SimResponse:
    if method == "GET" and path.endswith("/models"):
        return _models_response()
    if method != "POST" or not path.endswith("/chat/completions"):
        return _error(404, "Not found")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, "The body is not valid JSON.")
    return handle_chat_completion(payload, headers)


async def aroute(method: str, path: str, body: bytes, headers: dict[str, str]) -> SimResponse:
    """``route`` without holding the event loop: a large body (whole documents) takes longer
    to parse, count and skim than one turn of the loop may, so that is done in a thread."""
    if len(body) < BODY_BYTES_IN_A_THREAD:
        return route(method, path, body, headers)
    return await asyncio.to_thread(route, method, path, body, headers)


class _ClosingStream(httpx2.AsyncByteStream):
    """Streams the simulated body; closing it early stops the generator (an upstream close)."""

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self._body = body
        self._finished = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._body:
            yield part
        self._finished = True

    async def aclose(self) -> None:
        if not self._finished:
            stats.closed_early += 1
            self._finished = True
        await self._body.aclose()  # type: ignore[attr-defined]


class SimulatorTransport(httpx2.AsyncBaseTransport):
    """Lets the openai SDK reach the simulator in process, streaming chunk by chunk."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        headers = {k.lower(): v for k, v in request.headers.items()}
        result = await aroute(request.method, request.url.path, body, headers)
        if isinstance(result.body, bytes):
            return httpx2.Response(result.status, headers=result.headers, content=result.body)
        return httpx2.Response(
            result.status, headers=result.headers, stream=_ClosingStream(result.body)
        )


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The simulator over HTTP (mounted at /simulator/v1 in the embedded mode)."""
    if scope["type"] != "http":
        return
    parts: list[bytes] = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    result = await aroute(scope["method"], scope["path"], b"".join(parts), headers)
    raw_headers = [(k.encode(), v.encode()) for k, v in result.headers.items()]
    await send({"type": "http.response.start", "status": result.status, "headers": raw_headers})
    if isinstance(result.body, bytes):
        await send({"type": "http.response.body", "body": result.body})
        return
    # Like a real provider, stop generating when the client goes away (a stop in the app).
    disconnected = asyncio.Event()

    async def watch_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        disconnected.set()

    watcher = asyncio.create_task(watch_disconnect())
    try:
        async with aclosing(result.body) as chunks:
            async for part in chunks:
                if disconnected.is_set():
                    stats.closed_early += 1
                    return
                await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()
