"""The one module that publishes to the channel layer (design §7).

Frames go to the session's group; the consumer forwards them as they are. The database is the
source of truth: a lost frame is repaired by the browser's resync, never by retrying here.

Streamed frames go through one publisher per event loop. Generations hand it their frames
without waiting; it sends everything pending together: with Redis, one pipeline carries each
frame's append to the frame buffer and its PUBLISH, so a worker holding 200 streams makes about
one round trip per frame interval instead of two per frame (bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from .looplocal import LoopLocal
from .streambuffer import FRAME_TTL_SECONDS, RedisFrameBuffer, frame_buffer

logger = logging.getLogger(__name__)


def group_for_session(session_id) -> str:
    hex_id = session_id.hex if hasattr(session_id, "hex") else str(session_id).replace("-", "")
    return f"session.{hex_id}"


def _envelope(frame: dict[str, Any]) -> dict[str, Any]:
    return {"type": "frame", "frame": frame}


async def publish(session_id, frame: dict[str, Any]) -> None:
    """One frame now (not part of a stream's ordered sequence)."""
    try:
        await get_channel_layer().group_send(group_for_session(session_id), _envelope(frame))
    except Exception:  # the fast path is best-effort; viewers resync from the database
        logger.warning("publishing a frame failed", exc_info=True)


def publish_sync(session_id, frame: dict[str, Any]) -> None:
    """From synchronous code; call it from ``transaction.on_commit`` so viewers never hear of
    rows that were rolled back."""
    async_to_sync(publish)(session_id, frame)


@dataclass(slots=True)
class _Op:
    group: str
    message_id: int
    frame: dict[str, Any] | None = None
    buffered: tuple[int, str, str] | None = None  # (seq, reasoning, content) to keep
    drop: bool = False  # the stream ended: forget its frames
    done: asyncio.Future | None = None


class _StreamPublisher:
    def __init__(self) -> None:
        self._pending: list[_Op] = []
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def submit(self, op: _Op) -> None:
        self._pending.append(op)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            try:
                await _deliver(batch)
            except Exception:
                logger.warning("publishing %d frames failed", len(batch), exc_info=True)
            for op in batch:
                if op.done is not None and not op.done.done():
                    op.done.set_result(None)


async def _deliver(batch: list[_Op]) -> None:
    layer = get_channel_layer()
    buffer = frame_buffer()
    if isinstance(buffer, RedisFrameBuffer) and isinstance(layer, RedisPubSubChannelLayer):
        await _deliver_redis(batch, layer, buffer)
        return
    for op in batch:  # in-memory layer and buffer (embedded mode), or another layer
        if op.buffered is not None:
            await buffer.append(op.message_id, *op.buffered)
        if op.frame is not None:
            await layer.group_send(op.group, _envelope(op.frame))
        if op.drop:
            await buffer.drop(op.message_id)


async def _deliver_redis(batch: list[_Op], layer, buffer: RedisFrameBuffer) -> None:
    """Everything pending in one pipeline, in order: a frame is kept before it is announced,
    so a snapshot taken after a viewer saw frame N contains frame N."""
    async with buffer.client().pipeline(transaction=False) as pipe:
        for op in batch:
            key = buffer.key(op.message_id)
            if op.buffered is not None:
                pipe.rpush(key, buffer.encode(*op.buffered))
                pipe.expire(key, FRAME_TTL_SECONDS)
            if op.frame is not None:
                # channels-redis's pub/sub layer: a group is a Redis channel of this name,
                # carrying messages in the layer's own serialization.
                channel = layer._get_group_channel_name(op.group)
                pipe.publish(channel, layer.serialize(_envelope(op.frame)))
            if op.drop:
                pipe.delete(key)
        await pipe.execute()


_publishers: LoopLocal[_StreamPublisher] = LoopLocal(_StreamPublisher)


def stream_frame(
    session_id, message_id: int, frame: dict[str, Any], buffered: tuple[int, str, str]
) -> None:
    """Queue a numbered delta of a streaming answer; it is kept for snapshots, then sent."""
    _publishers.get().submit(_Op(group_for_session(session_id), message_id, frame, buffered))


async def end_stream(session_id, message_id: int, final: dict[str, Any]) -> None:
    """Send the final frame after every queued delta, forget the kept frames, and wait."""
    done = asyncio.get_running_loop().create_future()
    _publishers.get().submit(
        _Op(group_for_session(session_id), message_id, final, drop=True, done=done)
    )
    await done
