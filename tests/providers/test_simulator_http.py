"""The simulator's HTTP face answers the people of this instance only: a signed-in session or
the simulator provider's API key; anyone else gets a 401 in OpenAI's error format and the
simulator never runs for them (issue 11, item 1)."""

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client

from playground.llm import simulator as sim
from playground.providers import simulator_http
from tests.llm.test_simulator_load import HUGE, MAX_LOOP_GAP, LoopWatch, call_asgi, events

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk-sim-0123456789abcdef"
QUESTION = {
    "model": "MiniMax-M1-40k",
    "stream": True,
    "messages": [{"role": "user", "content": "#think:3 #answer:4 #tps:0 hi"}],
}


async def call(app, headers: dict[str, str], body: dict = QUESTION) -> tuple[int, bytes]:
    encoded = [(k.encode(), v.encode()) for k, v in headers.items()]
    return await call_asgi(body, encoded, app=app)


def with_key(provider, key: str = KEY):
    provider.set_api_key(key)
    provider.save()
    return provider


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def refused(status: int, body: bytes) -> bool:
    error = orjson.loads(body)["error"]
    return status == 401 and error["code"] == "invalid_api_key" and error["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong-key-000000"},
        {"authorization": f"Basic {KEY}"},
        {"cookie": f"{settings.SESSION_COOKIE_NAME}=not-a-session"},
    ],
)
async def test_anonymous_requests_are_refused_before_the_simulator_runs(simulator, headers):
    await sync_to_async(with_key)(simulator)
    before = sim.stats.requests
    status, body = await call(simulator_http.app, headers)
    assert refused(status, body)
    assert sim.stats.requests == before


async def test_the_simulator_providers_key_is_accepted(simulator):
    await sync_to_async(with_key)(simulator)
    status, body = await call(simulator_http.app, {"authorization": f"Bearer {KEY}"})
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")


async def test_a_signed_in_session_is_accepted(simulator, member):
    cookie = await sync_to_async(session_cookie)(member)
    status, body = await call(simulator_http.app, {"cookie": cookie})
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")


async def test_a_session_ends_with_a_password_change(simulator, member):
    cookie = await sync_to_async(session_cookie)(member)
    member.set_password("another horse battery 7")
    await sync_to_async(member.save)()
    assert refused(*await call(simulator_http.app, {"cookie": cookie}))


async def test_without_a_key_only_sessions_are_accepted(simulator, member):
    """No key is set (the default): no token opens the face, a session does."""
    assert refused(*await call(simulator_http.app, {"authorization": "Bearer simulator"}))
    cookie = await sync_to_async(session_cookie)(member)
    status, _ = await call(simulator_http.app, {"cookie": cookie})
    assert status == 200


async def test_a_disabled_simulators_key_is_refused(simulator):
    simulator.enabled = False
    await sync_to_async(with_key)(simulator)
    assert refused(*await call(simulator_http.app, {"authorization": f"Bearer {KEY}"}))


async def test_the_server_routes_the_simulator_through_the_check(simulator, monkeypatch):
    from playground import asgi
    from playground.streaming import runner

    monkeypatch.setattr(runner, "adopt_server_loop", lambda: None)  # not this test's loop
    monkeypatch.setitem(settings.PLAYGROUND, "SIMULATOR_HTTP", True)
    before = sim.stats.requests
    assert refused(*await call(asgi.http_app, {}))
    assert sim.stats.requests == before


async def test_a_huge_answer_through_the_face_is_capped_and_leaves_the_loop_free(simulator):
    await sync_to_async(with_key)(simulator)
    request = {
        **QUESTION,
        "max_tokens": 10**6,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": HUGE}],
    }
    async with LoopWatch() as watch:
        status, body = await call(simulator_http.app, {"authorization": f"Bearer {KEY}"}, request)
    assert status == 200
    assert events(body)[-1]["usage"]["completion_tokens"] == 40_000
    assert watch.longest < MAX_LOOP_GAP, f"the loop waited {watch.longest * 1000:.0f} ms"
