"""The library of documents, uploads into a chat, attaching and detaching, and the context meter
of a chat's next request (issue 4)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.accounts import limits
from playground.chats import access as chat_access
from playground.chats import actions as chat_actions
from playground.chats import prompt
from playground.chats.models import Chat
from playground.workspaces.policy import Action, require

from . import access, actions
from .models import Document

TEXT_PREVIEW_CHARS = 200_000


def _chip(request: HttpRequest, document: Document, chat: Chat | None) -> HttpResponse:
    return render(request, "documents/attachments.html#chip", {"document": document, "chat": chat})


def _changed(
    request: HttpRequest, chat: Chat, document: Document | None, *, keep_open: bool = False
) -> HttpResponse:
    """The document's chip (none once detached), with the library's choices out of band: the
    picker offers only documents the chat does not have."""
    return render(
        request,
        "documents/attachments.html#changed",
        {
            "document": document,
            "chat": chat,
            "library_documents": Document.objects.attachable_to(chat),
            "keep_open": keep_open,
            "oob": True,
        },
    )


# Room in one upload request for what surrounds its file: the multipart headers and
# boundaries, the file name, and the small fields (the chat, the CSRF token).
ENVELOPE_BYTES = 64 * 1024


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain")


def _limit_mb() -> int:
    return settings.PLAYGROUND["DOCUMENT_MAX_MB"]


class SizeLimitedUpload(FileUploadHandler):
    """Stops reading an upload as soon as its files pass the size limit, whatever length the
    request declared (a wrong Content-Length, or none): the rest is never parsed or stored."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request)
        self.received = 0
        self.stopped = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > actions.max_bytes():
            self.stopped = True
            raise StopUpload(connection_reset=True)  # read no further
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (Django's) makes the file


@csrf_exempt  # checked by ``_upload`` once the size guard is in place (see ``upload``)
@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """One file a request (the page sends them one by one, with progress). Into a chat's
    context when ``chat`` names one; ``new_chat`` starts a chat for it first.

    Refused before its body is parsed when it declares more than the limit or comes too often;
    a body that passes the limit anyway is cut off as it is parsed. (The servers have read it by
    then: the embedded one bounds it itself, playground/embedded_server.py; in production the
    proxy's body limit does.) The CSRF check reads the
    body, so it runs after the guard is installed (Django's documented pattern for upload
    handlers: csrf_exempt here, csrf_protect inside)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > actions.max_bytes() + ENVELOPE_BYTES:
        size = f"{declared / 1024 / 1024:,.1f}"
        return _plain(f"The upload is {size} MB; the limit is {_limit_mb()} MB a file.", 413)
    try:
        limits.take(request.user, limits.Kind.UPLOAD)
    except limits.Limited as limited:
        response = _plain(str(limited), 429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    guard = SizeLimitedUpload(request)
    request.upload_handlers.insert(0, guard)
    return _upload(request, guard)


@csrf_protect
def _upload(request: HttpRequest, guard: SizeLimitedUpload) -> HttpResponse:
    uploaded = request.FILES.get("file")
    if guard.stopped:
        limit = _limit_mb()
        return _plain(f"The upload was stopped at {limit} MB: the limit is {limit} MB a file.", 413)
    if uploaded is None:
        return _plain("Choose a file to upload.", 422)
    chat = None
    if request.POST.get("chat"):
        chat = chat_access.chat_for(request.user, request.POST["chat"], Action.CHAT)
    workspace = chat.workspace if chat else request.workspace
    require(request.user, Action.CHAT, workspace)
    try:
        document, _ = actions.store_upload(workspace, request.user, uploaded)
    except actions.UploadRefused as refusal:
        return HttpResponse(str(refusal), status=422, content_type="text/plain")
    response_headers = {}
    if chat is None and request.POST.get("new_chat"):
        try:
            chat = chat_actions.create_chat(workspace, request.user)
        except chat_actions.ReplyRefused as refusal:
            return HttpResponse(str(refusal), status=422, content_type="text/plain")
        response_headers["X-Chat-Url"] = reverse("chats:chat", args=[chat.pk])
    if chat is not None:
        actions.attach(chat, document, request.user)
        response = _changed(request, chat, document)
    else:
        response = _chip(request, document, chat)
    for name, value in response_headers.items():
        response[name] = value
    return response


@login_required
@require_POST
def attach(request: HttpRequest, chat_id) -> HttpResponse:
    chat = chat_access.chat_for(request.user, chat_id, Action.CHAT)
    document = access.document_for(request.user, request.POST.get("document"))
    try:
        actions.attach(chat, document, request.user)
    except actions.UploadRefused as refusal:
        flash.error(request, str(refusal))
    if request.htmx:
        return _changed(request, chat, document, keep_open=True)  # to attach more
    return redirect("chats:chat", chat_id=chat.pk)


@login_required
@require_POST
def detach(request: HttpRequest, chat_id, document_id) -> HttpResponse:
    chat = chat_access.chat_for(request.user, chat_id, Action.CHAT)
    document = access.document_for(request.user, document_id)
    actions.detach(chat, document)
    if request.htmx:
        return _changed(request, chat, None)  # the chip's place, now empty
    flash.success(request, f"Detached “{document.name}”.")
    return redirect("chats:chat", chat_id=chat.pk)


@login_required
@require_POST
def retry(request: HttpRequest, chat_id, document_id) -> HttpResponse:
    """Read a document that failed once more, from its chip in the chat (a failed document
    holds every send of the chat until it is read or detached)."""
    chat = chat_access.chat_for(request.user, chat_id, Action.CHAT)
    document = access.document_for(request.user, document_id)
    failed = document.status == Document.Status.FAILED
    actions.read_again(document)
    if request.htmx:
        return _chip(request, document, chat)
    if failed:
        flash.success(request, f"Reading “{document.name}” again.")
    return redirect("chats:chat", chat_id=chat.pk)


@login_required
@require_GET
def chip(request: HttpRequest, chat_id, document_id) -> HttpResponse:
    """A document's chip as it stands (the page asks after its websocket reconnects)."""
    chat = chat_access.chat_for(request.user, chat_id)
    document = access.document_for(request.user, document_id)
    return _chip(request, document, chat)


@login_required
@require_http_methods(["GET", "POST"])
def context_meter(request: HttpRequest, chat_id) -> HttpResponse:
    """The meter of the chat's next request, with the draft message when it is posted."""
    chat = chat_access.chat_for(request.user, chat_id)
    draft = request.POST.get("text", "") if request.method == "POST" else ""
    return render(
        request,
        "documents/attachments.html#meter",
        {"chat": chat, "meter": prompt.report(chat, draft=draft)},
    )


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    documents = list(Document.objects.for_user(request.user).select_related("uploaded_by")[:500])
    return render(
        request,
        "documents/library.html",
        {"documents": documents},
    )


@login_required
@require_GET
def document_detail(request: HttpRequest, document_id) -> HttpResponse:
    document = access.document_for(request.user, document_id)
    text = ""
    if document.is_ready:
        text = document.extracted.text[:TEXT_PREVIEW_CHARS]
    return render(
        request,
        "documents/detail.html",
        {
            "document": document,
            "text": text,
            "shortened": document.chars > TEXT_PREVIEW_CHARS,
            "preview_chars": TEXT_PREVIEW_CHARS,
            "chats": Chat.objects.filter(attachments__document=document).only("id", "title"),
        },
    )


@login_required
@require_GET
def document_text(request: HttpRequest, document_id) -> HttpResponse:
    """The extracted text as a download (never shown inline: it is the document's content)."""
    document = access.document_for(request.user, document_id)
    if not document.is_ready:
        return HttpResponse("The text is not ready.", status=404, content_type="text/plain")
    response = HttpResponse(document.extracted.text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="document-{document.pk}.txt"'
    return response


@login_required
@require_POST
def delete(request: HttpRequest, document_id) -> HttpResponse:
    document = access.document_for(request.user, document_id, Action.CHAT)
    actions.delete_document(document)
    flash.success(request, f"Deleted “{document.name}”.")
    return redirect("documents:library")
