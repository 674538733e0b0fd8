"""The one module that publishes to the channel layer (design §7).

Frames go to a stream's group (a chat's, named by its id); consumers forward them as they
are. Every frame is built by ``frames``. The database is the source of truth: a lost frame
is repaired by the browser's resync, never by retrying here.

Generations hand their streamed frames to a publisher without waiting; it sends everything
pending together. With Redis (production) that is one thread per process, and one pipeline
carries each frame's append to the frame buffer and its PUBLISH, so a worker holding 200
streams makes about one round trip per batch instead of two per frame (bench/RESULTS.md).
It publishes to REDIS_URL: the channel layer's hosts must all be that server (settings).
In the embedded mode it is a task on the generation's loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, InvalidStateError
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from .buffer import FRAME_TTL_SECONDS, RedisFrameBuffer, frame_buffer
from .looplocal import LoopLocal

logger = logging.getLogger(__name__)


def group_for(stream_id) -> str:
    """The channel-layer group of a stream (a chat's id): what its viewers join."""
    hex_id = stream_id.hex if hasattr(stream_id, "hex") else str(stream_id).replace("-", "")
    return f"stream.{hex_id}"


def _envelope(frame: dict[str, Any]) -> dict[str, Any]:
    return {"type": "frame", "frame": frame}


async def publish(stream_id, frame: dict[str, Any]) -> None:
    """One frame now (not part of a stream's ordered sequence)."""
    try:
        await get_channel_layer().group_send(group_for(stream_id), _envelope(frame))
    except Exception:  # the fast path is best-effort; viewers resync from the database
        logger.warning("publishing a frame failed", exc_info=True)


def publish_sync(stream_id, frame: dict[str, Any]) -> None:
    """From synchronous code; call it from ``transaction.on_commit`` so viewers never hear of
    rows that were rolled back."""
    async_to_sync(publish)(stream_id, frame)


def user_group(user_id) -> str:
    """The channel-layer group of one person's sockets: told when a session of theirs ends."""
    return f"user.{user_id}"


async def _end_sessions(user_id, session: str | None) -> None:
    try:
        await get_channel_layer().group_send(
            user_group(user_id), {"type": "session.end", "session": session}
        )
    except Exception:
        logger.warning("telling sockets that a session ended failed", exc_info=True)


def end_sessions(user_id, session: str | None = None) -> None:
    """Close a person's sockets of one session (named by ``sockets.session_digest``), or all
    of them; from synchronous code, after commit. A socket that misses it (the layer is
    best-effort) still cannot open again: its session no longer authenticates."""
    async_to_sync(_end_sessions)(user_id, session)


@dataclass(slots=True)
class _Op:
    group: str
    message_id: int
    frame: dict[str, Any] | None = None
    buffered: tuple[int, str, str] | None = None  # (seq, reasoning, content) to keep
    drop: bool = False  # the stream ended: forget its frames
    done: Future | None = None  # resolved once the op was sent (or failed)


def _resolve(batch: list[_Op]) -> None:
    for op in batch:
        if op.done is not None:
            # The waiter may cancel it from its loop at any moment (wrap_future).
            with suppress(InvalidStateError):
                op.done.set_result(None)


class _LoopPublisher:
    """The embedded mode (in-memory layer) or another layer: sends on the generation's loop."""

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
            _resolve(batch)


async def _deliver(batch: list[_Op]) -> None:
    layer = get_channel_layer()
    buffer = frame_buffer()
    for op in batch:
        if op.buffered is not None:
            await buffer.append(op.message_id, *op.buffered)
        if op.frame is not None:
            await layer.group_send(op.group, _envelope(op.frame))
        if op.drop:
            await buffer.drop(op.message_id)


class _RedisPublisher:
    """Production: one thread per process sends every pending frame in one Redis pipeline.

    On the generation loop the pipeline's replies were read between the reads of hundreds of
    provider streams, so each pipeline took 100 to 300 ms at 200 streams and frames queued
    behind it (bench/RESULTS.md). A thread with a blocking client reads them at once.
    """

    def __init__(self, url: str, layer: RedisPubSubChannelLayer) -> None:
        self._layer = layer
        # channels-redis names a group's Redis channel "<prefix>__group__<group>"; its helper
        # needs an event loop, this thread has none.
        self._group_prefix = layer._get_group_channel_name("")
        self._client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self._pending: deque[_Op] = deque()
        self._wake = threading.Event()
        self._expired_at: dict[str, float] = {}  # frame key -> when its TTL was last set
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="frame-publisher", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """False in a forked child (threads do not survive a fork) or if the thread died."""
        return self._pid == os.getpid() and self._thread.is_alive()

    def submit(self, op: _Op) -> None:
        self._pending.append(op)  # deque appends and pops are atomic
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            batch: list[_Op] = []
            while self._pending:
                batch.append(self._pending.popleft())
            if not batch:
                continue
            try:
                self._send(batch)
            except Exception:
                logger.warning("publishing %d frames failed", len(batch), exc_info=True)
            finally:
                _resolve(batch)

    def _send(self, batch: list[_Op]) -> None:
        """In order: a frame is kept before it is announced, so a snapshot taken after a
        viewer saw frame N contains frame N."""
        now = time.monotonic()
        expiring: set[str] = set()
        dropped: list[str] = []
        with self._client.pipeline(transaction=False) as pipe:
            for op in batch:
                key = RedisFrameBuffer.key(op.message_id)
                if op.buffered is not None:
                    pipe.rpush(key, RedisFrameBuffer.encode(*op.buffered))
                    last = self._expired_at.get(key)
                    if key not in expiring and (last is None or now - last > EXPIRE_EVERY_SECONDS):
                        expiring.add(key)
                        pipe.expire(key, FRAME_TTL_SECONDS)
                if op.frame is not None:
                    channel = self._group_prefix + op.group
                    pipe.publish(channel, self._layer.serialize(_envelope(op.frame)))
                if op.drop:
                    pipe.delete(key)
                    dropped.append(key)
            pipe.execute()
        # Only once Redis has them: a failed pipeline's keys get their EXPIRE in the next one.
        self._expired_at.update(dict.fromkeys(expiring, now))
        for key in dropped:
            self._expired_at.pop(key, None)


# A frame key's TTL is set with its first frame and refreshed this often, not on every frame
# (an EXPIRE a frame was a third of the pipeline's commands).
EXPIRE_EVERY_SECONDS = 60.0

_loop_publishers: LoopLocal[_LoopPublisher] = LoopLocal(_LoopPublisher)
_redis_publisher: _RedisPublisher | None = None
_redis_publisher_lock = threading.Lock()


def _publisher() -> _LoopPublisher | _RedisPublisher:
    global _redis_publisher
    publisher = _redis_publisher  # the fast path: called for every frame
    if publisher is not None and publisher.alive:
        return publisher
    layer = get_channel_layer()
    buffer = frame_buffer()
    if not (isinstance(buffer, RedisFrameBuffer) and isinstance(layer, RedisPubSubChannelLayer)):
        return _loop_publishers.get()
    with _redis_publisher_lock:
        if _redis_publisher is None or not _redis_publisher.alive:
            _redis_publisher = _RedisPublisher(buffer.url, layer)
        return _redis_publisher


def stream_frame(
    stream_id, message_id: int, frame: dict[str, Any], buffered: tuple[int, str, str]
) -> None:
    """Queue a numbered delta of a streaming answer; it is kept for snapshots, then sent."""
    _publisher().submit(_Op(group_for(stream_id), message_id, frame, buffered))


async def end_stream(stream_id, message_id: int, final: dict[str, Any] | None) -> None:
    """Send the final frame (none when the answer was deleted) after every queued delta,
    forget the kept frames, and wait."""
    done: Future = Future()
    _publisher().submit(_Op(group_for(stream_id), message_id, final, drop=True, done=done))
    await asyncio.wrap_future(done)
