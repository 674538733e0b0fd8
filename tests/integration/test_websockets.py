"""Websockets as the app runs them: the embedded server (daphne, in-memory channel layer) and
production (uvicorn, channels-redis). A page of another origin or a path that is no socket
gets a 403 handshake; logging out over HTTP closes that session's open socket at once."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.stack import Stack, User, next_frame

pytestmark = pytest.mark.services

_names = itertools.count()


@pytest.fixture(scope="module", params=["embedded", "production"])
def stack(request):
    running = Stack.production() if request.param == "production" else Stack("embedded")
    with running:
        yield running


async def test_logging_out_closes_the_open_socket_within_a_second(stack):
    ann = User(stack, "ann").sign_up()
    chat = ann.new_chat()
    async with ann.websocket(chat) as ws:
        assert (await next_frame(ws))["type"] == "ready"
        logged_out_at = time.monotonic()
        response = await asyncio.to_thread(ann._post, "/accounts/logout/")
        assert response.status_code == 302
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 1)
        assert closed.value.rcvd.code == 4401
        assert time.monotonic() - logged_out_at < 1.5
    with pytest.raises(InvalidStatus):  # the logged-out session opens nothing
        async with ann.websocket(chat):
            pass


@pytest.mark.parametrize(
    "path,origin",
    [
        ("/ws/chat/{chat}/", "http://127.0.0.1:9999"),  # another port: another site
        ("/ws/chat/{chat}/", "http://localhost:{port}"),
        ("/ws/nope/", "{base}"),  # before: HTTP 500
    ],
)
async def test_other_origins_and_unknown_paths_get_a_403_handshake(stack, path, origin):
    bob = User(stack, f"bob{next(_names)}").sign_up()
    chat = bob.new_chat()
    cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in bob.http.cookies.items())}
    site = f"ws://127.0.0.1:{stack.port}"
    origin = origin.format(port=stack.port, base=stack.base)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(site + path.format(chat=chat), origin=origin, additional_headers=cookie):
            pass
    assert refused.value.response.status_code == 403
    # The same person, from the site's own page, to the chat: open.
    async with connect(
        f"{site}/ws/chat/{chat}/", origin=stack.base, additional_headers=cookie
    ) as ws:
        assert (await next_frame(ws))["type"] == "ready"
