from __future__ import annotations

from celery import shared_task

from . import processing


@shared_task(name="documents.extract_document", acks_late=False, ignore_result=True)
def extract_document(document_id: int) -> None:
    """Production: read an uploaded document in a worker (a child process bounds the work)."""
    processing.process(document_id)
