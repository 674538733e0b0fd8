"""Run by test_nul_bytes in a fresh database (PostgreSQL, which cannot store a NUL character, or
SQLite, which stores it unseen): every place that takes text is sent a NUL character. Prints,
as JSON, each place's status code (500 if it raised), whether the page said why, and whether
anything was saved."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from playground.accounts.actions import sign_up  # noqa: E402
from playground.accounts.models import User  # noqa: E402
from playground.billing.models import Budget, Price  # noqa: E402
from playground.chats.models import Chat, Message, Preset  # noqa: E402
from playground.comparisons.models import Comparison  # noqa: E402
from playground.documents.models import Document  # noqa: E402
from playground.providers.models import Provider  # noqa: E402
from playground.streaming import runner  # noqa: E402
from playground.workspaces.access import personal_workspace  # noqa: E402

PASSWORD = "correct horse battery 9"
NUL = "\x00"
NULLS = "Null characters are not allowed."


def main() -> None:
    setup_test_environment()
    call_command("migrate", verbosity=0)
    owner = sign_up("owner", PASSWORD)
    simulator = Provider.objects.get(kind="simulator")
    workspace = personal_workspace(owner)
    chat = Chat.objects.create(
        workspace=workspace, created_by=owner, provider=simulator, model="MiniMax-M1-40k"
    )
    client = Client()
    client.force_login(owner)
    settings_form = {
        "temperature": "1",
        "top_p": "0.95",
        "presence_penalty": "0",
        "frequency_penalty": "0",
    }
    columns = {}
    for number in (1, 2):
        columns |= {f"c{number}-model": f"{simulator.pk}:MiniMax-M1-40k"}
        columns |= {f"c{number}-{name}": value for name, value in settings_form.items()}
    provider_form = {
        "name": "Elsewhere",
        "kind": "openai_compatible",
        "base_url": "https://api.example.com/v1",
        "api_key": "sk-test",
        "model_ids_text": "house-model",
        "thinking_format": "auto",
        "enabled": "on",
    }
    price_form = {
        "model": "MiniMax-M1-40k",
        "effective_from": "2026-01-01T00:00",
        "tier1_input": "0.40",
        "tier1_output": "2.20",
    }

    def chat_params() -> dict:
        return Chat.objects.values_list("params", flat=True).get(pk=chat.pk)

    # (name, client, path, data, what the page says, what would have been saved)
    places = [
        (
            "sign-up username",
            Client(),
            "/accounts/signup/",
            {"username": f"nul{NUL}name", "password1": PASSWORD, "password2": PASSWORD},
            NULLS,
            lambda: User.objects.filter(username__startswith="nul").exists(),
        ),
        (
            "log-in username",
            Client(),
            "/accounts/login/",
            {"username": f"owner{NUL}", "password": PASSWORD},
            NULLS,
            lambda: False,
        ),
        (
            "first message",
            client,
            "/chat/start",
            {"text": f"hello{NUL}"},
            "Null characters are not allowed in a message",
            lambda: Chat.objects.count() != 1,
        ),
        (
            "message",
            client,
            f"/chat/{chat.pk}/send",
            {"text": f"hello{NUL}"},
            "Null characters are not allowed in a message",
            lambda: Message.objects.exists(),
        ),
        (
            "chat title",
            client,
            f"/chat/{chat.pk}/rename",
            {"title": f"Plans{NUL}"},
            "A title cannot contain null characters.",
            lambda: Chat.objects.get(pk=chat.pk).title != "New chat",
        ),
        (
            "preset name",
            client,
            f"/chat/{chat.pk}/presets/save",
            {"name": f"Careful{NUL}"},
            "A preset name cannot contain null characters.",
            lambda: Preset.objects.exists(),
        ),
        (
            "system prompt",
            client,
            f"/chat/{chat.pk}/settings",
            {**settings_form, "system_prompt": f"Be brief.{NUL}"},
            NULLS,
            lambda: chat_params() != {},
        ),
        (
            "stop sequence",
            client,
            f"/chat/{chat.pk}/settings",
            {**settings_form, "stop_1": f"END{NUL}"},
            NULLS,
            lambda: chat_params() != {},
        ),
        (
            "compare prompt",
            client,
            "/compare/start",
            {**columns, "text": f"Which sort?{NUL}"},
            "Null characters are not allowed in a message",
            lambda: Comparison.objects.exists(),
        ),
        (
            "compare column system prompt",
            client,
            "/compare/start",
            {**columns, "c1-system_prompt": f"Be brief.{NUL}", "text": "Which sort?"},
            NULLS,
            lambda: Comparison.objects.exists(),
        ),
        (
            "budget",
            client,
            f"/workspace/{workspace.pk}/budgets",
            {"workspace_cap": f"5{NUL}"},
            "must be a number of dollars",
            lambda: Budget.objects.exists(),
        ),
        *(
            (
                f"provider {field}",
                client,
                "/admin/providers/new",
                {**provider_form, field: f"{provider_form[field]}{NUL}"},
                NULLS,
                lambda: Provider.objects.count() != 1,
            )
            for field in ("name", "base_url", "api_key", "model_ids_text")
        ),
        (
            "price",
            client,
            f"/admin/providers/{simulator.pk}/prices",
            {**price_form, "tier1_input": f"0.40{NUL}"},
            NULLS,
            lambda: Price.objects.exists(),
        ),
    ]
    results = {}
    for name, who, path, data, says, saved in places:
        try:
            response = who.post(path, data, follow=True)
            status = (
                response.redirect_chain[0][1] if response.redirect_chain else response.status_code
            )
            said = says in response.content.decode()
        except Exception as error:  # what a server would answer with a 500
            status, said = 500, repr(error)[:300]
        results[name] = {"status": status, "said": said, "saved": saved()}

    # A file name is cleaned (it is shown, never used as a path), not refused.
    response = client.post(
        "/documents/upload", {"file": SimpleUploadedFile(f"re{NUL}port.txt", b"some notes")}
    )
    runner.wait_idle(timeout=60)
    names = list(Document.objects.values_list("name", flat=True))
    results["document name"] = {"status": response.status_code, "names": names}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
