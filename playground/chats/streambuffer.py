"""The frames of each streaming answer, kept until its final frame, for snapshots.

A viewer who connects (or reconnects, or sees a gap) mid-stream gets every frame so far, so the
text it shows is exact up to a known sequence number; the live frames after it follow through
the channel layer. Redis holds the frames when the app runs on several processes; in the
embedded mode (one process) a dict does. Writes go through ``events`` (in the same Redis
pipeline as the frame's publication); this module reads them and names the keys.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import orjson
from django.conf import settings

FRAME_TTL_SECONDS = 6 * 3600


@dataclass(slots=True)
class Frames:
    seq: int
    reasoning: str
    content: str


def _join(rows: list[tuple[int, str, str]]) -> Frames | None:
    if not rows:
        return None
    rows.sort(key=lambda row: row[0])
    return Frames(rows[-1][0], "".join(r[1] for r in rows), "".join(r[2] for r in rows))


class MemoryFrameBuffer:
    def __init__(self) -> None:
        self._frames: dict[int, list[tuple[int, str, str]]] = {}

    def append(self, message_id: int, seq: int, reasoning: str, content: str) -> None:
        self._frames.setdefault(message_id, []).append((seq, reasoning, content))

    def drop(self, message_id: int) -> None:
        self._frames.pop(message_id, None)

    async def read(self, message_id: int) -> Frames | None:
        return _join(list(self._frames.get(message_id, ())))


class RedisFrameBuffer:
    def __init__(self, url: str) -> None:
        self._url = url
        # redis.asyncio connections belong to the event loop that made them.
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def client(self):
        import redis.asyncio as redis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # A blocking pool waits for a free connection instead of failing under load.
            pool = redis.BlockingConnectionPool.from_url(self._url, max_connections=32, timeout=10)
            client = self._clients[loop] = redis.Redis(connection_pool=pool)
        return client

    @staticmethod
    def key(message_id: int) -> str:
        return f"m1pg:frames:{message_id}"

    @staticmethod
    def encode(seq: int, reasoning: str, content: str) -> bytes:
        return orjson.dumps([seq, reasoning, content])

    async def read(self, message_id: int) -> Frames | None:
        raw = await self.client().lrange(self.key(message_id), 0, -1)
        return _join([tuple(orjson.loads(item)) for item in raw])


_buffer: MemoryFrameBuffer | RedisFrameBuffer | None = None


def frame_buffer() -> MemoryFrameBuffer | RedisFrameBuffer:
    global _buffer
    if _buffer is None:
        _buffer = (
            RedisFrameBuffer(settings.REDIS_URL) if settings.REDIS_URL else (MemoryFrameBuffer())
        )
    return _buffer
