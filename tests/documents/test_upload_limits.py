"""Uploads past the size limit are refused before their body is read when they say so, and cut
off as they are read when they do not (issue 11); uploads a minute are limited per person; the
CSRF check still holds on the upload endpoint."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient, Client
from django.test.client import FakePayload

from playground.accounts import limits
from playground.documents.models import Document
from tests.chats.helpers import new_chat
from tests.documents.test_documents import upload

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024


class Unreadable:
    """A request body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


class CountedPayload(FakePayload):
    """A request body that counts how much of it was read."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.taken = 0

    def read(self, size=-1, /):
        data = super().read(size)
        self.taken += len(data)
        return data


def multipart(content: bytes, name: str = "big.txt") -> tuple[bytes, str]:
    boundary = "BoUnDaRy"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def one_mb(settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "DOCUMENT_MAX_MB": 1}


def test_a_declared_size_over_the_limit_is_refused_without_reading_the_body(
    owner, owner_client, one_mb
):
    response = owner_client.generic(
        "POST",
        "/documents/upload",
        b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(300 * MB),
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413
    assert response.content.decode() == "The upload is 300.0 MB; the limit is 1 MB a file."
    assert not Document.objects.exists()


def test_a_body_that_grows_past_the_limit_is_cut_off_as_it_is_read(owner, one_mb):
    """Over ASGI (as served) with a Content-Length that understates the body: the body is read
    only a little past the limit, and nothing of it is kept."""
    body, content_type = multipart(b"x" * (8 * MB))
    payload = CountedPayload(body)
    client = AsyncClient()
    client.force_login(owner)
    response = async_to_sync(client.request)(
        method="POST",
        path="/documents/upload",
        headers=[(b"content-type", content_type.encode()), (b"content-length", b"2000")],
        _body_file=payload,
    )
    assert response.status_code == 413
    assert response.content.decode() == (
        "The upload was stopped at 1 MB: the limit is 1 MB a file."
    )
    assert payload.taken < 2 * MB
    assert not Document.objects.exists()


def test_a_file_just_over_the_limit_is_stopped_too(owner, owner_client, simulator, one_mb):
    chat = new_chat(owner, simulator)
    response = upload(owner_client, "big.txt", b"x" * (MB + 1), chat=str(chat.pk))
    assert response.status_code == 413
    assert not Document.objects.exists()
    exactly = upload(owner_client, "fits.txt", b"x" * MB, chat=str(chat.pk))
    assert exactly.status_code == 200
    assert Document.objects.get().size == MB


def test_the_upload_still_checks_csrf(owner, simulator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    chat = new_chat(owner, simulator)
    refused = upload(client, "notes.txt", b"some notes", chat=str(chat.pk))
    assert refused.status_code == 403 and not Document.objects.exists()
    client.get(f"/chat/{chat.pk}")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/documents/upload",
        {"file": SimpleUploadedFile("notes.txt", b"some notes")},
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 200 and Document.objects.count() == 1


def test_uploads_a_minute_are_limited_before_the_body_is_read(
    owner, owner_client, simulator, settings, monkeypatch
):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "UPLOADS_PER_MINUTE": 2}
    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: 60_000_000 + 15.2))
    chat = new_chat(owner, simulator)
    for n in range(2):
        response = upload(owner_client, f"{n}.txt", f"file {n}".encode(), chat=str(chat.pk))
        assert response.status_code == 200
    response = owner_client.generic(
        "POST",
        "/documents/upload",
        b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH="1000",
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 429 and response["Retry-After"] == "45"
    assert response.content.decode() == "Too many uploads: wait 45 s."
    assert Document.objects.count() == 2
