from __future__ import annotations

from decimal import Decimal

from django import template

from playground.llm.pricing import dollars as format_dollars

register = template.Library()


@register.filter
def dollars(amount: Decimal | None) -> str:
    """$0.0042, $1.37; empty for no amount."""
    return "" if amount is None else format_dollars(amount)
