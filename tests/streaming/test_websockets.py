"""What every websocket passes before its consumer, through the real ASGI stack: the Origin
check (scheme, host and port of the site itself or of CSRF_TRUSTED_ORIGINS) and the refusal
of paths no consumer serves."""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from tests.chats.helpers import new_chat
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "127.0.0.1:8000"


def handshake(
    path: str,
    origin: str | None,
    *,
    host: str = SITE,
    scheme: str | None = None,
    cookie: str = "",
    headers: tuple = (),
) -> WebsocketCommunicator:
    sent = [(b"host", host.encode()), *headers]
    if origin is not None:
        sent.append((b"origin", origin.encode()))
    if cookie:
        sent.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=sent)
    if scheme is not None:  # what the server puts in the scope: ws, or wss behind TLS
        communicator.scope["scheme"] = scheme
    return communicator


@pytest.fixture
def chat_socket(owner, simulator):
    """A handshake to a chat the owner may follow, with the owner's session."""
    chat = new_chat(owner, simulator)
    cookie = client_for(owner).cookies["sessionid"].value

    def make(origin: str | None, **options) -> WebsocketCommunicator:
        return handshake(f"/ws/chat/{chat.pk}/", origin, cookie=cookie, **options)

    return make


async def accepted(communicator: WebsocketCommunicator) -> bool:
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    "origin,scheme,expected",
    [
        ("http://127.0.0.1:8000", None, True),
        ("http://127.0.0.1:8000", "ws", True),
        ("https://127.0.0.1:8000", "wss", True),
        ("http://127.0.0.1:9999", None, False),  # another port of the same host
        ("http://127.0.0.1", None, False),  # port 80
        ("https://127.0.0.1:8000", "ws", False),  # another scheme
        ("http://127.0.0.1:8000", "wss", False),
        ("http://localhost:8000", None, False),  # another allowed host is another site
        ("http://127.0.0.1:8000.evil.example", None, False),
        ("null", None, False),  # an opaque origin (a sandboxed frame, a file)
        ("", None, False),
        (None, None, False),  # not a browser page at all
    ],
)
async def test_only_the_sites_own_origin_may_open_a_socket(chat_socket, origin, scheme, expected):
    assert await accepted(chat_socket(origin, scheme=scheme)) is expected


async def test_a_host_outside_allowed_hosts_is_refused_even_from_its_own_origin(chat_socket):
    communicator = chat_socket("http://evil.example:8000", host="evil.example:8000")
    assert not await accepted(communicator)


async def test_trusted_origins_match_by_scheme_host_and_port(chat_socket, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.corp.example"]
    for origin, expected in [
        ("https://chat.example.com", True),
        ("https://chat.example.com:443", True),
        ("https://chat.example.com:8443", False),
        ("http://chat.example.com", False),
        ("https://a.corp.example", True),
        ("https://corp.example", True),
        ("http://a.corp.example", False),
        ("https://a.corp.example.evil", False),
    ]:
        assert await accepted(chat_socket(origin)) is expected, origin


async def test_behind_a_tls_proxy_the_forwarded_scheme_counts(chat_socket, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forwarded = ((b"x-forwarded-proto", b"https"),)
    assert await accepted(chat_socket("https://127.0.0.1:8000", headers=forwarded))
    assert not await accepted(chat_socket("http://127.0.0.1:8000", headers=forwarded))
    assert await accepted(chat_socket("http://127.0.0.1:8000"))


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/chat/", "/ws/chat/1/extra/", "/", "/chat/new"])
async def test_an_unknown_path_is_refused_cleanly(owner, path):
    cookie = await sync_to_async(lambda: client_for(owner).cookies["sessionid"].value)()
    communicator = handshake(path, f"http://{SITE}", cookie=cookie)
    connected, _ = await communicator.connect()  # before: ValueError, an HTTP 500
    assert not connected
    await communicator.wait()


async def test_a_socket_that_fails_before_its_handshake_is_refused_not_a_500(
    chat_socket, monkeypatch
):
    """As while the channel layer's Redis restarts: the browser retries a refusal."""
    layer = get_channel_layer()

    async def down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(layer, "new_channel", down)
    connected, _ = await chat_socket(f"http://{SITE}").connect()  # before: the error, a 500
    assert not connected
    monkeypatch.undo()
    assert await accepted(chat_socket(f"http://{SITE}"))
