from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from playground.llm.pricing import PriceTable, Tier, cost, from_micros, micros, price_table


class PriceQuerySet(models.QuerySet):
    def in_force(self, provider, model: str, at: datetime | None = None) -> Price | None:
        """The admin's price for ``model`` of ``provider`` in force at ``at`` (now): the
        latest that took effect before then."""
        return (
            self.filter(provider=provider, model=model, effective_from__lte=at or timezone.now())
            .order_by("-effective_from")
            .first()
        )


class Price(models.Model):
    """What one model of one provider costs, from a moment on: tiers chosen by a request's
    input length (playground.llm.pricing). A new price never changes what earlier usage was
    charged: each usage record keeps the price it was charged at."""

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, related_name="prices"
    )
    model = models.CharField(max_length=100)
    effective_from = models.DateTimeField(default=timezone.now)
    tiers = models.JSONField()  # PriceTable.as_json(): dollars per million tokens, as strings
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PriceQuerySet.as_manager()

    class Meta:
        ordering = ["provider", "model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model", "effective_from"], name="one_price_per_moment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d}"

    @property
    def table(self) -> PriceTable:
        return PriceTable.from_json(self.tiers)


# What a provider the instance admin marked free charges for any model.
FREE = PriceTable(
    tiers=(Tier(up_to=None, input_per_million=Decimal(0), output_per_million=Decimal(0)),)
)


def listed_price(
    provider, model: str, at: datetime | None = None
) -> tuple[PriceTable | None, Price | None]:
    """The price listed for ``model`` of ``provider`` at ``at`` (now): the admin's latest from
    before then, else the published price of a model the app knows, else none."""
    if provider is not None:
        price = Price.objects.in_force(provider, model, at)
        if price is not None:
            return price.table, price
    return price_table(model), None


def price_for(
    provider, model: str, at: datetime | None = None
) -> tuple[PriceTable | None, Price | None]:
    """The price an answer is charged and budgeted at: nothing for a free provider, else the
    listed price (none when the model has no price)."""
    if provider is not None and provider.is_free:
        return FREE, None
    return listed_price(provider, model, at)


