"""Usage over a date range: totals, by day, by model, by chat and by member, each one grouped
query over the daily rollup (UsageDay: thousands of rows for a year of heavy use, indexed by
workspace and by person with the day). The CSV export lists the records themselves."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from playground.llm.pricing import dollars, from_micros

from .models import UsageRecord

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 2
TOP_ROWS = 50

SUMS = {
    "cost": Coalesce(Sum("cost_micros"), 0),
    "prompt": Coalesce(Sum("prompt_tokens"), 0),
    "cached": Coalesce(Sum("cached_tokens"), 0),
    "completion": Coalesce(Sum("completion_tokens"), 0),
    "answers": Coalesce(Sum("answers"), 0),
}


class RangeError(ValueError):
    pass


def date_range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The range asked for (inclusive days, UTC); the last 30 days by default."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise RangeError("Dates are written YYYY-MM-DD.") from None
    if first > last:
        raise RangeError("The range starts after it ends.")
    if (last - first).days >= MAX_DAYS:
        raise RangeError(f"A range is at most {MAX_DAYS} days.")
    return first, last


def days_in_range(days: QuerySet, first: date, last: date) -> QuerySet:
    return days.filter(day__gte=first, day__lte=last)


def in_range(records: QuerySet, first: date, last: date) -> QuerySet:
    start = datetime.combine(first, time.min, tzinfo=UTC)
    stop = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    return records.filter(created_at__gte=start, created_at__lt=stop)


@dataclass
class Row:
    label: str
    cost_micros: int
    prompt: int
    cached: int
    completion: int
    answers: int
    key: object = None

    @property
    def cost(self) -> str:
        return dollars(from_micros(self.cost_micros))


def _rows(days: QuerySet, field: str, labels=None) -> list[Row]:
    """The top rows by spend, grouped by ``field``; ``labels`` names their keys."""
    grouped = list(days.values(field).annotate(**SUMS).order_by("-cost", field)[:TOP_ROWS])
    names = labels([g[field] for g in grouped]) if labels else {}
    return [
        Row(
            label=str(names.get(g[field], g[field]) if labels else g[field]),
            key=g[field],
            cost_micros=g["cost"],
            prompt=g["prompt"],
            cached=g["cached"],
            completion=g["completion"],
            answers=g["answers"],
        )
        for g in grouped
    ]


@dataclass
class Report:
    first: date
    last: date
    total: Row
    days: list[Row]
    models: list[Row]
    chats: list[Row]
    members: list[Row]

    def chart(self) -> list[dict]:
        """Bars of spend a day for an SVG 1,000 wide and 120 high (no inline styles: CSP)."""
        count = (self.last - self.first).days + 1
        by_day = {row.key: row for row in self.days}
        peak = max((row.cost_micros for row in self.days), default=0) or 1
        width = 1000 / count
        bars = []
        for n in range(count):
            day = self.first + timedelta(days=n)
            row = by_day.get(day)
            spent = row.cost_micros if row else 0
            height = round(110 * spent / peak, 2)
            bars.append(
                {
                    "x": round(n * width, 2),
                    "width": round(max(width - 1, 0.5), 2),
                    "y": round(120 - height, 2),
                    "height": height,
                    "title": f"{day:%Y-%m-%d}: {dollars(from_micros(spent))}",
                }
            )
        return bars


def _chat_titles(ids: list) -> dict:
    # The chat model through the records' relation: billing sits below chats and does not
    # import it (pyproject's import-linter contracts).
    chats = UsageRecord._meta.get_field("chat").related_model
    titles = dict(chats.objects.filter(pk__in=ids).values_list("pk", "title"))
    return {key: titles.get(key, "(deleted chat)") for key in ids}


def _usernames(ids: list) -> dict:
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    return {key: names.get(key, "(removed account)") for key in ids}


def report(usage_days: QuerySet, first: date, last: date, members: bool = False) -> Report:
    records = days_in_range(usage_days, first, last)
    total = records.aggregate(**SUMS)
    days = records.values("day").annotate(**SUMS)
    return Report(
        first=first,
        last=last,
        total=Row(
            label="Total",
            cost_micros=total["cost"],
            prompt=total["prompt"],
            cached=total["cached"],
            completion=total["completion"],
            answers=total["answers"],
        ),
        days=[
            Row(
                label=f"{d['day']:%Y-%m-%d}",
                key=d["day"],
                cost_micros=d["cost"],
                prompt=d["prompt"],
                cached=d["cached"],
                completion=d["completion"],
                answers=d["answers"],
            )
            for d in days.order_by("day")
        ],
        models=_rows(records, "model"),
        chats=_rows(records, "chat_id", _chat_titles),
        members=_rows(records, "user_id", _usernames) if members else [],
    )


CSV_COLUMNS = [
    "time_utc",
    "person",
    "chat",
    "provider",
    "model",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "thinking_tokens",
    "tier",
    "cost_usd",
    "estimated",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(records: QuerySet, first: date, last: date) -> Iterator[str]:
    """The records of the range as CSV, streamed a row at a time. Cells that a spreadsheet
    would run as a formula (chat titles are user text) are quoted with a leading '."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    rows = (
        in_range(records, first, last)
        .order_by("created_at", "pk")
        .values_list(
            "created_at",
            "user__username",
            "chat__title",
            "provider_name",
            "model",
            "prompt_tokens",
            "cached_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "tier",
            "cost_micros",
            "estimated",
        )
    )
    for created, person, chat, provider, model, *counts, tier, cost, estimated in rows.iterator(
        chunk_size=5000
    ):
        yield writer.writerow(
            [
                created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                _cell(person or ""),
                _cell(chat or ""),
                _cell(provider),
                _cell(model),
                *counts,
                tier,
                "" if cost is None else f"{from_micros(cost):.6f}",
                "yes" if estimated else "no",
            ]
        )


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
