from __future__ import annotations

import pytest
from django.test import Client

from playground.accounts.actions import sign_up
from playground.chats import runner
from playground.providers.models import Provider

PASSWORD = "correct horse battery 9"


@pytest.fixture
def simulator(db) -> Provider:
    """The seeded simulator provider, as fast as it goes unless a test slows it."""
    provider = Provider.objects.get(kind="simulator")
    provider.simulator_tokens_per_second = 0
    provider.save()
    return provider


@pytest.fixture
def owner(db):
    return sign_up("owner", PASSWORD)  # first account: the instance admin


@pytest.fixture
def member(owner):
    return sign_up("member", PASSWORD)


@pytest.fixture
def outsider(owner):
    return sign_up("outsider", PASSWORD)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return client_for(owner)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return client_for(outsider)


@pytest.fixture(autouse=True)
def _drain_generations():
    """No in-process generation may outlive its test (and its database)."""
    yield
    runner.wait_idle(timeout=60)