class UsageRecord(models.Model):
    """What one generation used: exactly one record per assistant message. It outlives the
    message: deleting a chat does not erase what it cost."""

    message = models.OneToOneField(
        "chats.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="usage_record",
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="usage_records"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="usage_records"
    )
    # The chat it was spent in (kept here so usage by chat needs no join over messages).
    chat = models.ForeignKey(
        "chats.Chat", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    provider_name = models.CharField(max_length=80)
    model = models.CharField(max_length=100)
    prompt_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    # True when the provider did not report usage (aborted stream) and the app estimated it.
    estimated = models.BooleanField(default=False)
    # What it cost, in micro-dollars, at the price in force when it was asked; null cost: the
    # model has no price.
    price = models.ForeignKey(Price, on_delete=models.PROTECT, null=True, blank=True)
    tier = models.CharField(max_length=40, blank=True)  # "input up to 200k", "input over 200k"
    input_cost_micros = models.BigIntegerField(null=True, blank=True)
    output_cost_micros = models.BigIntegerField(null=True, blank=True)
    cost_micros = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "created_at"]),
            models.Index(fields=["user", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.prompt_tokens} in, {self.completion_tokens} out"

    def save(self, *args, **kwargs) -> None:
        """A new record is added to its day's rollup in the same transaction."""
        adding = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            if adding:
                UsageDay.add(self)

    @property
    def cost(self) -> Decimal | None:
        return None if self.cost_micros is None else from_micros(self.cost_micros)

    @property
    def input_cost(self) -> Decimal | None:
        return None if self.input_cost_micros is None else from_micros(self.input_cost_micros)

    @property
    def output_cost(self) -> Decimal | None:
        return None if self.output_cost_micros is None else from_micros(self.output_cost_micros)


def _short(tokens: int) -> str:
    return f"{tokens // 1000:,}k" if tokens % 1000 == 0 else f"{tokens:,}"


def tier_label(table: PriceTable, tier) -> str:
    """The tier in words: "input up to 200k", "input over 200k", or "" for a one-tier price."""
    bounds = table.boundaries()
    if not bounds:
        return ""
    if tier.up_to is not None:
        return f"input up to {_short(tier.up_to)}"
    return f"input over {_short(bounds[-1])}"


def charge(provider, model: str, at: datetime, prompt: int, cached: int, completion: int) -> dict:
    """The cost fields of a usage record: the request at the tier its input fell in, at the
    price in force when it was asked. Empty costs when the model has no price."""
    table, price = price_for(provider, model, at)
    if table is None:
        return {}
    result = cost(table, prompt, completion, cached)
    input_micros, output_micros = micros(result.input), micros(result.output)
    return {
        "price": price,
        "tier": tier_label(table, result.tier),
        "input_cost_micros": input_micros,
        "output_cost_micros": output_micros,
        "cost_micros": input_micros + output_micros,
    }


NO_CHAT = uuid.UUID(int=0)  # the rollup key of usage whose chat is gone


class UsageDay(models.Model):
    """Usage summed by workspace, person, chat, model and day (UTC): what the usage pages read,
    so a year of heavy use is thousands of rows, not a million. Kept by UsageRecord.save.
    Keys are plain values, not foreign keys, so the sums outlive deleted chats and people."""

    workspace_id = models.BigIntegerField()
    user_id = models.BigIntegerField(default=0)  # 0: nobody
    chat_id = models.UUIDField(default=NO_CHAT)
    model = models.CharField(max_length=100)
    day = models.DateField()
    answers = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace_id", "user_id", "chat_id", "model", "day"],
                name="one_usage_row_per_key_and_day",
            )
        ]
        indexes = [
            models.Index(fields=["workspace_id", "day"]),
            models.Index(fields=["user_id", "day"]),
        ]

    def __str__(self) -> str:
        return f"usage of {self.day}"

    @classmethod
    def add(cls, record: UsageRecord) -> None:
        keys = {
            "workspace_id": record.workspace_id,
            "user_id": record.user_id or 0,
            "chat_id": record.chat_id or NO_CHAT,
            "model": record.model,
            "day": record.created_at.astimezone(UTC).date(),
        }
        sums = {
            "answers": 1,
            "prompt_tokens": record.prompt_tokens,
            "cached_tokens": record.cached_tokens,
            "completion_tokens": record.completion_tokens,
            "cost_micros": record.cost_micros or 0,
        }
        increments = {name: F(name) + value for name, value in sums.items()}
        if cls.objects.filter(**keys).update(**increments):
            return
        try:
            with transaction.atomic():
                cls.objects.create(**keys, **sums)
        except IntegrityError:  # made by a concurrent record of the same key and day
            cls.objects.filter(**keys).update(**increments)


class Budget(models.Model):
    """A monthly cap on what a workspace spends, or one member of it spends (``user``)."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="budgets"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="budgets",
    )
    monthly_cap_micros = models.BigIntegerField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_budget_per_member"),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(user__isnull=True),
                name="one_budget_per_workspace",
            ),
            models.CheckConstraint(
                condition=models.Q(monthly_cap_micros__gte=0), name="budget_cap_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"budget of {'user ' + str(self.user_id) if self.user_id else 'workspace'}"

    @property
    def cap(self) -> Decimal:
        return from_micros(self.monthly_cap_micros)


class BudgetMonth(models.Model):
    """One month of a budget: what was spent, and what requests in flight hold. A request is
    admitted only if ``spent + reserved + its worst case`` stays within the cap, checked and
    written by one conditional UPDATE (playground.billing.budgets)."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="months")
    month = models.DateField()  # its first day (UTC)
    spent_micros = models.BigIntegerField(default=0)
    reserved_micros = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["budget", "month"], name="one_row_per_budget_month"),
            models.CheckConstraint(
                condition=models.Q(spent_micros__gte=0, reserved_micros__gte=0),
                name="budget_month_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.budget} in {self.month:%Y-%m}"


class Reservation(models.Model):
    """What an answer holds against its budgets until it ends; settled exactly once."""

    # The answer's id, not a foreign key: an answer whose chat is deleted while it is being
    # written still settles its reservation when its generation ends.
    message_id = models.BigIntegerField(unique=True)
    amount_micros = models.BigIntegerField()
    months = models.JSONField(default=list)  # ids of the BudgetMonth rows it holds
    settled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reservation for message {self.message_id}"
