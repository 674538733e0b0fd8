"""Reading server-sent events from bytes cut anywhere, with every line ending."""

import pytest

from playground.llm.client import sse_data
from playground.llm.errors import ErrorKind, ProviderError

STREAM = ': keep-alive\n\ndata: {"a":1}\n\nevent: message\ndata:{"b":2}\nid: 7\n\ndata: [DONE]\n\n'
EXPECTED = [b'{"a":1}', b'{"b":2}', b"[DONE]"]


async def read(chunks: list[bytes]) -> list[bytes]:
    async def source():
        for chunk in chunks:
            yield chunk

    return [data async for data in sse_data(source())]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
async def test_every_cut_of_the_stream_gives_the_same_data(ending):
    raw = STREAM.replace("\n", ending).encode()
    for cut in range(len(raw) + 1):
        assert await read([raw[:cut], raw[cut:]]) == EXPECTED, (ending, cut)
    assert await read([raw[i : i + 1] for i in range(len(raw))]) == EXPECTED


async def test_a_last_line_without_an_ending_is_read():
    assert await read([b'data: {"a":1}\n\ndata: [DO', b"NE]"]) == [b'{"a":1}', b"[DONE]"]


async def test_utf8_cut_inside_a_character_is_kept_whole():
    raw = 'data: {"t":"héllo 思考"}\n\n'.encode()
    for cut in range(len(raw) + 1):
        assert await read([raw[:cut], raw[cut:]]) == ['{"t":"héllo 思考"}'.encode()]


async def test_a_line_that_never_ends_is_refused_not_buffered():
    with pytest.raises(ProviderError) as caught:
        await read([b"data: " + b"x" * 65536 for _ in range(20)])
    assert caught.value.kind == ErrorKind.STREAM_ERROR
    with pytest.raises(ProviderError):  # the same when the long tail follows a whole line
        await read([b'data: {"a":1}\n' + b"x" * (2 << 20)])
