"""channels-redis's pub/sub layer, with a reader that wakes when a shard gains a subscriber.

In channels-redis 4.3 each shard's reader task, while its shard has no subscription, polls
with ``asyncio.sleep(0.1)``; a subscription made during that sleep is not read until it ends.
A viewer who opens a chat (a new websocket: a new subscription, often on an idle shard)
and sends at once therefore saw the first frames up to 100 ms late, about 50 ms on average
(bench/RESULTS.md). Here the idle reader waits on an event that ``subscribe`` sets.

This overrides two methods of ``RedisSingleShardConnection`` and the constructor of the
per-loop layer; pyproject pins channels-redis to the 4.3 series, and
tests/streaming/test_channel_layer.py checks the internals relied on.
"""

from __future__ import annotations

import asyncio
import logging

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)

logger = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 0.1  # as upstream: how often a subscribed reader checks its state


class WakefulShardConnection(RedisSingleShardConnection):
    def __init__(self, host, channel_layer) -> None:
        super().__init__(host, channel_layer)
        self._subscribed = asyncio.Event()

    async def subscribe(self, channel) -> None:
        await super().subscribe(channel)
        self._subscribed.set()

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=READ_TIMEOUT_SECONDS
                    )
                    self._receive_message(message)
                else:
                    self._subscribed.clear()
                    await self._subscribed.wait()
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception:
                logger.exception("Unexpected exception in the channel layer's receive task")
                await asyncio.sleep(1)


class WakefulLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [WakefulShardConnection(shard.host, self) for shard in self._shards]


class WakefulPubSubChannelLayer(RedisPubSubChannelLayer):
    """Settings name this class as the production channel layer backend."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = WakefulLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
