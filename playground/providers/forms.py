from __future__ import annotations

import re
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError

from playground.llm.client import ProviderKind
from playground.llm.pricing import MAX_TIERS, PriceError, validate_tiers

from . import hosts
from .models import Provider

MODEL_ID = re.compile(r"^[\w.:/@+-]{1,100}$")
DEFAULT_BASE_URLS = {
    ProviderKind.MINIMAX: "https://api.minimax.io/v1",
    ProviderKind.OPENROUTER: "https://openrouter.ai/api/v1",
}


def validate_base_url(url: str) -> str:
    """An endpoint the instance's keys may be sent to (design §6)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ValidationError(
            "Enter a valid http(s) URL such as https://api.minimax.io/v1."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter a valid http(s) URL such as https://api.minimax.io/v1.")
    if parts.username or parts.password:
        raise ValidationError("Put credentials in the API key field, not in the URL.")
    if parts.query or parts.fragment:
        raise ValidationError("The base URL cannot have a query string or fragment.")
    hosts.validate_host(parts.hostname.lower())
    return url.rstrip("/")


def parse_model_ids(raw: str) -> list[str]:
    ids = [part.strip() for part in re.split(r"[\s,]+", raw or "") if part.strip()]
    if not ids:
        raise ValidationError("List at least one model id, for example MiniMax-M1-80k.")
    for model_id in ids:
        if not MODEL_ID.match(model_id):
            raise ValidationError(f"“{model_id[:40]}” is not a valid model id.")
    return list(dict.fromkeys(ids))[:20]


class ProviderForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted, never shown again.",
    )
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored key")
    # A plain field: validate_base_url is the one rule for what a key may be sent to.
    base_url = forms.CharField(required=False, max_length=300, label="Base URL")
    model_ids_text = forms.CharField(
        required=False,
        label="Model ids",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line or separated by commas, e.g. MiniMax-M1-40k, MiniMax-M1-80k.",
    )

    class Meta:
        model = Provider
        fields = [
            "name",
            "kind",
            "base_url",
            "thinking_format",
            "supports_prefill",
            "simulator_tokens_per_second",
            "is_default",
            "enabled",
            "is_free",
        ]
        labels = {
            "thinking_format": "Where thinking arrives",
            "supports_prefill": "Can continue an assistant prefill",
            "simulator_tokens_per_second": "Simulator speed (tokens/s, 0 = as fast as possible)",
            "is_default": "Default provider for new chats",
            "is_free": "Free (no cost): answers are not charged and budgets do not limit them",
        }

    field_order = [
        "name",
        "kind",
        "base_url",
        "api_key",
        "clear_api_key",
        "model_ids_text",
        "thinking_format",
        "supports_prefill",
        "simulator_tokens_per_second",
        "is_default",
        "enabled",
        "is_free",
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["model_ids_text"] = "\n".join(self.instance.model_ids)
        # Offer only the fields that apply: a key can be kept or removed once one is stored,
        # and only the simulator has a speed.
        if self.instance.has_api_key:
            self.fields["api_key"].help_text += " Leave blank to keep the key."
        else:
            del self.fields["clear_api_key"]
        if self._kind() != ProviderKind.SIMULATOR:
            del self.fields["simulator_tokens_per_second"]

    def _kind(self) -> str:
        """The kind being saved, else the stored one; "" on a blank new-provider form."""
        if self.is_bound:
            return self.data.get(self.add_prefix("kind"), "")
        return self.instance.kind

    def clean_model_ids_text(self) -> list[str]:
        return parse_model_ids(self.cleaned_data.get("model_ids_text", ""))

    def clean_simulator_tokens_per_second(self) -> float | None:
        value = self.cleaned_data.get("simulator_tokens_per_second")
        if value is not None and not 0 <= value <= 100_000:
            raise ValidationError("Choose a speed from 0 to 100,000 tokens per second.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("kind")
        base_url = data.get("base_url") or DEFAULT_BASE_URLS.get(kind, "")
        if kind == ProviderKind.SIMULATOR:
            data["base_url"] = ""
        elif not base_url:
            self.add_error("base_url", "This kind of provider needs a base URL.")
        else:
            try:
                data["base_url"] = validate_base_url(base_url)
            except ValidationError as error:
                self.add_error("base_url", error)
        moved = self.instance.pk and data.get("base_url") != self.instance.base_url
        if (
            moved
            and self.instance.has_api_key
            and not data.get("api_key")
            and not data.get("clear_api_key")
        ):
            # Otherwise an edit could send the stored key to a host of the editor's choosing.
            self.add_error("api_key", "The base URL changed: enter the API key again.")
        return data

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)
        provider.model_ids = self.cleaned_data["model_ids_text"]
        if self.cleaned_data.get("clear_api_key"):
            provider.set_api_key("")
        elif self.cleaned_data.get("api_key"):
            provider.set_api_key(self.cleaned_data["api_key"])
        if commit:
            save_provider(provider)
        return provider


def save_provider(provider: Provider) -> None:
    """Save, keeping exactly one default provider."""
    from django.db import transaction

    with transaction.atomic():
        provider.save()
        if provider.is_default:
            Provider.objects.exclude(pk=provider.pk).update(is_default=False)


TIER_ROWS = range(1, MAX_TIERS + 1)
TIER_FIELDS = ("up_to", "input", "cached_input", "output")


class PriceForm(forms.Form):
    """A price table for one of a provider's models, from a moment on: up to four tiers by the
    request's input length, each with input, cached-input and output prices per million."""

    model = forms.ChoiceField()
    effective_from = forms.DateTimeField(
        label="Applies from",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Usage before then keeps the price it was charged.",
    )

    def __init__(self, *args, provider: Provider, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(m, m) for m in provider.model_ids or []]
        for n in TIER_ROWS:
            self.fields[f"tier{n}_up_to"] = forms.IntegerField(
                required=False, min_value=1, label=f"Tier {n}: input up to (tokens)"
            )
            for name, label in (
                ("input", "input"),
                ("cached_input", "cached input"),
                ("output", "output"),
            ):
                self.fields[f"tier{n}_{name}"] = forms.CharField(
                    required=False,
                    max_length=20,
                    label=f"Tier {n}: {label} $ per 1M",
                    widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                )

    def tier_rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"tier{n}_{name}"] for name in TIER_FIELDS] for n in TIER_ROWS]

    def clean(self) -> dict:
        data = super().clean()
        # The tier table shows no errors by its fields: say them above it, with the field's
        # name, rather than the missing price they leave.
        unusable = [
            f"{self.fields[name].label}: {error}"
            for name, errors in self.errors.items()
            if name.startswith("tier")
            for error in errors
        ]
        if unusable:
            raise forms.ValidationError(unusable)
        rows = []
        for n in TIER_ROWS:
            row = {name: data.get(f"tier{n}_{name}") for name in TIER_FIELDS}
            if any(value not in (None, "") for value in row.values()):
                rows.append(row)
        try:
            self.table = validate_tiers(rows)
        except PriceError as error:
            raise forms.ValidationError(str(error)) from None
        return data
