"""The one switch between Celery workers (production) and this process (embedded mode), for
every job: generating an answer, reading a document.

Domain apps register their jobs by name (``@job("chats.generate")``) when their modules load
(their AppConfig.ready imports them); ``dispatch`` starts one after the rows it needs have
committed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from celery import current_app
from django.conf import settings

from . import runner

_jobs: dict[str, Callable] = {}


def job[F: Callable](name: str) -> Callable[[F], F]:
    """Register a function (a coroutine function, or a blocking one) as the job ``name``."""

    def register(func: F) -> F:
        _jobs[name] = func
        return func

    return register


def _registered(name: str) -> Callable:
    try:
        return _jobs[name]
    except KeyError:
        raise LookupError(f"No job named {name!r} is registered.") from None


def dispatch(name: str, *args: int | str) -> None:
    """Start job ``name`` with ``args`` (call after its rows have committed)."""
    func = _registered(name)
    if settings.PLAYGROUND_TASKS == "celery":
        # By name (streaming.tasks.run_job), so that this module and the tasks do not import
        # each other.
        current_app.send_task("streaming.run_job", args=[name, list(args)])
    elif inspect.iscoroutinefunction(func):
        runner.start_coroutine(func, *args)
    else:
        runner.start_blocking(func, *args)


def run(name: str, *args: int | str) -> None:
    """Run job ``name`` here and wait for it to end (a Celery task's body)."""
    func = _registered(name)
    if inspect.iscoroutinefunction(func):
        runner.run_coroutine(func, *args)
    else:
        func(*args)
