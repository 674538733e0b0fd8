"""Per-person limits (issue 11): answers being written at once over all of a person's chats,
and answers started a minute. A refusal keeps the draft, creates nothing, and says what to do
(how long to wait, for the rate)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection

from playground.accounts import limits
from playground.chats import actions
from playground.chats.models import Chat, Message
from playground.streaming import runner
from playground.workspaces.access import personal_workspace
from tests.chats.helpers import new_chat
from tests.conftest import client_for
from tests.support import services

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}
RACE = Path(__file__).with_name("streaming_race.py")


@pytest.fixture
def slow(simulator):
    """Answers that stay streaming until they are stopped."""
    simulator.simulator_tokens_per_second = 50
    simulator.save()
    yield simulator
    for message in Message.objects.filter(status=Message.Status.STREAMING):
        actions.request_stop(message)
    runner.wait_idle()


@pytest.fixture
def clock(monkeypatch):
    """The rate's clock, held still (a window turning mid-test would reset the count)."""
    now = SimpleNamespace(value=1_000_000 * 60 + 48.5)  # 11.5 s before a minute turns
    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: now.value))
    return now


def limit(settings, **values) -> None:
    settings.PLAYGROUND = {**settings.PLAYGROUND, **values}


def test_answers_written_at_once_are_capped_per_person(owner, member, owner_client, slow, settings):
    limit(settings, MAX_STREAMING_PER_USER=2)
    first, second, third = (new_chat(owner, slow) for _ in range(3))
    for chat in (first, second):
        assert (
            owner_client.post(f"/chat/{chat.pk}/send", {"text": "#answer:5000 long"}).status_code
            == 302
        )
    before = Message.objects.count()

    response = owner_client.post(f"/chat/{third.pk}/send", {"text": "a third"}, headers=HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "You have 2 answers being written at once, the most allowed" in html
    assert "wait for one to finish, or stop one" in html
    assert "a third</textarea>" in html  # the draft is kept
    assert Message.objects.count() == before

    # Someone else in the same workspace has a count of their own.
    shared = Chat.objects.create(
        workspace=personal_workspace(owner), created_by=member, provider=slow, model=first.model
    )
    assert client_for(member).post(f"/chat/{shared.pk}/send", {"text": "mine"}).status_code == 302

    # Stopping one makes room (once its generation has ended it).
    stopped = Message.objects.get(chat=first, status=Message.Status.STREAMING)
    actions.request_stop(stopped)
    for _ in range(200):
        stopped.refresh_from_db()
        if not stopped.is_streaming:
            break
        time.sleep(0.05)
    assert owner_client.post(f"/chat/{third.pk}/send", {"text": "now"}).status_code == 302
    assert Message.objects.filter(chat=third).count() == 2


def test_a_retry_counts_too(owner, owner_client, slow, settings):
    limit(settings, MAX_STREAMING_PER_USER=1)
    done = new_chat(owner, slow)
    _, answer = actions.start_reply(done, owner, "#answer:3 short")
    runner.wait_idle()
    busy = new_chat(owner, slow)
    owner_client.post(f"/chat/{busy.pk}/send", {"text": "#answer:5000 long"})
    before = Message.objects.count()
    response = owner_client.post(f"/message/{answer.pk}/retry", headers=HTMX)
    assert response.status_code == 422 and "the most allowed" in response.content.decode()
    assert Message.objects.count() == before


def test_parallel_sends_into_many_chats_admit_only_the_cap(owner, slow, settings):
    """Each request in its own thread and connection, all at once (SQLite writes one
    transaction at a time; PostgreSQL is below)."""
    limit(settings, MAX_STREAMING_PER_USER=3)
    chats = [new_chat(owner, slow) for _ in range(12)]
    start = threading.Barrier(len(chats))
    statuses: list[int] = []

    def send(chat) -> None:
        client = client_for(owner)
        start.wait()
        statuses.append(
            client.post(f"/chat/{chat.pk}/send", {"text": "#answer:5000 x"}).status_code
        )
        connection.close()

    threads = [threading.Thread(target=send, args=(chat,)) for chat in chats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] * 3 + [422] * 9
    assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == 3


def test_sends_a_minute_are_limited_and_the_refusal_says_how_long(
    owner, owner_client, simulator, settings, clock
):
    limit(settings, SENDS_PER_MINUTE=3)
    chats = [new_chat(owner, simulator) for _ in range(4)]
    for chat in chats[:3]:
        assert (
            owner_client.post(f"/chat/{chat.pk}/send", {"text": "#answer:2 hi"}).status_code == 302
        )
        runner.wait_idle()
    before = Message.objects.count()

    htmx = owner_client.post(f"/chat/{chats[3].pk}/send", {"text": "my draft"}, headers=HTMX)
    assert htmx.status_code == 429 and htmx["Retry-After"] == "12"
    html = htmx.content.decode()
    assert "Too many messages: wait 12 s." in html and "my draft</textarea>" in html
    plain = owner_client.post(f"/chat/{chats[3].pk}/send", {"text": "my draft"})
    assert plain.status_code == 429 and plain["Retry-After"] == "12"
    assert "Too many messages: wait 12 s." in plain.content.decode()
    new = owner_client.post("/chat/start", {"text": "a new chat"})
    assert new.status_code == 429
    assert Message.objects.count() == before and Chat.objects.count() == 4

    clock.value += 12  # the next minute
    assert (
        owner_client.post(f"/chat/{chats[3].pk}/send", {"text": "#answer:2 hi"}).status_code == 302
    )
    assert Message.objects.count() == before + 2


def test_a_retry_over_the_rate_is_told_how_long_to_wait(
    owner, owner_client, simulator, settings, clock
):
    limit(settings, SENDS_PER_MINUTE=1)
    chat = new_chat(owner, simulator)
    _, answer = actions.start_reply(chat, owner, "#answer:2 hi")
    runner.wait_idle()
    before = Message.objects.count()
    response = owner_client.post(f"/message/{answer.pk}/retry", headers=HTMX)
    assert response.status_code == 429 and response["Retry-After"] == "12"
    assert response.content.decode() == "Too many messages: wait 12 s."
    assert Message.objects.count() == before


def test_limits_of_zero_are_off(owner, owner_client, simulator, settings, clock):
    limit(settings, SENDS_PER_MINUTE=0, MAX_STREAMING_PER_USER=0)
    for _ in range(5):
        chat = new_chat(owner, simulator)
        assert (
            owner_client.post(f"/chat/{chat.pk}/send", {"text": "#answer:2 hi"}).status_code == 302
        )
    runner.wait_idle()
    assert Message.objects.count() == 10


@pytest.fixture
def database_url():
    with services.scratch_postgres_database("m1streams") as url:
        yield url


@pytest.mark.services
def test_racing_sends_into_many_chats_admit_only_the_cap_on_postgresql(database_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "PLAYGROUND_TASKS": "inprocess",
        "PLAYGROUND_MAX_STREAMING_PER_USER": "3",
        "PLAYGROUND_SENDS_PER_MINUTE": "0",
    }
    result = subprocess.run(
        [sys.executable, str(RACE), "12"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"admitted": 3, "refused": 9, "streaming": 3}


def test_a_refused_send_does_not_use_up_the_rate(owner, owner_client, simulator, settings):
    """Only what is admitted counts: sends refused by a busy chat are given back."""
    from playground.chats import actions as chat_actions

    settings.PLAYGROUND = {**settings.PLAYGROUND, "SENDS_PER_MINUTE": 2}
    chat = new_chat(owner, simulator)
    for _ in range(3):
        with pytest.raises(chat_actions.ReplyRefused):
            chat_actions.start_reply(chat, owner, "   ")  # refused before counting
    Message.objects.create(chat=chat, role=Message.Role.ASSISTANT, status="streaming")
    for _ in range(3):  # refused after counting: the chat is busy
        with pytest.raises(chat_actions.ReplyRefused, match="still being written"):
            chat_actions.start_reply(chat, owner, "hello")
    Message.objects.filter(chat=chat).delete()
    chat_actions.start_reply(chat, owner, "#answer:2 one")
    runner.wait_idle()
    chat_actions.start_reply(chat, owner, "#answer:2 two")
    runner.wait_idle()
    with pytest.raises(chat_actions.TooFast):
        chat_actions.start_reply(chat, owner, "#answer:2 three")
