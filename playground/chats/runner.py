"""Where generations run: in process (embedded mode) or in Celery workers (production).

In process they run on the ASGI server's own event loop, so the in-memory channel layer and
the viewers share one loop. Without a server loop (management commands, tests, a Celery
worker) they run on one background event loop thread per process.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from concurrent.futures import Future

from django.conf import settings

logger = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None
_background_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()
_pending: set[Future] = set()
_startup_tasks: set[asyncio.Task] = set()  # a reference keeps a task from being collected


def adopt_server_loop() -> None:
    """Called by the ASGI app on its first request in the embedded mode."""
    global _server_loop
    if _server_loop is None:
        _server_loop = asyncio.get_running_loop()
        # Generations of an earlier server process died with it: say so on their messages.
        # Queued on the thread that runs sync views, so it runs before this request's view.
        from asgiref.sync import sync_to_async

        from playground.documents.processing import requeue_after_restart

        from .actions import fail_all_in_process_streams

        def recover() -> None:
            fail_all_in_process_streams()
            requeue_after_restart()  # documents it was reading are read again

        _startup_tasks.add(_server_loop.create_task(sync_to_async(recover)()))


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
            thread = threading.Thread(target=loop.run_forever, name="generation-loop", daemon=True)
            thread.start()
            _background_loop = loop
        return _background_loop


def _submit(message_id: int, loop: asyncio.AbstractEventLoop) -> Future:
    """Start the generation as a task of ``loop`` in a fresh context.

    The caller is usually a request's sync thread: its context carries asgiref's per-request
    executor, which dies with the request, so a copied context would hang every database call
    the generation makes after the response is sent.
    """
    from .generation import run_generation

    future: Future = Future()

    def settle(task: asyncio.Task) -> None:
        if task.cancelled():
            future.cancel()
        elif task.exception() is not None:
            future.set_exception(task.exception())
        else:
            future.set_result(None)

    def start() -> None:
        task = loop.create_task(run_generation(message_id), context=contextvars.Context())
        task.add_done_callback(settle)

    _pending.add(future)
    future.add_done_callback(_pending.discard)
    loop.call_soon_threadsafe(start, context=contextvars.Context())
    return future


def dispatch(message_id: int) -> None:
    """Start the generation of an assistant message (call after its row has committed)."""
    if settings.PLAYGROUND_TASKS == "celery":
        from .tasks import generate_reply

        generate_reply.delay(message_id)
        return
    loop = (
        _server_loop
        if _server_loop is not None and _server_loop.is_running()
        else background_loop()
    )
    _submit(message_id, loop)


def run_blocking(message_id: int) -> None:
    """The body of the Celery task: run on this worker's loop and wait, so the worker's
    concurrency bounds how many generations it holds."""
    _submit(message_id, background_loop()).result()


def wait_idle(timeout: float = 30.0) -> None:
    """Wait for every in-process generation of this process to end (tests, shutdown)."""
    for future in list(_pending):
        future.result(timeout=timeout)
