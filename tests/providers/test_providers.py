"""Provider management: instance admin only, keys encrypted and write-only, safe base URLs."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from playground import crypto
from playground.providers.models import Provider

pytestmark = pytest.mark.django_db

KEY = "sk-live-abcdefghijklmnop1234"


def form_data(**overrides):
    data = {
        "name": "MiniMax",
        "kind": "minimax",
        "base_url": "",
        "model_ids_text": "MiniMax-M1-40k, MiniMax-M1-80k",
        "thinking_format": "reasoning_content",
        "api_key": KEY,
        "enabled": "on",
    }
    data.update(overrides)
    return data


def test_only_the_instance_admin_manages_providers(member, owner_client):
    from tests.conftest import client_for

    member_client = client_for(member)
    assert member_client.get("/admin/providers/").status_code == 403
    assert member_client.post("/admin/providers/new", form_data()).status_code == 403
    assert not Provider.objects.filter(name="MiniMax").exists()
    assert owner_client.get("/admin/providers/").status_code == 200


def test_key_is_encrypted_write_only_and_masked(owner_client):
    response = owner_client.post("/admin/providers/new", form_data())
    assert response.status_code == 302
    provider = Provider.objects.get(name="MiniMax")
    assert provider.base_url == "https://api.minimax.io/v1"  # filled in for the kind
    assert KEY not in provider.api_key_encrypted
    assert crypto.decrypt(provider.api_key_encrypted) == KEY
    assert provider.config().api_key == KEY
    for page in ("/admin/providers/", f"/admin/providers/{provider.pk}/edit"):
        html = owner_client.get(page).content.decode()
        assert KEY not in html and provider.api_key_encrypted not in html
        assert "••••1234" in html
    # Saving without a key keeps the stored one.
    owner_client.post(f"/admin/providers/{provider.pk}/edit", form_data(api_key=""))
    provider.refresh_from_db()
    assert provider.config().api_key == KEY


def test_moving_the_base_url_requires_the_key_again(owner_client):
    owner_client.post("/admin/providers/new", form_data())
    provider = Provider.objects.get(name="MiniMax")
    response = owner_client.post(
        f"/admin/providers/{provider.pk}/edit",
        form_data(kind="openai_compatible", api_key="", base_url="https://collector.example/v1"),
    )
    assert response.status_code == 422
    assert "enter the API key again" in response.content.decode()
    provider.refresh_from_db()
    assert provider.base_url == "https://api.minimax.io/v1"


@pytest.mark.parametrize(
    "url,error",
    [
        ("ftp://host/v1", "valid http(s) URL"),
        ("https://user:pw@host/v1", "credentials"),
        ("https://host/v1?key=1", "query string"),
        ("javascript:alert(1)", "valid http(s) URL"),
        ("not a url", "valid http(s) URL"),
    ],
)
def test_bad_base_urls_are_refused(owner_client, url, error):
    response = owner_client.post(
        "/admin/providers/new", form_data(kind="vllm", base_url=url, name="Bad")
    )
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not Provider.objects.filter(name="Bad").exists()


def test_host_allowlist_and_private_hosts(owner_client, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "PROVIDER_HOST_ALLOWLIST": ["api.minimax.io"]}
    response = owner_client.post(
        "/admin/providers/new",
        form_data(kind="vllm", base_url="https://other.example/v1", name="X"),
    )
    assert "not among the provider hosts" in response.content.decode()
    settings.PLAYGROUND = {
        **settings.PLAYGROUND,
        "PROVIDER_HOST_ALLOWLIST": [],
        "ALLOW_PRIVATE_PROVIDER_HOSTS": False,
    }
    response = owner_client.post(
        "/admin/providers/new",
        form_data(kind="vllm", base_url="http://169.254.169.254/v1", name="Y"),
    )
    assert "Private and loopback" in response.content.decode()


@pytest.mark.parametrize(
    "models,error", [("", "at least one model"), ("good, bad id<script>", "not a valid model id")]
)
def test_model_ids_are_validated(owner_client, models, error):
    response = owner_client.post("/admin/providers/new", form_data(model_ids_text=models))
    assert error in response.content.decode()


def test_one_default_provider(owner_client, simulator):
    owner_client.post("/admin/providers/new", form_data(is_default="on"))
    simulator.refresh_from_db()
    assert not simulator.is_default
    assert Provider.objects.filter(is_default=True).count() == 1


def test_command_reads_the_key_from_env_or_stdin(monkeypatch, owner):
    monkeypatch.setenv("MINIMAX_KEY", KEY)
    out = io.StringIO()
    call_command(
        "provider",
        "MiniMax",
        "--kind",
        "minimax",
        "--models",
        "MiniMax-M1-80k",
        "--api-key-env",
        "MINIMAX_KEY",
        stdout=out,
    )
    assert KEY not in out.getvalue() and "••••1234" in out.getvalue()
    assert Provider.objects.get(name="MiniMax").config().api_key == KEY
    monkeypatch.setattr("sys.stdin", io.StringIO("sk-other-key-999999\n"))
    call_command(
        "provider",
        "MiniMax",
        "--kind",
        "minimax",
        "--models",
        "MiniMax-M1-80k",
        "--api-key-stdin",
        stdout=io.StringIO(),
    )
    assert Provider.objects.get(name="MiniMax").config().api_key == "sk-other-key-999999"
    with pytest.raises(CommandError, match="empty or not set"):
        call_command(
            "provider",
            "X",
            "--kind",
            "vllm",
            "--models",
            "m",
            "--base-url",
            "http://gpu:8000/v1",
            "--api-key-env",
            "NOPE_NOT_SET",
        )
    with pytest.raises(CommandError, match="base_url"):
        call_command("provider", "X", "--kind", "vllm", "--models", "m")


def test_command_has_no_key_argument():
    from playground.providers.management.commands.provider import Command

    parser = Command().create_parser("manage.py", "provider")
    assert not any(re.fullmatch(r"--api-key", o) for a in parser._actions for o in a.option_strings)


def test_keys_rotate_to_a_new_fernet_key(settings):
    from cryptography.fernet import Fernet

    old = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    crypto._fernet.cache_clear()
    token = crypto.encrypt(KEY)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    crypto._fernet.cache_clear()
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]
    crypto._fernet.cache_clear()
    assert crypto.decrypt(rotated) == KEY
    with pytest.raises(ValueError, match="cannot be decrypted"):
        crypto.decrypt(token)
    crypto._fernet.cache_clear()


def test_the_forms_offer_only_the_fields_that_apply(owner_client, simulator):
    """A new provider has no stored key to keep or remove; only the simulator has a speed."""
    keep, clear, speed = "Leave blank to keep the key", 'name="clear_api_key"', "simulator_tokens"
    html = owner_client.get("/admin/providers/new").content.decode()
    assert keep not in html and clear not in html and speed not in html
    assert "Stored key" not in html and "entering the key again" not in html
    owner_client.post("/admin/providers/new", form_data())
    provider = Provider.objects.get(name="MiniMax")
    html = owner_client.get(f"/admin/providers/{provider.pk}/edit").content.decode()
    assert keep in html and clear in html and "••••1234" in html and speed not in html
    html = owner_client.get(f"/admin/providers/{simulator.pk}/edit").content.decode()
    assert speed in html and clear not in html  # the simulator has no key to remove
    # A new simulator still gets its speed from a script (the test stack's way).
    call_command(
        "provider",
        "Sim 2",
        "--kind",
        "simulator",
        "--models",
        "m",
        "--tokens-per-second",
        "50",
        stdout=io.StringIO(),
    )
    assert Provider.objects.get(name="Sim 2").simulator_tokens_per_second == 50


def test_a_model_listed_twice_is_saved_once_in_its_first_place(owner_client):
    models = "MiniMax-M1-80k, MiniMax-M1-40k\nMiniMax-M1-80k"
    owner_client.post("/admin/providers/new", form_data(model_ids_text=models))
    assert Provider.objects.get(name="MiniMax").model_ids == ["MiniMax-M1-80k", "MiniMax-M1-40k"]
