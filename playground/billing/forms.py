"""The budgets form: a monthly cap for the workspace and for each member, in dollars."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from playground.llm.pricing import AmountError, amount_error, parse_amount

MAX_CAP = Decimal(1_000_000)


class DollarsField(forms.CharField):
    """An amount of dollars as typed ("$1,250.50" too); empty: none."""

    def __init__(self, *, maximum: Decimal, unit: str, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)
        self.maximum, self.unit = maximum, unit

    def to_python(self, value) -> Decimal | None:
        raw = (super().to_python(value) or "").strip().lstrip("$").replace(",", "")
        if not raw:
            return None
        try:
            return parse_amount(raw, self.maximum)
        except AmountError as problem:
            raise forms.ValidationError(
                amount_error(problem, str(self.label), self.maximum, self.unit)
            ) from None


class BudgetsForm(forms.Form):
    """One cap field for the workspace (``workspace_cap``) and one for each member
    (``member_<user id>_cap``)."""

    def __init__(self, *args, members: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.members = members
        self.fields["workspace_cap"] = self._cap_field("The workspace")
        for member in members:
            self.fields[self.field_name(member)] = self._cap_field(member.username)

    @staticmethod
    def field_name(member) -> str:
        return f"member_{member.pk}_cap"

    @staticmethod
    def _cap_field(who: str) -> DollarsField:
        return DollarsField(
            label=who,
            maximum=MAX_CAP,
            unit=" a month",
            widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "no cap"}),
        )

    def caps(self) -> list[tuple[object, Decimal | None]]:
        """(member or None for the workspace, cap or None) for every field (once valid)."""
        data = self.cleaned_data
        return [(None, data["workspace_cap"])] + [
            (member, data[self.field_name(member)]) for member in self.members
        ]
