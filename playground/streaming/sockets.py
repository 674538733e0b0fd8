"""What every websocket passes before its consumer, and what ends one early.

A handshake goes on only from a page of this site: its Origin must be the site's own
origin (scheme, host and port: the handshake's Host, validated against ALLOWED_HOSTS, with
http for ws and https for wss or a TLS proxy's SECURE_PROXY_SSL_HEADER) or one of
CSRF_TRUSTED_ORIGINS, as Django's CSRF check compares a form's Origin. channels'
AllowedHostsOriginValidator compares the host alone, so a page of another port (another
app on the same machine) could open the chat sockets with the visitor's cookies.

Anything refused, a path no consumer serves, and a consumer that fails before it answers the
handshake are closed before the handshake completes: the server answers HTTP 403.

A socket of a signed-in person closes with ``CLOSE_SESSION_ENDED`` when that session logs out
or the person's password changes (``publisher.end_sessions``); the session is named on the
channel layer by a digest, never by its key.
"""

from __future__ import annotations

import io
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http.request import is_same_domain
from django.urls import re_path
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

CLOSE_SESSION_ENDED = 4401  # logged out, or the password changed: sign in again

_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host, port


def _origin(value: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin; None for anything else ("null" included)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme]


def _trusted(origin: Origin, pattern: str) -> bool:
    """``origin`` is the CSRF_TRUSTED_ORIGINS entry ``pattern``; "https://*.example.com"
    stands for example.com and its subdomains."""
    wildcard = "://*." in pattern
    trusted = _origin(pattern.replace("://*.", "://", 1) if wildcard else pattern)
    if trusted is None:
        return False
    scheme, host, port = trusted
    if (origin[0], origin[2]) != (scheme, port):
        return False
    return is_same_domain(origin[1], "." + host) if wildcard else origin[1] == host


def _handshake_request(scope) -> ASGIRequest:
    """The handshake as Django sees a request: its host (ALLOWED_HOSTS, X-Forwarded-Host as
    configured) and scheme (SECURE_PROXY_SSL_HEADER as configured) come out as for pages."""
    secure = scope.get("scheme") == "wss"
    http_scope = {**scope, "type": "http", "method": "GET", "scheme": "https" if secure else "http"}
    return ASGIRequest(http_scope, io.BytesIO())


def origin_allowed(scope) -> bool:
    value = next((v for k, v in reversed(scope.get("headers", [])) if k == b"origin"), b"")
    origin = _origin(value.decode("latin1"))
    if origin is None:
        return False
    request = _handshake_request(scope)
    try:
        site = _origin(f"{request.scheme}://{request.get_host()}")
    except DisallowedHost:
        return False
    return origin == site or any(_trusted(origin, p) for p in settings.CSRF_TRUSTED_ORIGINS)


async def refuse(scope, receive, send) -> None:
    """An ASGI app that refuses a websocket handshake (the server answers 403)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


class WebsocketGate:
    """ASGI middleware before every websocket consumer: handshakes from other origins are
    refused (module doc), and so is one whose consumer fails before it answers the handshake
    (the channel layer's Redis is restarting, say): the browser retries, where an HTTP 500
    would say nothing more."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "websocket":
            await self.application(scope, receive, send)
            return
        if not origin_allowed(scope):
            logger.info("websocket refused: its Origin is not this site's (%s)", scope["path"])
            await refuse(scope, receive, send)
            return
        answered = False

        async def tracked_send(message) -> None:
            nonlocal answered
            answered = answered or message["type"] in ("websocket.accept", "websocket.close")
            await send(message)

        try:
            await self.application(scope, receive, tracked_send)
        except Exception:
            if answered:
                raise
            logger.warning("websocket refused: it failed before the handshake", exc_info=True)
            await send({"type": "websocket.close", "code": 1011})


# Last among the websocket routes: channels' URLRouter raises (an HTTP 500) on a path that
# no route matches.
unknown_path = re_path(r"", refuse)


def session_digest(session_key: str) -> str:
    """How the channel layer names a session (its key is a credential)."""
    return salted_hmac("playground.streaming.session", session_key, algorithm="sha256").hexdigest()
