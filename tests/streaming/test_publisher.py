"""Frames are kept for snapshots and sent in order, whatever buffer and layer carry them."""

from concurrent.futures import Future

import pytest
from channels.layers import get_channel_layer

from playground.streaming import buffer as streambuffer
from playground.streaming import publisher as events
from playground.streaming.channel_layer import WakefulPubSubChannelLayer
from tests.support import services

GROUP = events.group_for("ab12")


async def deliver_one_stream(layer, buffer) -> tuple:
    """Two deltas, then the final frame (which drops the kept frames), through the publisher
    the app would choose for this layer and buffer."""
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    events.stream_frame("ab12", 7, {"seq": 1}, (1, "think ", ""))
    events.stream_frame("ab12", 7, {"seq": 2}, (2, "more", "Hi"))
    received = [(await layer.receive(channel))["frame"]["seq"] for _ in range(2)]
    kept = await buffer.read(7)
    if isinstance(buffer, streambuffer.RedisFrameBuffer):  # kept frames expire if never dropped
        assert 0 < await buffer.client().ttl(buffer.key(7)) <= streambuffer.FRAME_TTL_SECONDS
    await events.end_stream("ab12", 7, {"seq": 3, "type": "final"})
    received.append((await layer.receive(channel))["frame"]["seq"])
    await layer.group_discard(GROUP, channel)
    return kept, received, await buffer.read(7)


@pytest.mark.parametrize("kind", ["memory", "redis buffer", "redis"])
async def test_frames_are_kept_then_dropped_and_sent_in_order(monkeypatch, kind):
    layer = get_channel_layer()  # the in-memory layer of the test settings
    if kind == "memory":
        buffer = streambuffer.MemoryFrameBuffer()
    else:
        services.need_redis()
        buffer = streambuffer.RedisFrameBuffer(services.redis_url())
        await buffer.drop(7)
    if kind == "redis":  # production: the pub/sub layer, frames sent by the publisher thread
        layer = WakefulPubSubChannelLayer(hosts=[services.redis_url()] * 2)
        monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
        monkeypatch.setattr(events, "_redis_publisher", None)
    monkeypatch.setattr(events, "frame_buffer", lambda: buffer)
    try:
        kept, received, after = await deliver_one_stream(layer, buffer)
    finally:
        if kind == "redis":
            await layer.flush()
    assert (kept.seq, kept.reasoning, kept.content) == (2, "think more", "Hi")
    assert received == [1, 2, 3]
    assert after is None
    if kind == "redis":
        assert isinstance(events._redis_publisher, events._RedisPublisher)


def test_a_cancelled_waiter_does_not_break_the_publisher():
    done = Future()
    done.cancel()  # end_stream's task was cancelled while its final frame was being sent
    events._resolve([events._Op("chat.ab12", 7, done=done), events._Op("chat.ab12", 8)])


async def test_a_dead_publisher_thread_is_replaced(monkeypatch):
    services.need_redis()
    layer = WakefulPubSubChannelLayer(hosts=[services.redis_url()])
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(
        events, "frame_buffer", lambda: streambuffer.RedisFrameBuffer(services.redis_url())
    )

    class Dead:
        alive = False

    monkeypatch.setattr(events, "_redis_publisher", Dead())
    try:
        publisher = events._publisher()
        assert isinstance(publisher, events._RedisPublisher) and publisher.alive
        assert events._publisher() is publisher
    finally:
        await layer.flush()
