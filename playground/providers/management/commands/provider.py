"""Add or update a provider from a script. The API key is read from an environment variable
(--api-key-env NAME) or from standard input (--api-key-stdin), never from the command line,
where it would land in shell history and process listings."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError

from playground.llm.client import ProviderKind
from playground.llm.normalize import ThinkingFormat
from playground.providers.forms import ProviderForm
from playground.providers.models import Provider


class Command(BaseCommand):
    help = "Create or update a provider (by name)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", choices=[k.value for k in ProviderKind], required=True)
        parser.add_argument("--base-url", default="")
        parser.add_argument("--models", required=True, help="comma-separated model ids")
        parser.add_argument(
            "--thinking-format",
            default=ThinkingFormat.AUTO.value,
            choices=[f.value for f in ThinkingFormat],
        )
        parser.add_argument("--prefill", action="store_true", help="supports assistant prefill")
        parser.add_argument("--default", action="store_true", help="make it the default")
        parser.add_argument("--disabled", action="store_true")
        parser.add_argument("--tokens-per-second", type=float, default=None)
        key = parser.add_mutually_exclusive_group()
        key.add_argument("--api-key-env", metavar="VAR", help="read the key from $VAR")
        key.add_argument("--api-key-stdin", action="store_true", help="read the key from stdin")

    def handle(self, *args, **options) -> None:
        api_key = ""
        if options["api_key_env"]:
            api_key = os.environ.get(options["api_key_env"], "")
            if not api_key:
                raise CommandError(f"${options['api_key_env']} is empty or not set.")
        elif options["api_key_stdin"]:
            api_key = sys.stdin.readline().strip()
            if not api_key:
                raise CommandError("No API key on standard input.")
        instance = Provider.objects.filter(name=options["name"]).first()
        data = {
            "name": options["name"],
            "kind": options["kind"],
            "base_url": options["base_url"],
            "model_ids_text": options["models"],
            "thinking_format": options["thinking_format"],
            "supports_prefill": options["prefill"],
            "simulator_tokens_per_second": options["tokens_per_second"],
            "is_default": options["default"],
            "enabled": not options["disabled"],
            "api_key": api_key,
        }
        form = ProviderForm(data, instance=instance)
        if not form.is_valid():
            problems = "; ".join(
                f"{field}: {' '.join(errs)}" for field, errs in form.errors.items()
            )
            raise CommandError(problems)
        provider = form.save()
        verb = "Updated" if instance else "Created"
        key_note = f" key {provider.api_key_hint}" if provider.has_api_key else ""
        self.stdout.write(f"{verb} provider {provider.name} ({provider.kind}){key_note}.")
