"""Frames are kept for snapshots whichever buffer and channel layer carry them."""

import pytest
from channels.layers import get_channel_layer

from playground.chats import events, streambuffer
from tests.support import services


async def deliver_one_stream(buffer) -> tuple:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(events.group_for_session("ab12"), channel)
    ops = [
        events._Op("session.ab12", 7, {"seq": 1}, (1, "think ", "")),
        events._Op("session.ab12", 7, {"seq": 2}, (2, "more", "Hi")),
    ]
    await events._deliver(ops)
    kept = await buffer.read(7)
    received = [(await layer.receive(channel))["frame"]["seq"] for _ in ops]
    await events._deliver([events._Op("session.ab12", 7, {"seq": 3}, drop=True)])
    return kept, received, await buffer.read(7)


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_frames_are_kept_then_dropped_and_sent_in_order(monkeypatch, kind):
    if kind == "redis":
        services.need_redis()
        buffer = streambuffer.RedisFrameBuffer(services.redis_url())
        await buffer.drop(7)
    else:
        buffer = streambuffer.MemoryFrameBuffer()
    # The in-memory channel layer with either buffer takes the generic path.
    monkeypatch.setattr(events, "frame_buffer", lambda: buffer)
    kept, received, after = await deliver_one_stream(buffer)
    assert (kept.seq, kept.reasoning, kept.content) == (2, "think more", "Hi")
    assert received == [1, 2]
    assert after is None
