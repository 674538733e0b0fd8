from __future__ import annotations

import socket

import pytest
from django.test import Client

from playground.accounts.actions import sign_up
from playground.providers.models import Provider
from playground.streaming import runner
from playground.workspaces.access import personal_workspace
from playground.workspaces.models import Membership

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


def _joined(owner, username: str, role: str):
    """A person with a personal workspace of their own who is also in the owner's."""
    person = sign_up(username, PASSWORD)
    Membership.objects.create(workspace=personal_workspace(owner), user=person, role=role)
    return person


@pytest.fixture
def admin(owner):
    """An admin of the owner's workspace."""
    return _joined(owner, "admin", Membership.Role.ADMIN)


@pytest.fixture
def member(owner):
    """A member of the owner's workspace (not a stranger: that is ``outsider``)."""
    return _joined(owner, "member", Membership.Role.MEMBER)


@pytest.fixture
def viewer(owner):
    """A viewer of the owner's workspace: reads, never writes."""
    return _joined(owner, "viewer", Membership.Role.VIEWER)


@pytest.fixture
def outsider(owner):
    """Someone of the same instance in no workspace of the owner's."""
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


@pytest.fixture
def dns(monkeypatch):
    """Host names resolved as the test says (``dns["name"] = ["10.0.0.7"]``) through
    socket.getaddrinfo, which every resolver here uses; other ``.test`` names do not resolve
    (the reserved test domain), the rest as usual."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))
                for address in names[host]
            ]
        if isinstance(host, str) and host.endswith(".test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names
