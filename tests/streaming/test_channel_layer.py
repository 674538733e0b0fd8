"""The production channel layer reads a new subscription at once, not after a polling sleep."""

import asyncio
import types

import channels_redis.pubsub as upstream
import pytest

from playground.streaming.channel_layer import WakefulPubSubChannelLayer, WakefulShardConnection
from tests.support import services

SHARDS = 4


@pytest.fixture
def no_polling(monkeypatch):
    """channels-redis's own idle poll (``asyncio.sleep`` in its module) never returns, so a
    message arrives only if the reader is woken by the subscription itself."""

    async def never(delay, result=None):
        await asyncio.Event().wait()

    patched = types.ModuleType("asyncio")
    patched.__dict__.update(asyncio.__dict__)
    patched.sleep = never
    monkeypatch.setattr(upstream, "asyncio", patched)


def group_on_another_shard(loop_layer, channel: str) -> str:
    """A group whose shard has no other subscription, so its reader is idle in between."""
    own = loop_layer._get_shard(channel)
    for n in range(100):
        group = f"chat.test{n}"
        if loop_layer._get_shard(loop_layer._get_group_channel_name(group)) is not own:
            return group
    raise AssertionError("no group hashed to another shard")


async def wait_unsubscribed(shard) -> None:
    for _ in range(500):
        if not shard._pubsub.subscribed:
            break
        await asyncio.sleep(0.01)
    for _ in range(5):  # let the reader reach its idle wait
        await asyncio.sleep(0)


async def test_a_subscription_on_an_idle_shard_is_read(no_polling):
    services.need_redis()
    layer = WakefulPubSubChannelLayer(hosts=[services.redis_url()] * SHARDS)
    try:
        channel = await layer.new_channel()
        loop_layer = layer._get_layer()
        assert all(isinstance(s, WakefulShardConnection) for s in loop_layer._shards)
        group = group_on_another_shard(loop_layer, channel)
        shard = loop_layer._get_shard(loop_layer._get_group_channel_name(group))
        for n in range(3):  # subscribe, receive, go idle, and again
            await layer.group_add(group, channel)
            await layer.group_send(group, {"type": "frame", "n": n})
            message = await asyncio.wait_for(layer.receive(channel), 10)
            assert message == {"type": "frame", "n": n}
            await layer.group_discard(group, channel)
            await wait_unsubscribed(shard)
    finally:
        await layer.flush()
