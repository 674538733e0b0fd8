"""ASGI entry point: HTTP (Django, and the simulator's HTTP face in the embedded mode) and the
chat websockets behind origin and authentication checks."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

from django.core.asgi import get_asgi_application

django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from playground.chats import routing as chat_routing  # noqa: E402
from playground.comparisons import routing as comparison_routing  # noqa: E402
from playground.llm import simulator  # noqa: E402
from playground.streaming import runner  # noqa: E402

websocket_urlpatterns = (
    chat_routing.websocket_urlpatterns + comparison_routing.websocket_urlpatterns
)

SIMULATOR_PREFIX = "/simulator/v1/"


async def http_app(scope, receive, send):
    if settings.PLAYGROUND_TASKS == "inprocess":
        runner.adopt_server_loop()
    if settings.PLAYGROUND["SIMULATOR_HTTP"] and scope["path"].startswith(SIMULATOR_PREFIX):
        await simulator.asgi_app(scope, receive, send)
        return
    await django_http(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
