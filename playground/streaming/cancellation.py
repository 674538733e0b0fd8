"""Cooperative stop: a flag kept by the domain (a database column) is the truth, checked
between chunks (design §3, §6).

Each process keeps one poller per event loop that asks, with one call, which of that loop's
running jobs were flagged, every ``CANCEL_POLL_SECONDS``, and wakes those. When the stop
request lands in the process that runs the job (the embedded mode), ``wake_local`` wakes it at
once without waiting for the poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from django.conf import settings

logger = logging.getLogger(__name__)

# Given the ids of running jobs, the ids of those whose stop was requested.
StoppedAmong = Callable[[list[int]], Awaitable[list[int]]]


class CancelRegistry:
    """The running jobs of one kind (a domain's), keyed by an integer id."""

    def __init__(self, stopped_among: StoppedAmong) -> None:
        self._stopped_among = stopped_among
        self._events: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
        self._pollers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    def register(self, key: int) -> asyncio.Event:
        """The event that is set when job ``key`` is asked to stop (call on its loop)."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._events[key] = (loop, event)
        poller = self._pollers.get(loop)
        if poller is None or poller.done():
            self._pollers[loop] = loop.create_task(self._poll(loop))
        return event

    def unregister(self, key: int) -> None:
        self._events.pop(key, None)

    def wake_local(self, key: int) -> None:
        """Called from any thread after the flag is saved."""
        entry = self._events.get(key)
        if entry is not None:
            loop, event = entry
            loop.call_soon_threadsafe(event.set)

    async def _poll(self, loop: asyncio.AbstractEventLoop) -> None:
        interval = settings.PLAYGROUND["CANCEL_POLL_SECONDS"]
        while True:
            active = [key for key, (owner, _) in list(self._events.items()) if owner is loop]
            if not active:
                self._pollers.pop(loop, None)
                return
            try:
                stopped = await self._stopped_among(active)
            except Exception:
                logger.warning("polling stop flags failed", exc_info=True)
                stopped = []
            for key in stopped:
                entry = self._events.get(key)
                if entry:
                    entry[1].set()
            await asyncio.sleep(interval)
