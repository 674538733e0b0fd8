from __future__ import annotations

import pytest
from django.test import Client

from playground.accounts.actions import sign_up
from playground.providers.models import Provider
from playground.streaming import runner

PASSWORD = "correct horse battery 9"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests sign up several people each; the production hasher takes most of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def simulator(db) -> Provider:
    """The simulator provider (seeded by a migration, which transactional tests flush), as
    fast as it goes unless a test slows it."""
    provider, _ = Provider.objects.update_or_create(
        name="Simulator",
        defaults={
            "kind": "simulator",
            "model_ids": ["MiniMax-M1-40k", "MiniMax-M1-80k"],
            "thinking_format": "reasoning_content",
            "supports_prefill": True,
            "is_default": True,
            "enabled": True,
            "simulator_tokens_per_second": 0,
        },
    )
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
