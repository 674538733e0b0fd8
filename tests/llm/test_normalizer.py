"""The normalizer against recorded chunk sequences of each provider shape (design §4)."""

from pathlib import Path

import orjson
import pytest

from playground.llm.errors import ErrorKind, ProviderError
from playground.llm.normalize import StreamNormalizer, ThinkingFormat

RECORDINGS = Path(__file__).parent / "recordings"


def replay(name: str, fmt: ThinkingFormat = ThinkingFormat.AUTO):
    normalizer = StreamNormalizer(fmt)
    reasoning = content = ""
    for line in (RECORDINGS / name).read_text().splitlines():
        if not line.startswith("data:") or line == "data: [DONE]":
            continue
        part = normalizer.feed(orjson.loads(line[5:]))
        reasoning += part.reasoning
        content += part.content
    tail = normalizer.finish()
    return normalizer, reasoning + tail.reasoning, content + tail.content


def test_minimax_reasoning_content():
    normalizer, reasoning, content = replay("minimax_reasoning_content.sse")
    assert reasoning == "The user greets me. I should greet back."
    assert content == "Hello! How can I help?"
    assert normalizer.finish_reason == "stop"
    assert normalizer.usage.prompt_tokens == 12
    assert normalizer.usage.reasoning_tokens == 9
    assert normalizer.response_id == "05b81e2a"


def test_openrouter_reasoning_with_keepalive_and_cost():
    normalizer, reasoning, content = replay("openrouter_reasoning.sse")
    assert reasoning == "Two plus two is four."
    assert content == "**4**"
    assert normalizer.usage.completion_tokens == 11
    assert normalizer.usage.cached_tokens == 3
    assert normalizer.usage.raw["cost"] == 0.0000241


def test_vllm_think_tags_inline_cut_across_chunks():
    normalizer, reasoning, content = replay("vllm_think_tags.sse")
    assert reasoning == "Compare 9.11 and 9.9: 9.9 is larger.\n"  # stripped when saved
    assert content == "9.9 is larger."
    assert normalizer.finish_reason == "stop"
    assert normalizer.usage is None  # vLLM without include_usage


def test_explicit_format_ignores_other_fields():
    _, reasoning, content = replay("minimax_reasoning_content.sse", ThinkingFormat.REASONING)
    assert reasoning == ""
    assert content == "Hello! How can I help?"


def test_error_event_mid_stream_raises():
    normalizer = StreamNormalizer()
    normalizer.feed({"choices": [{"index": 0, "delta": {"content": "par"}}]})
    with pytest.raises(ProviderError) as caught:
        normalizer.feed({"error": {"message": "Upstream overloaded", "code": 502}})
    assert caught.value.kind == ErrorKind.STREAM_ERROR
    assert "overloaded" in caught.value.detail


def test_minimax_base_resp_error_in_a_200_stream():
    with pytest.raises(ProviderError) as caught:
        StreamNormalizer().feed({"base_resp": {"status_code": 1008, "status_msg": "balance"}})
    assert caught.value.kind == ErrorKind.INSUFFICIENT_BALANCE


def test_base_resp_success_is_not_an_error():
    part = StreamNormalizer().feed(
        {
            "base_resp": {"status_code": 0, "status_msg": ""},
            "choices": [{"index": 0, "delta": {"content": "ok"}}],
        }
    )
    assert part.content == "ok"


@pytest.mark.parametrize(
    "chunk",
    [
        {"choices": None},
        {"choices": [None]},
        {"choices": [{"delta": "x"}]},
        {"choices": [{"index": 0, "delta": {"content": 5, "reasoning": ["x"]}}]},
        {"usage": {"prompt_tokens": "many", "completion_tokens": -1}},
    ],
)
def test_malformed_shapes_are_ignored_not_crashes(chunk):
    part = StreamNormalizer().feed(chunk)
    assert part.reasoning == "" and part.content == ""


def test_other_choices_are_ignored():
    part = StreamNormalizer().feed({"choices": [{"index": 1, "delta": {"content": "n=2"}}]})
    assert part.content == ""
