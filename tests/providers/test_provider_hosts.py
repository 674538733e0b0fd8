"""A provider's base URL is checked by the addresses its host name resolves to when it is saved
(issue 11, item 7), and the same rules travel with the provider to where it connects."""

import socket

import pytest

from playground.providers.models import Provider
from tests.providers.test_providers import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_disallowed(settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "ALLOW_PRIVATE_PROVIDER_HOSTS": False}


def save(client, url: str, name: str = "P"):
    return client.post("/admin/providers/new", form_data(kind="vllm", base_url=url, name=name))


@pytest.mark.parametrize(
    ("name", "addresses"),
    [
        ("169.254.169.254.nip.io", ["169.254.169.254"]),
        ("metadata.google.internal", ["169.254.169.254"]),
        ("intranet.test", ["10.1.2.3"]),
        ("dual.test", ["93.184.216.34", "127.0.0.1"]),
    ],
)
def test_names_of_private_addresses_are_refused(
    owner_client, dns, private_disallowed, name, addresses
):
    dns[name] = addresses
    response = save(owner_client, f"https://{name}/v1")
    assert response.status_code == 422
    html = response.content.decode()
    assert "Private and loopback addresses are not allowed" in html
    assert not Provider.objects.filter(name="P").exists()


def test_a_name_of_public_addresses_is_saved(owner_client, dns, private_disallowed):
    dns["llm.test"] = ["93.184.216.34"]
    response = save(owner_client, "https://llm.test/v1")
    assert response.status_code == 302
    config = Provider.objects.get(name="P").config()
    assert config.allow_private_hosts is False  # checked again where it connects


def test_a_name_that_does_not_resolve_is_refused(owner_client, dns, private_disallowed):
    response = save(owner_client, "https://nowhere.test/v1")
    assert response.status_code == 422
    assert "could not be resolved" in response.content.decode()


def test_names_are_not_looked_up_when_private_hosts_are_allowed(owner_client, monkeypatch):
    def no_lookups(*args, **kwargs):
        raise AssertionError("no lookup expected")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookups)
    assert save(owner_client, "http://gpu-1.internal:8000/v1").status_code == 302


def test_the_allow_list_travels_with_the_config(owner_client, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "PROVIDER_HOST_ALLOWLIST": ["API.minimax.io"]}
    assert save(owner_client, "https://api.minimax.io/v1").status_code == 302
    assert Provider.objects.get(name="P").config().allowed_hosts == ("api.minimax.io",)
