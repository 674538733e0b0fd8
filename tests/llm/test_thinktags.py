import pytest

from playground.llm.thinktags import ThinkTagSplitter


def run(chunks: list[str]) -> tuple[str, str]:
    splitter = ThinkTagSplitter()
    reasoning = content = ""
    for chunk in chunks:
        part = splitter.feed(chunk)
        reasoning += part.reasoning
        content += part.content
    tail = splitter.flush()
    return reasoning + tail.reasoning, content + tail.content


TEXT = "<think>\nLet me check: a < b and </thinking> is not the tag.\n</think>\n\nThe answer is 4."


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13, 1000])
def test_tags_cut_anywhere_across_chunks(size):
    chunks = [TEXT[i : i + size] for i in range(0, len(TEXT), size)]
    reasoning, content = run(chunks)
    assert reasoning == "Let me check: a < b and </thinking> is not the tag.\n"
    assert content == "The answer is 4."


def test_answer_without_thinking_passes_through():
    assert run(["Hello ", "<b>world</b>"]) == ("", "Hello <b>world</b>")


def test_leading_whitespace_before_think_tag():
    assert run(["\n ", " <thi", "nk>idea</think>ok"]) == ("idea", "ok")


def test_unclosed_thinking_at_end_of_stream_stays_thinking():
    assert run(["<think>still going </thi"]) == ("still going </thi", "")


def test_partial_open_tag_that_is_not_a_tag():
    assert run(["<th", "ere we go"]) == ("", "<there we go")


def test_newlines_after_close_tag_in_next_chunk_are_layout():
    assert run(["<think>a</think>", "\n\n", "B"]) == ("a", "B")
