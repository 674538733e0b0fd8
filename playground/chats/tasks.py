from __future__ import annotations

from celery import shared_task

from . import runner


@shared_task(name="chats.generate_reply", acks_late=False, ignore_result=True)
def generate_reply(message_id: int) -> None:
    runner.run_blocking(message_id)
