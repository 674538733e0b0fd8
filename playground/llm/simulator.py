"""A built-in stand-in for MiniMax-M1 that speaks the OpenAI streaming protocol.

It is reached through the ``openai`` SDK like any provider: in process through
``SimulatorTransport`` (an httpx transport), or over HTTP through ``asgi_app``. It thinks,
then answers, in any of the three thinking formats, at a configurable speed, with a usage
chunk, ``max_tokens`` and ``stop`` honoured and a context-length error above 1M tokens.

The faults real providers have are requested from the chat itself with directives in the
last user message, so they can be tried from the UI:

    #fault:429          HTTP 429 with Retry-After
    #fault:500          HTTP 500
    #fault:401          HTTP 401
    #fault:context      HTTP 400 context-length error
    #fault:midstream    an error event after some tokens (HTTP status already 200)
    #fault:interrupt    the stream ends without finish_reason or [DONE]
    #fault:keepalive    SSE keep-alive comments before the first token
    #fault:base_resp    a MiniMax-style base_resp error inside a 200 stream
    #think:N #answer:N  lengths in tokens; #tps:N tokens per second (0 = no pacing)
    #bench:clock        each token is " index/emission-time" (benchmarks measure delay; not
                        "@", which the markdown linkifier tries as an e-mail address)
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx2
import orjson

from .normalize import ThinkingFormat
from .tokens import estimate_messages_tokens

CONTEXT_LIMIT = 1_000_000
DEFAULT_TOKENS_PER_SECOND = 40.0
HEADER_THINKING_FORMAT = "x-simulator-thinking-format"
HEADER_TOKENS_PER_SECOND = "x-simulator-tokens-per-second"
MODELS = ("MiniMax-M1-40k", "MiniMax-M1-80k")

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
        return cls(
            frozenset(faults),
            _bounded_int(values.get("think"), 0, 200_000),
            _bounded_int(values.get("answer"), 1, 200_000),
            _bounded_float(values.get("tps"), 0, 100_000),
            values.get("bench") == "clock",
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
    prompt: str,
    seed: int | None,
    think_tokens: int | None,
    answer_tokens: int | None,
    documents: list[tuple[str, str]] | None = None,
):
    """The thinking and the answer for a prompt: deterministic for a prompt and seed. With
    documents, the answer starts by naming them and quoting the line that fits the prompt."""
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
    return _fit(thinking, think_tokens), _fit(answer, answer_tokens)


def _fit(text: str, tokens: int | None) -> str:
    """Pad or cut ``text`` to about ``tokens`` tokens."""
    if tokens is None:
        return text
    pieces = split_tokens(text)
    while len(pieces) < tokens:
        # Re-split the joined text: a token list cut at any point re-splits to itself, but
        # trailing whitespace followed by more text would merge into the next token.
        pieces = split_tokens("".join(pieces).rstrip() + " " + _FILLER)
    return "".join(pieces[:tokens])


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
    directives = Directives.parse(_last_user_text(messages))
    faults = directives.faults
    if "429" in faults:
        return _error(429, "Rate limit reached, retry later.", {"retry-after": "1"})
    if "500" in faults:
        return _error(500, "Internal server error")
    if "401" in faults:
        return _error(401, "Incorrect API key provided.")
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
    run = _Run(
        body=body,
        prompt_tokens=prompt_tokens,
        directives=directives,
        thinking_format=thinking_format,
        tokens_per_second=DEFAULT_TOKENS_PER_SECOND if tps is None else tps,
    )
    if not body.get("stream"):
        return SimResponse(200, {"content-type": "application/json"}, orjson.dumps(run.whole()))
    return SimResponse(200, {"content-type": "text/event-stream"}, run.stream())


@dataclass
class _Run:
    body: dict[str, Any]
    prompt_tokens: int
    directives: Directives
    thinking_format: ThinkingFormat
    tokens_per_second: float
    id: str = field(default_factory=lambda: f"chatcmpl-sim-{random.getrandbits(48):012x}")

    def _limits(self) -> tuple[int, list[str]]:
        max_tokens = self.body.get("max_completion_tokens") or self.body.get("max_tokens")
        if not isinstance(max_tokens, int) or max_tokens <= 0:
            max_tokens = 8192
        stop = self.body.get("stop") or []
        stop = [stop] if isinstance(stop, str) else [s for s in stop if isinstance(s, str) and s]
        return max_tokens, stop[:4]

    def _plan(self) -> tuple[list[tuple[str, str]], str]:
        """Every (part, token) to emit, cut by max_tokens and stop; and the finish reason."""
        seed = self.body.get("seed") if isinstance(self.body.get("seed"), int) else None
        prompt = _last_user_text(self.body["messages"])
        thinking, answer = compose(
            prompt,
            seed,
            self.directives.think_tokens,
            self.directives.answer_tokens,
            attached_documents(self.body["messages"]),
        )
        max_tokens, stops = self._limits()
        if _continues_an_answer(self.body["messages"]):
            # An assistant prefill that closed the thinking (budget forcing): answer only.
            parts = []
        elif self.thinking_format == ThinkingFormat.THINK_TAGS:
            parts = [("content", t) for t in split_tokens(f"<think>\n{thinking}\n</think>\n\n")]
        else:
            parts = [("reasoning", t) for t in split_tokens(thinking)]
        finish = "stop"
        for stop in stops:
            cut = answer.find(stop)
            if cut >= 0:
                answer = answer[:cut]
        parts += [("content", t) for t in split_tokens(answer)]
        if len(parts) > max_tokens:
            parts, finish = parts[:max_tokens], "length"
        return parts, finish

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

    def _usage(self, parts: list[tuple[str, str]]) -> dict[str, Any]:
        if self.thinking_format == ThinkingFormat.THINK_TAGS:
            text = "".join(t for _, t in parts)
            thinking = text.split("</think>", 1)[0] if "</think>" in text else text
            reasoning_tokens = len(split_tokens(thinking))
        else:
            reasoning_tokens = sum(1 for part, _ in parts if part == "reasoning")
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": len(parts),
            "total_tokens": self.prompt_tokens + len(parts),
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }

    def whole(self) -> dict[str, Any]:
        parts, finish = self._plan()
        reasoning = "".join(t for p, t in parts if p == "reasoning")
        content = "".join(t for p, t in parts if p == "content")
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning:
            message["reasoning_content"] = reasoning
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": self._usage(parts),
        }

    async def stream(self) -> AsyncIterator[bytes]:
        parts, finish = self._plan()
        faults = self.directives.faults
        cut_at = (
            max(1, min(len(parts) // 3, 40))
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
        for index, (part, token) in enumerate(parts):
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
            elif index % 64 == 0:
                await asyncio.sleep(0)
            if self.directives.clock:
                token = f" {index}/{time.time():.6f}"
            yield self._chunk(self._delta(part, token))
        yield self._chunk({}, finish)
        stream_options = self.body.get("stream_options") or {}
        if isinstance(stream_options, dict) and stream_options.get("include_usage"):
            usage_chunk = {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self.body["model"],
                "choices": [],
                "usage": self._usage(parts),
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
        result = route(request.method, request.url.path, body, headers)
        if isinstance(result.body, bytes):
            return httpx2.Response(result.status, headers=result.headers, content=result.body)
        return httpx2.Response(
            result.status, headers=result.headers, stream=_ClosingStream(result.body)
        )


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The simulator over HTTP (mounted at /simulator/v1 in the embedded mode)."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    result = route(scope["method"], scope["path"], body, headers)
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
        async with aclosing(result.body) as parts:
            async for part in parts:
                if disconnected.is_set():
                    stats.closed_early += 1
                    return
                await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()
