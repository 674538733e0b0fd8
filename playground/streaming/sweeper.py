"""One periodic sweep for work whose worker died: answers left streaming, documents left
being read. Domain apps register what to sweep; it runs whether or not anyone looks.

In production Celery beat runs ``tasks.sweep`` every ``SWEEP_SECONDS``; in the embedded mode a
task on the server's event loop does (``runner.adopt_server_loop``). At the embedded server's
start, ``after_restart`` functions run once: nothing of an earlier process can still be
running there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_sweeps: list[Callable[[], object]] = []
_after_restart: list[Callable[[], object]] = []


def sweep_job[F: Callable[[], object]](func: F) -> F:
    """Register ``func`` to run on every sweep."""
    if func not in _sweeps:
        _sweeps.append(func)
    return func


def after_restart[F: Callable[[], object]](func: F) -> F:
    """Register ``func`` to run once when the embedded server starts."""
    if func not in _after_restart:
        _after_restart.append(func)
    return func


def _run_each(functions: list[Callable[[], object]]) -> None:
    for func in functions:
        try:
            func()
        except Exception:  # one failing sweep must not stop the others
            logger.exception("sweep %s failed", func.__qualname__)


def sweep() -> None:
    """Run every registered sweep once."""
    _run_each(_sweeps)


def _in_thread(functions: list[Callable[[], object]]) -> None:
    close_old_connections()
    try:
        _run_each(functions)
    finally:
        close_old_connections()


async def run_periodically() -> None:
    """The embedded server's sweeper: recover once, then sweep every ``SWEEP_SECONDS``.

    On the thread that runs sync views (thread-sensitive), so the recovery runs before the view
    of the request that started the server's loop.
    """
    interval = settings.PLAYGROUND["SWEEP_SECONDS"]
    await sync_to_async(_in_thread)(_after_restart)
    while True:
        await asyncio.sleep(interval)
        await sync_to_async(_in_thread)(_sweeps)
