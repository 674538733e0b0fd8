"""Prices and the cost of a request (design §5). No Django here.

A price table is a list of tiers chosen by the request's input length; the tier a request
falls in prices the whole request, input and output. Money is Decimal dollars, never float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MILLION = Decimal(1_000_000)
MAX_TIERS = 4
MAX_PRICE_PER_MILLION = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: int | None  # the largest input (tokens) this tier prices; None: no upper bound
    input_per_million: Decimal
    output_per_million: Decimal
    cached_input_per_million: Decimal | None = None  # None: cached input costs as input

    def as_json(self) -> dict:
        cached = self.cached_input_per_million
        return {
            "up_to": self.up_to,
            "input": str(self.input_per_million),
            "cached_input": None if cached is None else str(cached),
            "output": str(self.output_per_million),
        }


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

    def as_json(self) -> list[dict]:
        return [tier.as_json() for tier in self.tiers]

    @classmethod
    def from_json(cls, tiers: list[dict]) -> PriceTable:
        """A table as stored (prices as decimal strings); ``validate_tiers`` checked it."""
        return cls(
            tiers=tuple(
                Tier(
                    up_to=t.get("up_to"),
                    input_per_million=Decimal(t["input"]),
                    output_per_million=Decimal(t["output"]),
                    cached_input_per_million=(
                        None if t.get("cached_input") in (None, "") else Decimal(t["cached_input"])
                    ),
                )
                for t in tiers
            )
        )


class PriceError(ValueError):
    """A price table that cannot be used; the message says why."""


class AmountError(ValueError):
    """Why a typed amount of dollars is not one: "not_a_number", "negative", "too_large"."""


def parse_amount(text, maximum: Decimal) -> Decimal:
    """An amount of dollars as typed: a finite number from 0 to ``maximum``. Callers say
    what is wrong in their own words (a price, a budget)."""
    try:
        amount = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise AmountError("not_a_number") from None
    if not amount.is_finite() or amount < 0:
        raise AmountError("negative")
    if amount > maximum:
        raise AmountError("too_large")
    return amount


def amount_error(problem: AmountError, what: str, maximum: Decimal, unit: str) -> str:
    """The one wording of a typed amount that is not one (a price, a budget); ``unit`` says
    what the amount is counted in, such as " per million tokens" or " a month"."""
    return {
        "not_a_number": f"{what} must be a number of dollars{unit}: write an amount such as 12.50.",
        "negative": f"{what} cannot be negative.",
        "too_large": f"{what} is over ${maximum:,}{unit}.",
    }[str(problem)]


def _price(value, what: str) -> Decimal:
    try:
        return parse_amount(value, MAX_PRICE_PER_MILLION)
    except AmountError as problem:
        raise PriceError(
            amount_error(problem, what, MAX_PRICE_PER_MILLION, " per million tokens")
        ) from None


def validate_tiers(rows: list[dict]) -> PriceTable:
    """Tiers as entered (up_to, input, cached_input, output): increasing bounds, the last one
    open, every price present and not negative."""
    if not rows:
        raise PriceError("A price needs at least one tier.")
    if len(rows) > MAX_TIERS:
        raise PriceError(f"At most {MAX_TIERS} tiers.")
    tiers, previous = [], 0
    for number, row in enumerate(rows, start=1):
        last = number == len(rows)
        raw_bound = row.get("up_to")
        if last:
            if raw_bound not in (None, ""):
                raise PriceError("The last tier has no upper bound: it prices every longer input.")
            up_to = None
        else:
            try:
                up_to = int(raw_bound)
            except (TypeError, ValueError):
                raise PriceError(f"Tier {number} needs the input length it goes up to.") from None
            if up_to <= previous:
                raise PriceError(f"Tier {number} must go up to more than {previous:,} tokens.")
            previous = up_to
        for key, what in (("input", "input"), ("output", "output")):
            if row.get(key) in (None, ""):
                raise PriceError(f"Tier {number} needs an {what} price.")
        cached = row.get("cached_input")
        tiers.append(
            Tier(
                up_to=up_to,
                input_per_million=_price(row["input"], f"Tier {number}'s input price"),
                output_per_million=_price(row["output"], f"Tier {number}'s output price"),
                cached_input_per_million=(
                    None
                    if cached in (None, "")
                    else _price(cached, f"Tier {number}'s cached-input price")
                ),
            )
        )
    return PriceTable(tiers=tuple(tiers))


@dataclass(frozen=True, slots=True)
class Cost:
    input: Decimal
    output: Decimal
    tier: Tier

    @property
    def total(self) -> Decimal:
        return self.input + self.output


def cost(table: PriceTable, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Cost:
    """The whole request at the tier its input falls in (cached input included in
    ``input_tokens``, priced at the cached price where the tier has one)."""
    tier = table.tier_for(input_tokens)
    cached = min(max(cached_tokens, 0), input_tokens)
    cached_price = (
        tier.input_per_million
        if tier.cached_input_per_million is None
        else tier.cached_input_per_million
    )
    return Cost(
        input=(tier.input_per_million * (input_tokens - cached) + cached_price * cached) / MILLION,
        output=tier.output_per_million * output_tokens / MILLION,
        tier=tier,
    )


def micros(amount: Decimal) -> int:
    """Dollars as whole micro-dollars, the unit money is stored in."""
    return int((amount * MILLION).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_micros(value: int) -> Decimal:
    return Decimal(value) / MILLION


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
    """The published price of a model id the app knows (MiniMax-M1 under any provider's name
    for it, e.g. MiniMaxAI/MiniMax-M1-80k); None for one it does not."""
    if model in DEFAULT_PRICES:
        return DEFAULT_PRICES[model]
    return MINIMAX_M1 if "minimax-m1" in model.lower() else None


def dollars(amount: Decimal) -> str:
    """$0.0042, $1.37: cents for sums over a dollar, four significant places below."""
    if amount >= 1:
        return f"${amount:,.2f}"
    if amount == 0:
        return "$0.00"
    return f"${amount:.4f}" if amount >= Decimal("0.0001") else "<$0.0001"
