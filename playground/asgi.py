"""ASGI entry point: HTTP (Django, and the simulator's HTTP face in the embedded mode) and the
chat websockets behind origin and authentication checks."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

from django.core.asgi import get_asgi_application

django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from playground.chats import routing as chat_routing  # noqa: E402
from playground.comparisons import routing as comparison_routing  # noqa: E402
from playground.providers import simulator_http  # noqa: E402
from playground.streaming import runner, sockets  # noqa: E402

websocket_urlpatterns = [
    *chat_routing.websocket_urlpatterns,
    *comparison_routing.websocket_urlpatterns,
    sockets.unknown_path,  # refused with a 403, last
]

SIMULATOR_PREFIX = "/simulator/v1/"

if settings.PLAYGROUND_TASKS == "inprocess":
    # The embedded server (daphne): bodies over the upload limit are refused unread.
    from playground.embedded_server import bound_request_bodies

    bound_request_bodies(settings.PLAYGROUND["DOCUMENT_MAX_MB"] * 1024 * 1024)


async def http_app(scope, receive, send):
    if settings.PLAYGROUND_TASKS == "inprocess":
        runner.adopt_server_loop()
    if settings.PLAYGROUND["SIMULATOR_HTTP"] and scope["path"].startswith(SIMULATOR_PREFIX):
        await simulator_http.app(scope, receive, send)  # signed-in people and the key only
        return
    await django_http(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        # Only pages of this site (scheme, host and port) may open a socket, and a socket that
        # fails before its handshake is refused, not an HTTP 500 (streaming/sockets.py).
        "websocket": sockets.WebsocketGate(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
