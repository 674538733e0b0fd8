"""Request-body bounds for the embedded server (``manage.py runserver``: daphne on Twisted).

Twisted reads a whole request body before daphne hands it to Django, and by default parses
every multipart body into memory as well (daphne never uses that): a 200 MB upload grew the
server past 2.5 GB, whatever Django then refused (issue 11). Here daphne's request class turns
that parsing off and answers 413 as soon as the headers declare a body over the limit, before
any of it is read, or as soon as a body without a declared length (chunked) grows past it.
In production (uvicorn) Django spools a body to disk before a view runs, so there the proxy's
body limit is the guard (README); the upload view then refuses by Content-Length and its
upload handler stops parsing past the limit (playground/documents/views.py).
"""

from __future__ import annotations

from daphne import http_protocol

MULTIPART_OVERHEAD = 64 * 1024


def bound_request_bodies(max_bytes: int) -> None:
    """Install the bounded request class into daphne (once, before it serves)."""
    if getattr(http_protocol.WebRequest, "max_body_bytes", None) is not None:
        return
    base = http_protocol.WebRequest
    limit = max_bytes + MULTIPART_OVERHEAD
    megabytes = max_bytes // (1024 * 1024)

    class BoundedWebRequest(base):
        max_body_bytes = limit

        def __init__(self, *args, **kwargs) -> None:
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)

        received = 0
        refused = False

        def gotLength(self, length: int | None) -> None:  # Twisted's name
            if length is not None and length > self.max_body_bytes:
                self._refuse()
                return
            super().gotLength(length)

        def handleContentChunk(self, data: bytes) -> None:  # Twisted's name
            """A body without a declared length (chunked) is counted as it comes in."""
            if self.refused:
                return
            self.received += len(data)
            if self.received > self.max_body_bytes:
                self._refuse()
                return
            super().handleContentChunk(data)

        def _refuse(self) -> None:
            self.refused = True
            message = f"The upload is too large: the limit is {megabytes} MB a file.\n"
            # Refused before Twisted has the request line's version (it sets it at the end).
            self.clientproto = b"HTTP/1.1"
            self.setResponseCode(413)
            self.setHeader(b"content-type", b"text/plain; charset=utf-8")
            self.setHeader(b"connection", b"close")
            self.write(message.encode())
            self.finish()
            self.transport.loseConnection()

    # daphne's factory builds requests from this module-level name.
    http_protocol.WebRequest = BoundedWebRequest
