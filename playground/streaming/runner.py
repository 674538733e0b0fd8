"""Where in-process jobs run (the embedded mode, and the body of a Celery task).

Coroutine jobs run on the ASGI server's own event loop, so the in-memory channel layer and the
viewers share one loop. Without a server loop (management commands, tests, a Celery worker)
they run on one background event loop thread per process. Blocking jobs run on a small thread
pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings

from . import sweeper

logger = logging.getLogger(__name__)

CoroutineJob = Callable[..., Coroutine[Any, Any, Any]]

_server_loop: asyncio.AbstractEventLoop | None = None
_background_loop: asyncio.AbstractEventLoop | None = None
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_pending: set[Future] = set()
_server_tasks: set[asyncio.Task] = set()  # a reference keeps a task from being collected


def adopt_server_loop() -> None:
    """Called by the ASGI app on each request in the embedded mode; the first adopts the
    server's loop and starts the sweeper on it."""
    global _server_loop
    if _server_loop is None:
        _server_loop = asyncio.get_running_loop()
        _server_tasks.add(_server_loop.create_task(sweeper.run_periodically()))


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (it comes with uvicorn[standard]): a worker's loop reads
    hundreds of provider streams, and uvloop's transports cost a fraction of asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def background_loop() -> asyncio.AbstractEventLoop:
    global _background_loop
    with _lock:
        if _background_loop is None or _background_loop.is_closed():
            loop = _new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="job-loop", daemon=True)
            thread.start()
            _background_loop = loop
        return _background_loop


def _track(future: Future) -> Future:
    _pending.add(future)
    future.add_done_callback(_pending.discard)
    return future


def _on_loop(job: CoroutineJob, args: tuple, loop: asyncio.AbstractEventLoop) -> Future:
    """Start ``job(*args)`` as a task of ``loop`` in a fresh context.

    The caller is usually a request's sync thread: its context carries asgiref's per-request
    executor, which dies with the request, so a copied context would hang every database call
    the job makes after the response is sent.
    """
    future: Future = Future()

    def settle(task: asyncio.Task) -> None:
        if task.cancelled():
            future.cancel()
        elif task.exception() is not None:
            future.set_exception(task.exception())
        else:
            future.set_result(None)

    def start() -> None:
        task = loop.create_task(job(*args), context=contextvars.Context())
        task.add_done_callback(settle)

    _track(future)
    loop.call_soon_threadsafe(start, context=contextvars.Context())
    return future


def start_coroutine(job: CoroutineJob, *args) -> Future:
    """Run a coroutine job on the server's loop (embedded server) or the background loop."""
    loop = _server_loop if _server_loop is not None and _server_loop.is_running() else None
    return _on_loop(job, args, loop or background_loop())


def run_coroutine(job: CoroutineJob, *args) -> None:
    """Run a coroutine job on this process's background loop and wait for it (a Celery task's
    body: the worker's concurrency then bounds how many it holds)."""
    _on_loop(job, args, background_loop()).result()


def start_blocking(job: Callable[..., object], *args) -> Future:
    """Run a blocking job on the in-process thread pool."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.PLAYGROUND["BLOCKING_JOBS_AT_ONCE"], thread_name_prefix="job"
            )
    return _track(_executor.submit(job, *args))


def wait_idle(timeout: float = 120.0) -> None:
    """Wait for every in-process job of this process to end (tests, shutdown)."""
    while _pending:
        for future in list(_pending):
            future.result(timeout=timeout)
