"""The simulator over HTTP (``/simulator/v1/…`` when ``SIMULATOR_HTTP`` is on), for the people
of this instance only: a signed-in session, or the simulator provider's API key as a Bearer
token (what View code's snippets send from ``SIMULATOR_API_KEY``). Anyone else gets HTTP 401
in OpenAI's error format; the simulator itself never runs for them.
"""

from __future__ import annotations

import hmac
from importlib import import_module
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare

from playground import crypto
from playground.llm import simulator
from playground.llm.client import ProviderKind

from .models import Provider

REFUSAL = {
    "error": {
        "message": (
            "Sign in to this instance, or send the simulator provider's API key as a Bearer "
            "token (the instance admin sets it under Providers)."
        ),
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    token = _bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
    session_key = parse_cookie(headers.get(b"cookie", b"").decode("latin-1")).get(
        settings.SESSION_COOKIE_NAME, ""
    )
    if (token or session_key) and await sync_to_async(authorized)(token, session_key):
        await simulator.asgi_app(scope, receive, send)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b'Bearer realm="simulator"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(REFUSAL)})


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authorized(token: str, session_key: str) -> bool:
    """Whether ``token`` is the API key of an enabled simulator provider, or ``session_key``
    a signed-in person's session (checked as Django checks it: the user exists, is active and
    the session's password hash still matches)."""
    try:
        sent = token.encode()
        if token and any(hmac.compare_digest(sent, key.encode()) for key in _simulator_keys()):
            return True
        if session_key:
            return _signed_in(import_module(settings.SESSION_ENGINE).SessionStore(session_key))
        return False
    finally:
        # Outside Django's request cycle nobody else closes this thread's connection.
        close_old_connections()


def _signed_in(session) -> bool:
    """Whether the session is a signed-in, active person's whose password hash still matches,
    checked without changing the session (django.contrib.auth.get_user would cycle the key of
    a session signed with a fallback secret, signing the browser out)."""
    user_id = session.get(SESSION_KEY)
    if user_id is None:
        return False
    model = get_user_model()
    try:
        user = model._default_manager.filter(pk=model._meta.pk.to_python(user_id)).first()
    except ValidationError:
        return False
    if user is None or not user.is_active:
        return False
    stored = session.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(stored, known) for known in hashes)


def _simulator_keys() -> list[str]:
    """The keys of enabled simulator providers; one without a key admits sessions only."""
    rows = Provider.objects.enabled().filter(kind=ProviderKind.SIMULATOR)
    encrypted = rows.exclude(api_key_encrypted="").values_list("api_key_encrypted", flat=True)
    return [key for key in map(crypto.decrypt, encrypted) if key]
