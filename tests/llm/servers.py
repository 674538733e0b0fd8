"""Real local HTTP servers for the provider tests: an ASGI app served by uvicorn in a thread,
with every request it received."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.support.stack import free_port


class Served:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/v1"
        self.requests: list[dict[str, Any]] = []


@contextmanager
def serve(app: Callable) -> Iterator[Served]:
    """Serve ``app`` on 127.0.0.1 while the block runs; ``requests`` lists each request's
    method, path and headers."""
    served = Served(free_port())

    async def recording(scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            served.requests.append(
                {"method": scope["method"], "path": scope["path"], "headers": headers}
            )
        await app(scope, receive, send)

    config = uvicorn.Config(recording, host="127.0.0.1", port=served.port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def answering(status: int, body: bytes, headers: dict[str, str] | None = None) -> Callable:
    """An ASGI app that answers every request with ``status``, ``body`` and ``headers``."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    return app
