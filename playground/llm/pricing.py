"""Prices and the cost of a request (design §5). No Django here.

A price table is a list of tiers chosen by the request's input length; the tier a request
falls in prices the whole request, input and output. Money is Decimal dollars, never float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: int | None  # the largest input (tokens) this tier prices; None: no upper bound
    input_per_million: Decimal
    output_per_million: Decimal


@dataclass(frozen=True, slots=True)
class PriceTable:
    tiers: tuple[Tier, ...]  # by up_to, the unbounded tier last

    def tier_for(self, input_tokens: int) -> Tier:
        for tier in self.tiers:
            if tier.up_to is None or input_tokens <= tier.up_to:
                return tier
        return self.tiers[-1]

    def boundaries(self) -> list[int]:
        """Input lengths where the price changes (200,000 for MiniMax-M1)."""
        return [tier.up_to for tier in self.tiers if tier.up_to is not None]


@dataclass(frozen=True, slots=True)
class Cost:
    input: Decimal
    output: Decimal
    tier: Tier

    @property
    def total(self) -> Decimal:
        return self.input + self.output


def cost(table: PriceTable, input_tokens: int, output_tokens: int) -> Cost:
    tier = table.tier_for(input_tokens)
    return Cost(
        input=tier.input_per_million * input_tokens / MILLION,
        output=tier.output_per_million * output_tokens / MILLION,
        tier=tier,
    )


# MiniMax's price for M1: $0.40 / $2.20 per million tokens up to 200k input, $1.30 / $2.20
# above (design §5).
MINIMAX_M1 = PriceTable(
    tiers=(
        Tier(up_to=200_000, input_per_million=Decimal("0.40"), output_per_million=Decimal("2.20")),
        Tier(up_to=None, input_per_million=Decimal("1.30"), output_per_million=Decimal("2.20")),
    )
)

DEFAULT_PRICES: dict[str, PriceTable] = {
    "MiniMax-M1-40k": MINIMAX_M1,
    "MiniMax-M1-80k": MINIMAX_M1,
}


def price_table(model: str) -> PriceTable | None:
    """The default price of a model id the app knows; None for one it does not."""
    return DEFAULT_PRICES.get(model)


def dollars(amount: Decimal) -> str:
    """$0.0042, $1.37: cents for sums over a dollar, four significant places below."""
    if amount >= 1:
        return f"${amount:,.2f}"
    if amount == 0:
        return "$0.00"
    return f"${amount:.4f}" if amount >= Decimal("0.0001") else "<$0.0001"
