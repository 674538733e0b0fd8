"""Documents of a workspace's library, their extracted text, and the chats they are attached to
(issue 4). An uploaded file is kept under a generated name and never served; its name is only
shown, escaped."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models


def _documents_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.PLAYGROUND["DOCUMENTS_DIR"], base_url=None)


def _stored_name(document: Document, filename: str) -> str:
    """A generated name: nothing of the uploaded file's name ever becomes part of a path."""
    return f"{document.workspace_id}/{uuid.uuid4().hex}"


LIBRARY_CHOICES = 100


class DocumentQuerySet(models.QuerySet):
    def for_user(self, user) -> DocumentQuerySet:
        return self.filter(workspace__memberships__user=user)

    def attachable_to(self, chat) -> list[Document]:
        """What "Add from library" offers: the workspace's read documents not in the chat
        yet (at most ``LIBRARY_CHOICES``)."""
        documents = self.filter(workspace_id=chat.workspace_id, status=Document.Status.READY)
        documents = documents.exclude(attachments__chat=chat).only("id", "name", "tokens")
        return list(documents[:LIBRARY_CHOICES])


class Document(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        EXTRACTING = "extracting", "Extracting"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="documents"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    name = models.CharField(max_length=255)  # as uploaded: shown, never used as a path
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    file = models.FileField(storage=_documents_storage, upload_to=_stored_name, max_length=200)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)  # 0 to 1 while extracting
    error_kind = models.CharField(max_length=30, blank=True)
    error_message = models.CharField(max_length=600, blank=True)

    kind = models.CharField(max_length=20, blank=True)  # pdf, docx, archive, code, …
    language = models.CharField(max_length=40, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)  # pages, slides or sheets
    files = models.PositiveIntegerField(null=True, blank=True)  # text files of an archive
    chars = models.PositiveBigIntegerField(default=0)
    tokens = models.PositiveIntegerField(default=0)
    tokens_exact = models.BooleanField(default=False)  # counted by a configured tokenizer
    skipped = models.JSONField(default=list, blank=True)  # [{"path": …, "reason": …}]

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "sha256"], name="one_document_per_content_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def dom_id(self) -> str:
        return f"document-{self.pk}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.EXTRACTING)

    @property
    def extent(self) -> str:
        """Pages, slides, sheets or files, in words: "412 pages", "1,980 files"."""
        if self.files is not None:
            return f"{self.files:,} file{'s' if self.files != 1 else ''}"
        if self.pages is None:
            return ""
        unit = {"pptx": "slide", "xlsx": "sheet"}.get(self.kind, "page")
        return f"{self.pages:,} {unit}{'s' if self.pages != 1 else ''}"

    @property
    def badge(self) -> str:
        """A short format label for the chip: PDF, DOCX, ZIP, PY…"""
        if self.kind == "archive":
            return "ZIP" if self.name.lower().endswith(".zip") else "TAR"
        named = {"markdown": "MD", "html": "HTML", "json": "JSON", "csv": "CSV"}
        if self.kind in named:
            return named[self.kind]
        if self.kind in ("code", "text", ""):
            suffix = self.name.rsplit(".", 1)[-1] if "." in self.name else "TXT"
            return suffix[:4].upper()
        return self.kind.upper()[:4]

    @property
    def percent(self) -> int:
        return round(self.progress * 100)


class DocumentText(models.Model):
    """The extracted text, apart from the document so that lists never load megabytes."""

    document = models.OneToOneField(
        Document, on_delete=models.CASCADE, primary_key=True, related_name="extracted"
    )
    text = models.TextField()

    def __str__(self) -> str:
        return f"text of document {self.document_id}"


class Attachment(models.Model):
    """A document in a chat's context. Documents go into its requests in the order they were
    attached (a stable prefix, so provider prompt caching can work across turns)."""

    chat = models.ForeignKey("chats.Chat", on_delete=models.CASCADE, related_name="attachments")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="attachments")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["chat", "document"], name="attach_once_per_chat")
        ]

    def __str__(self) -> str:
        return f"{self.document} in {self.chat_id}"
