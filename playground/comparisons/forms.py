"""The set-up form of a comparison: one card per column, a model and its settings."""

from __future__ import annotations

from django import forms

from playground.chats.forms import ParamsForm
from playground.llm.params import Params
from playground.providers.models import Provider, kind_of

from .actions import ColumnConfig


def model_choice(provider: Provider, model: str) -> str:
    """The "provider_id:model" value of a model picker."""
    return f"{provider.pk}:{model}"


class ColumnForm(ParamsForm):
    """One column of a comparison: a model, and the settings its request is made with. The
    model picked decides which settings are valid (design §4), as in a chat's settings."""

    included = True  # columns 3 and 4 take part only once added on the set-up page

    def __init__(
        self,
        data=None,
        *,
        number: int,
        providers: list[Provider],
        choice: str = "",
        params: Params | None = None,
    ) -> None:
        prefix = f"c{number}"
        if data is not None:
            choice = data.get(f"{prefix}-model", "")
        self.provider, model = self._resolve(choice, providers)
        initial = None
        if data is None:
            initial = ParamsForm.for_params(
                params or Params(), kind=kind_of(self.provider), model=model
            ).initial
            initial["model"] = choice
        super().__init__(
            data, initial=initial, prefix=prefix, kind=kind_of(self.provider), model=model
        )
        self.number = number
        # Shorter words for a narrow card; what an empty field means is in its placeholder.
        self.fields["thinking_budget"].label = "Thinking budget"
        self.fields["thinking_budget"].help_text = ""
        self.fields["max_tokens"].label = "Max tokens"
        self.fields["model"] = forms.ChoiceField(
            label="Model",
            choices=[
                (model_choice(p, m), f"{m} · {p.name}") for p in providers for m in p.model_ids
            ],
        )
        self.order_fields(["model"])

    @staticmethod
    def _resolve(choice: str, providers: list[Provider]) -> tuple[Provider | None, str]:
        provider_id, _, model = (choice or "").partition(":")
        for provider in providers:
            if str(provider.pk) == provider_id and model in (provider.model_ids or []):
                return provider, model
        return None, model

    def column(self) -> ColumnConfig:
        """The valid column (call after is_valid())."""
        return ColumnConfig(provider=self.provider, model=self.model, params=self.params)
