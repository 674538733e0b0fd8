"""Per-person request rates (issue 11): how many answers one person may start, and files they
may upload, a minute. Counted in Django's cache (Redis in production, so every web process
shares the count; the process's memory in the embedded mode, which has one process).

A fixed window of a minute: a burst at the turn of a minute can reach twice the rate for a
moment, which is enough to stop a flood and cheap (one increment a request).
"""

from __future__ import annotations

import math
import time
from contextlib import suppress
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


class Kind(StrEnum):
    SEND = "send"
    UPLOAD = "upload"


# The setting of each rate (a minute; 0: no limit) and how a refusal names what was counted.
_RATES = {
    Kind.SEND: ("SENDS_PER_MINUTE", "messages"),
    Kind.UPLOAD: ("UPLOADS_PER_MINUTE", "uploads"),
}


class Limited(Exception):
    """Over the rate: ``retry_after`` seconds until the next request is accepted."""

    def __init__(self, kind: Kind, retry_after: int) -> None:
        super().__init__(f"Too many {_RATES[kind][1]}: wait {retry_after} s.")
        self.retry_after = retry_after


def take(user, kind: Kind) -> None:
    """Count one request of ``kind`` by ``user``; Limited when it is over the rate."""
    rate = settings.PLAYGROUND[_RATES[kind][0]]
    if not rate:
        return
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = _key(user, kind, window)
    cache.add(key, 0, timeout=WINDOW_SECONDS + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: the window just turned
        cache.set(key, 1, timeout=WINDOW_SECONDS + 1)
        count = 1
    if count > rate:
        raise Limited(kind, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now)))


def give_back(user, kind: Kind) -> None:
    """Uncount a request that was refused after it was counted (a budget, a busy chat): only
    what is admitted uses up the rate. Nothing to do once the window has turned."""
    if not settings.PLAYGROUND[_RATES[kind][0]]:
        return
    key = _key(user, kind, int(time.time() // WINDOW_SECONDS))
    with suppress(ValueError):  # the window turned: its count is gone anyway
        cache.decr(key)


def _key(user, kind: Kind, window: int) -> str:
    # The account's creation time is in the key too: SQLite reuses the id of a deleted
    # account, and the new one starts with a count of its own.
    joined = int(user.date_joined.timestamp() * 1_000_000)
    return f"rate:{kind}:{user.pk}:{joined}:{window}"
