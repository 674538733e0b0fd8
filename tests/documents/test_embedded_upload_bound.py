"""The embedded server refuses a body over the upload limit before reading it (issue 11)."""

import socket
import time

import pytest

from tests.support.stack import Stack, User

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_declared_huge_upload_is_refused_unread_by_the_embedded_server():
    with Stack("embedded", extra_env={"PLAYGROUND_DOCUMENT_MAX_MB": "1"}) as stack:
        User(stack, "ann").sign_up()
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as connection:
            connection.sendall(
                b"POST /documents/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\n"
                b"Content-Length: 300000000\r\n\r\n"
                + b"x"
                * 65536  # a first piece of a body that is never sent whole
            )
            answer = connection.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.1 413")
        assert "the limit is 1 MB a file" in answer
        assert time.monotonic() - started < 5  # answered from the headers, not the body


def test_a_chunked_upload_is_cut_off_at_the_limit_by_the_embedded_server():
    """No declared length: the body is counted as it streams in and refused past the limit,
    whoever sends it (before login is checked)."""
    with Stack("embedded", extra_env={"PLAYGROUND_DOCUMENT_MAX_MB": "1"}) as stack:
        with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as connection:
            connection.sendall(
                b"POST /documents/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            piece = b"x" * 65536
            chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            answer = b""
            try:
                for _ in range(64):  # up to 4 MB, four times the limit
                    connection.sendall(chunk)
            except OSError:
                pass  # the server closed the connection: refused
            connection.settimeout(5)
            while chunk := connection.recv(4096):
                answer += chunk
        text = answer.decode("latin-1")
        assert text.startswith("HTTP/1.1 413") and "the limit is 1 MB a file" in text
