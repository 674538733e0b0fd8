"""Celery's face of the dispatch switch and the sweeper (production)."""

from __future__ import annotations

from celery import shared_task

from . import dispatch, sweeper


@shared_task(name="streaming.run_job", acks_late=False, ignore_result=True)
def run_job(name: str, args: list) -> None:
    """A registered job, run to its end in this worker (its concurrency bounds how many)."""
    dispatch.run(name, *args)


@shared_task(name="streaming.sweep", ignore_result=True)
def sweep() -> None:
    sweeper.sweep()
