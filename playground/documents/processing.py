"""Reading an uploaded document: off the request path, in a child process with time and
memory limits (playground.documents.isolated), with its progress published to the chats it is
attached to.

It is the job "documents.extract" of the one dispatch switch (playground.streaming.dispatch):
on a small thread pool of the server process in the embedded mode, in a Celery worker in
production. Either way one function does the work: ``process``. The sweeper reads again what a
lost worker or a restarted server left half read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from playground.llm.tokens import count_tokens
from playground.streaming import frames, publisher, sweeper
from playground.streaming.dispatch import dispatch, job

from .extract import ExtractionError, Limits
from .isolated import extract_isolated
from .models import Attachment, Document, DocumentText

logger = logging.getLogger(__name__)

PROGRESS_STEP = 0.05  # publish at most every 5 %…
PROGRESS_SECONDS = 0.5  # …or half a second
EXTRACT = "documents.extract"


def limits() -> Limits:
    config = settings.PLAYGROUND
    return Limits(
        max_file_bytes=config["DOCUMENT_MAX_MB"] * 1024 * 1024,
        max_pages=config["DOCUMENT_MAX_PAGES"],
        max_archive_members=config["DOCUMENT_MAX_ARCHIVE_FILES"],
        max_archive_bytes=config["DOCUMENT_MAX_ARCHIVE_MB"] * 1024 * 1024,
        max_seconds=config["DOCUMENT_EXTRACT_SECONDS"],
        max_memory_bytes=config["DOCUMENT_EXTRACT_MEMORY_MB"] * 1024 * 1024,
    )


def start_reading(document_id: int) -> None:
    """Read a document off the request path (call after its row has committed)."""
    dispatch(EXTRACT, document_id)


@sweeper.sweep_job
def requeue_stalled() -> int:
    """Documents whose reading stopped without an end (a lost worker task): queue them
    again. Judged by the time since their last progress."""
    grace = timedelta(seconds=settings.PLAYGROUND["DOCUMENT_EXTRACT_SECONDS"] + 60)
    cutoff = timezone.now() - grace
    return _requeue(
        Document.objects.filter(
            status__in=[Document.Status.QUEUED, Document.Status.EXTRACTING],
            updated_at__lte=cutoff,
        )
    )


@sweeper.after_restart
def requeue_after_restart() -> int:
    """Embedded mode start-up: no reading of an earlier server process can still be running,
    so every document it left pending is read again."""
    return _requeue(
        Document.objects.filter(status__in=[Document.Status.QUEUED, Document.Status.EXTRACTING])
    )


def _requeue(documents) -> int:
    """Queue each of ``documents`` again and start reading it, each by an UPDATE that checks
    the same conditions, so a reading that progressed or ended meanwhile is left alone."""
    requeued = 0
    for document_id in list(documents.values_list("pk", flat=True)):
        if documents.filter(pk=document_id).update(
            status=Document.Status.QUEUED, progress=0.0, updated_at=timezone.now()
        ):
            transaction.on_commit(lambda pk=document_id: start_reading(pk))
            requeued += 1
    return requeued


@dataclass(frozen=True)
class _ChatRef:
    pk: object  # all the chip's template needs of its chat: the detach URL


def _publish(document: Document) -> None:
    """The document's chip, to every chat it is attached to."""
    for chat_id in Attachment.objects.filter(document=document).values_list("chat_id", flat=True):
        html = render_to_string(
            "documents/attachments.html#chip",
            {"document": document, "chat": _ChatRef(chat_id)},
        )
        frame = frames.document(document.pk, document.status, document.percent, html)
        publisher.publish_sync(chat_id, frame)


class _Progress:
    """Saves and publishes extraction progress, not more often than is useful."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.shown = 0.0
        self.at = time.monotonic()

    def __call__(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        now = time.monotonic()
        if fraction - self.shown < PROGRESS_STEP and now - self.at < PROGRESS_SECONDS:
            return
        self.shown, self.at = fraction, now
        self.document.progress = fraction
        Document.objects.filter(pk=self.document.pk).update(
            progress=fraction, updated_at=timezone.now()
        )
        _publish(self.document)


@job(EXTRACT)
def process(document_id: int) -> None:
    """Extract, count and save one document; a bad file fails alone, with a reason."""
    close_old_connections()
    try:
        claimed = Document.objects.filter(pk=document_id, status=Document.Status.QUEUED).update(
            status=Document.Status.EXTRACTING, progress=0.0, updated_at=timezone.now()
        )
        if not claimed:  # already taken (a redelivered task) or deleted
            return
        document = Document.objects.get(pk=document_id)
        _publish(document)
        try:
            extracted = extract_isolated(
                Path(document.file.path), document.name, limits(), progress=_Progress(document)
            )
        except ExtractionError as error:
            _finish_failed(document, error.kind, str(error))
        except Exception:
            logger.exception("extracting document %s failed", document_id)
            _finish_failed(document, "internal", "The file could not be read (internal error).")
        else:
            _finish_ready(document, extracted)
        _publish(document)
    except Document.DoesNotExist:
        return
    finally:
        close_old_connections()


def _finish_failed(document: Document, kind: str, message: str) -> None:
    document.status, document.error_kind = Document.Status.FAILED, kind
    document.error_message = message[:600]
    document.save(update_fields=["status", "error_kind", "error_message", "updated_at"])


def _finish_ready(document: Document, extracted) -> None:
    tokens, exact = count_tokens(extracted.text, settings.PLAYGROUND["TOKENIZER_JSON"])
    with transaction.atomic():
        DocumentText.objects.update_or_create(document=document, defaults={"text": extracted.text})
        document.status, document.progress = Document.Status.READY, 1.0
        document.error_kind = document.error_message = ""
        document.kind, document.language = extracted.kind, extracted.language or ""
        document.pages, document.files = extracted.pages, extracted.files
        document.chars, document.tokens, document.tokens_exact = len(extracted.text), tokens, exact
        document.skipped = [{"path": s.path, "reason": s.reason} for s in extracted.skipped]
        document.save()
