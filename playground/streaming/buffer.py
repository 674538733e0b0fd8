"""The frames of each streaming answer, kept until its final frame, for snapshots.

A viewer who connects (or reconnects, or sees a gap) mid-stream gets the text the generation
last saved (exact up to its frame number) and the kept frames after it, so the text it shows is
exact up to a known sequence number; the live frames after it follow through the channel
layer. Redis holds the frames when the app runs on several processes; in the embedded mode
(one process) a dict does. Writes go through ``publisher`` (in the same Redis pipeline as the
frame's publication); this module reads them and names the keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from django.conf import settings

from .looplocal import LoopLocal

FRAME_TTL_SECONDS = 6 * 3600


@dataclass(slots=True)
class Frames:
    seq: int
    reasoning: str
    content: str


def _join(rows: list[tuple[int, str, str]], after: int) -> Frames | None:
    """The frames that continue frame ``after``: from ``after + 1`` on, as far as they follow
    one another. None when frame ``after + 1`` is not kept (a Redis that restarted mid-stream
    keeps only the frames published since), so a snapshot never starts mid-text."""
    rows = sorted(row for row in rows if row[0] > after)
    run = []
    for row in rows:
        if run and row[0] == run[-1][0]:
            continue  # the same frame kept twice
        if row[0] != after + len(run) + 1:
            break
        run.append(row)
    if not run:
        return None
    return Frames(run[-1][0], "".join(r[1] for r in run), "".join(r[2] for r in run))


class MemoryFrameBuffer:
    def __init__(self) -> None:
        self._frames: dict[int, list[tuple[int, str, str]]] = {}

    async def append(self, message_id: int, seq: int, reasoning: str, content: str) -> None:
        self._frames.setdefault(message_id, []).append((seq, reasoning, content))

    async def drop(self, message_id: int) -> None:
        self._frames.pop(message_id, None)

    async def read(self, message_id: int, after: int = 0) -> Frames | None:
        return _join(self._frames.get(message_id, []), after)


class RedisFrameBuffer:
    def __init__(self, url: str) -> None:
        self.url = url
        # redis.asyncio connections belong to the event loop that made them.
        self._clients = LoopLocal(lambda: self._connect(url))

    @staticmethod
    def _connect(url: str):
        import redis.asyncio as redis

        # A blocking pool waits for a free connection instead of failing under load.
        pool = redis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=10)
        return redis.Redis(connection_pool=pool)

    def client(self):
        return self._clients.get()

    @staticmethod
    def key(message_id: int) -> str:
        return f"m1pg:frames:{message_id}"

    @staticmethod
    def encode(seq: int, reasoning: str, content: str) -> bytes:
        return orjson.dumps([seq, reasoning, content])

    async def append(self, message_id: int, seq: int, reasoning: str, content: str) -> None:
        key = self.key(message_id)
        async with self.client().pipeline(transaction=False) as pipe:
            pipe.rpush(key, self.encode(seq, reasoning, content))
            pipe.expire(key, FRAME_TTL_SECONDS)
            await pipe.execute()

    async def drop(self, message_id: int) -> None:
        await self.client().delete(self.key(message_id))

    async def read(self, message_id: int, after: int = 0) -> Frames | None:
        raw = await self.client().lrange(self.key(message_id), 0, -1)
        return _join([tuple(orjson.loads(item)) for item in raw], after)


_buffer: MemoryFrameBuffer | RedisFrameBuffer | None = None


def frame_buffer() -> MemoryFrameBuffer | RedisFrameBuffer:
    global _buffer
    if _buffer is None:
        _buffer = (
            RedisFrameBuffer(settings.REDIS_URL) if settings.REDIS_URL else (MemoryFrameBuffer())
        )
    return _buffer
