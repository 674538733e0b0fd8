"""The chat settings form: sampling, system prompt and thinking budget (playground.llm.params)."""

from __future__ import annotations

from django import forms

from playground.llm.client import ProviderKind
from playground.llm.params import (
    MAX_STOP_LENGTH,
    MAX_STOP_SEQUENCES,
    MAX_SYSTEM_PROMPT_CHARS,
    Params,
    ParamsError,
    output_limit,
    validate,
)
from playground.providers.models import Provider, kind_of

from .compare import ColumnConfig

STOP_FIELDS = [f"stop_{n}" for n in range(1, MAX_STOP_SEQUENCES + 1)]


def _number(step: str, **attrs: str) -> forms.NumberInput:
    return forms.NumberInput(attrs={"step": step, "inputmode": "decimal", **attrs})


class ParamsForm(forms.Form):
    system_prompt = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_SYSTEM_PROMPT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    temperature = forms.FloatField(widget=_number("0.05"))
    top_p = forms.FloatField(label="Top p", widget=_number("0.01"))
    max_tokens = forms.IntegerField(
        label="Max output tokens", required=False, widget=_number("1", placeholder="Model limit")
    )
    thinking_budget = forms.IntegerField(
        label="Thinking budget (tokens)",
        required=False,
        widget=_number("500", placeholder="Model default"),
        help_text="Empty: the model thinks as long as it wants, within max output tokens.",
    )
    presence_penalty = forms.FloatField(widget=_number("0.1"))
    frequency_penalty = forms.FloatField(widget=_number("0.1"))
    seed = forms.IntegerField(required=False, widget=_number("1", placeholder="Random"))

    def __init__(self, *args, kind: ProviderKind, model: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind, self.model = kind, model
        for n, name in enumerate(STOP_FIELDS, start=1):
            self.fields[name] = forms.CharField(
                label=f"Stop sequence {n}",
                required=False,
                strip=False,
                max_length=MAX_STOP_LENGTH,
            )
        limit = output_limit(model)
        self.fields["max_tokens"].widget.attrs.update(min="1", max=str(limit))
        self.fields["thinking_budget"].widget.attrs.update(min="1000", max=str(limit))

    @classmethod
    def for_params(cls, params: Params, *, kind: ProviderKind, model: str) -> ParamsForm:
        initial = params.as_dict()
        stops = initial.pop("stop")
        initial.update(dict(zip(STOP_FIELDS, stops, strict=False)))
        return cls(initial=initial, kind=kind, model=model)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        params = Params(
            system_prompt=data["system_prompt"],
            temperature=data["temperature"],
            top_p=data["top_p"],
            max_tokens=data["max_tokens"],
            presence_penalty=data["presence_penalty"],
            frequency_penalty=data["frequency_penalty"],
            seed=data["seed"],
            stop=tuple(data[name] for name in STOP_FIELDS if data[name]),
            thinking_budget=data["thinking_budget"],
        )
        try:
            self.params = validate(params, self.kind, self.model)
        except ParamsError as exc:
            for field, message in exc.errors.items():
                self.add_error("stop_1" if field == "stop" else field, message)
        return data


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
