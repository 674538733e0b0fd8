"""A document keeps the name its file had, as the browser sent it."""

from __future__ import annotations

import pytest

from playground.documents.models import Document

BOUNDARY = "----PlaygroundFormBoundary"


def browser_upload(client, filename: str, content: bytes):
    """A multipart upload written as a browser writes it: ``filename`` goes into the
    Content-Disposition as it is, already escaped the browser's way. (The test client would
    write a ``"`` in a name raw, which no browser does.)"""
    head = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    body = head.encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()
    return client.post(
        "/documents/upload", body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("my %22quoted%22 notes.txt", 'my "quoted" notes.txt'),
        ("two%0D%0Alines.txt", "twolines.txt"),  # CR and LF are decoded, then not printable
        ("100%41 and %2522.txt", "100%41 and %2522.txt"),  # typed escapes stay as typed
    ],
)
def test_a_name_is_stored_as_the_person_named_the_file(owner_client, sent, stored):
    response = browser_upload(owner_client, sent, b"harmless text\n")
    assert response.status_code == 200, response.content
    assert Document.objects.get().name == stored
