"""Turn OpenAI-compatible stream chunks into reasoning and answer deltas (design §4).

Chunks are plain dicts parsed from the SSE ``data:`` lines. Thinking arrives as
``delta.reasoning_content`` (MiniMax, older vLLM), ``delta.reasoning`` (OpenRouter, newer
vLLM) or inline in ``delta.content`` between ``<think>`` tags (vLLM serving M1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from .errors import ErrorKind, ProviderError, refusal_in
from .thinktags import Split, ThinkTagSplitter


class ThinkingFormat(StrEnum):
    AUTO = "auto"
    REASONING_CONTENT = "reasoning_content"
    REASONING = "reasoning"
    THINK_TAGS = "think_tags"


@dataclass(slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_chunk(cls, usage: dict[str, Any]) -> Usage:
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(
            prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
            completion_tokens=_int_or_none(usage.get("completion_tokens")),
            cached_tokens=_int_or_none(prompt_details.get("cached_tokens")),
            reasoning_tokens=_int_or_none(completion_details.get("reasoning_tokens")),
            raw=usage,
        )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class StreamNormalizer:
    """Feed chunks in order; read ``finish_reason``, ``usage`` and ``response_id`` at the end."""

    def __init__(self, thinking_format: ThinkingFormat = ThinkingFormat.AUTO) -> None:
        self.thinking_format = ThinkingFormat(thinking_format)
        self._splitter = ThinkTagSplitter()
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None

    def feed(self, chunk: dict[str, Any]) -> Split:
        if not isinstance(chunk, dict):
            raise ProviderError(ErrorKind.STREAM_ERROR, "malformed chunk")
        self._raise_for_embedded_error(chunk)
        self.response_id = self.response_id or _text(chunk.get("id")) or None
        self.model = self.model or _text(chunk.get("model")) or None
        if isinstance(chunk.get("usage"), dict):
            self.usage = Usage.from_chunk(chunk["usage"])
        out = Split()
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return out
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta, dict):
                self._read_delta(delta, out)
            if choice.get("finish_reason"):
                self.finish_reason = _text(choice["finish_reason"])
        return out

    def finish(self) -> Split:
        return self._splitter.flush()

    def _read_delta(self, delta: dict[str, Any], out: Split) -> None:
        fmt = self.thinking_format
        if fmt in (ThinkingFormat.AUTO, ThinkingFormat.REASONING_CONTENT):
            out.reasoning += _text(delta.get("reasoning_content"))
        if fmt in (ThinkingFormat.AUTO, ThinkingFormat.REASONING) and not out.reasoning:
            out.reasoning += _text(delta.get("reasoning"))
        content = _text(delta.get("content"))
        if not content:
            return
        if fmt in (ThinkingFormat.AUTO, ThinkingFormat.THINK_TAGS):
            split = self._splitter.feed(content)
            out.reasoning += split.reasoning
            out.content += split.content
        else:
            out.content += content

    @staticmethod
    def _raise_for_embedded_error(chunk: dict[str, Any]) -> None:
        error = chunk.get("error")
        if error:
            # An error event after the answer began (the HTTP status was already 200).
            message = error.get("message") if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
            kind = ErrorKind.RATE_LIMITED if code in (429, "rate_limit_exceeded") else None
            raise ProviderError(
                kind or ErrorKind.STREAM_ERROR,
                _text(message) or "error event",
                body=orjson.dumps(chunk).decode(),
            )
        if isinstance(chunk.get("base_resp"), dict):
            refusal = refusal_in(chunk, orjson.dumps(chunk).decode())
            if refusal is not None:
                raise refusal
