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

STOP_FIELDS = [f"stop_{n}" for n in range(1, MAX_STOP_SEQUENCES + 1)]
PRESET_NAME_LENGTH = 80


class OneLineField(forms.CharField):
    """A name on one line: runs of spaces and line breaks become one space. Null characters
    (which PostgreSQL cannot store) are refused by CharField's validator."""

    def to_python(self, value) -> str:
        return " ".join(super().to_python(value).split())


class RenameForm(forms.Form):
    title = OneLineField(
        max_length=200,
        error_messages={
            "required": "A title cannot be empty.",
            "null_characters_not_allowed": "A title cannot contain null characters.",
        },
    )


class PresetForm(forms.Form):
    name = OneLineField(
        max_length=PRESET_NAME_LENGTH,
        error_messages={
            "required": "Give the preset a name.",
            "max_length": "A preset name is at most %(limit_value)d characters.",
            "null_characters_not_allowed": "A preset name cannot contain null characters.",
        },
    )
    make_default = forms.BooleanField(required=False)


def first_error(form: forms.Form) -> str:
    """The first error of an invalid form, to say in a flash message."""
    return next(iter(form.errors.values()))[0]


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
