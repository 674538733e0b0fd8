"""Uploads, attachments and deletion of documents (issue 4)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from . import processing
from .models import Attachment, Document

NAME_LENGTH = 255


class UploadRefused(Exception):
    """An upload the user can fix; the message says how."""


# Browsers write a file name's `"`, CR and LF as %22, %0D and %0A in a multipart upload and
# escape nothing else (HTML spec, "multipart/form-data encoding algorithm"). Only those three
# are decoded, so a "%41" the person typed stays as it is.
_BROWSER_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}
_BROWSER_ESCAPE = re.compile("|".join(_BROWSER_ESCAPES))


def clean_name(raw: str | None) -> str:
    """The name to show: the last path component, printable, at most 255 characters. It is
    never used as a path (files are stored under generated names)."""
    name = _BROWSER_ESCAPE.sub(lambda match: _BROWSER_ESCAPES[match[0]], raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable()).strip()
    return name[:NAME_LENGTH] or "untitled"


def _sha256(uploaded: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def max_bytes() -> int:
    return settings.PLAYGROUND["DOCUMENT_MAX_MB"] * 1024 * 1024


def store_upload(workspace, user, uploaded: UploadedFile) -> tuple[Document, bool]:
    """The uploaded file as a document of the workspace's library, read in the background;
    the same content uploaded again is the same document. (document, created)"""
    name = clean_name(uploaded.name)
    if uploaded.size > max_bytes():
        raise UploadRefused(
            f"“{name}” is {uploaded.size / 1024 / 1024:,.1f} MB; "
            f"the limit is {settings.PLAYGROUND['DOCUMENT_MAX_MB']} MB a file."
        )
    if uploaded.size == 0:
        raise UploadRefused(f"“{name}” is empty.")
    sha256 = _sha256(uploaded)
    existing = Document.objects.filter(workspace=workspace, sha256=sha256).first()
    if existing is not None:
        return _again(existing), False
    document = Document(
        workspace=workspace, uploaded_by=user, name=name, sha256=sha256, size=uploaded.size
    )
    document.file.save("upload", uploaded, save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:  # the same content, uploaded at the same moment
        document.file.delete(save=False)
        return _again(Document.objects.get(workspace=workspace, sha256=sha256)), False
    transaction.on_commit(lambda: processing.start_reading(document.pk))
    return document, True


def _again(document: Document) -> Document:
    """A document uploaded again: one that failed is read again (limits may have changed)."""
    if document.status == Document.Status.FAILED:
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.QUEUED, progress=0.0, error_kind="", error_message=""
        )
        document.refresh_from_db()
        transaction.on_commit(lambda: processing.start_reading(document.pk))
    return document


def read_again(document: Document) -> Document:
    """A failed document read once more, at the user's asking: the failure may have been
    passing (a worker lost, a machine short of memory), or the limits may have changed. One that
    did not fail is left as it is."""
    return _again(document)


def attach(chat, document: Document, user) -> Attachment:
    if document.workspace_id != chat.workspace_id:
        raise UploadRefused("A document can only be attached to chats of its own workspace.")
    attachment, _ = Attachment.objects.get_or_create(
        chat=chat, document=document, defaults={"added_by": user}
    )
    return attachment


def detach(chat, document: Document) -> None:
    Attachment.objects.filter(chat=chat, document=document).delete()


def delete_document(document: Document) -> None:
    """The document, its text and its file; chats it was attached to lose it."""
    stored = document.file
    document.delete()
    transaction.on_commit(lambda: stored.delete(save=False))
