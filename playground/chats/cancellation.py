"""Cooperative stop: the database flag is the truth, checked between chunks (design §3, §6).

Each process that runs generations keeps one poller per event loop that reads the flags of its
active generations every ``CANCEL_POLL_SECONDS`` with a single query, and wakes the ones that
were stopped. When the stop request lands in the process that runs the generation (the embedded
mode), it wakes it at once without waiting for the poll.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

_events: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
_pollers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def register(message_id: int) -> asyncio.Event:
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    _events[message_id] = (loop, event)
    poller = _pollers.get(loop)
    if poller is None or poller.done():
        _pollers[loop] = loop.create_task(_poll(loop))
    return event


def unregister(message_id: int) -> None:
    _events.pop(message_id, None)


def wake_local(message_id: int) -> None:
    """Called from any thread after the flag is saved."""
    entry = _events.get(message_id)
    if entry is not None:
        loop, event = entry
        loop.call_soon_threadsafe(event.set)


async def _poll(loop: asyncio.AbstractEventLoop) -> None:
    from .models import Message

    interval = settings.PLAYGROUND["CANCEL_POLL_SECONDS"]
    while True:
        active = [mid for mid, (owner, _) in list(_events.items()) if owner is loop]
        if not active:
            _pollers.pop(loop, None)
            return
        try:
            stopped = [
                pk
                async for pk in Message.objects.filter(
                    pk__in=active, cancel_requested=True
                ).values_list("pk", flat=True)
            ]
        except Exception:
            logger.warning("polling stop flags failed", exc_info=True)
            stopped = []
        for pk in stopped:
            entry = _events.get(pk)
            if entry:
                entry[1].set()
        await asyncio.sleep(interval)
