"""Usage pages and the CSV export: their figures against the records, by day, model, chat
and member; ranges; access."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from playground.billing.models import UsageDay, UsageRecord
from playground.chats.models import Chat
from playground.workspaces.access import personal_workspace

pytestmark = pytest.mark.django_db


def record(user, when, model="MiniMax-M1-40k", cost=1_000, chat=None, **counts):
    return UsageRecord.objects.create(
        workspace=personal_workspace(user),
        user=user,
        chat=chat,
        provider_name="Simulator",
        model=model,
        prompt_tokens=counts.get("prompt", 100),
        cached_tokens=counts.get("cached", 0),
        completion_tokens=counts.get("completion", 10),
        cost_micros=cost,
        created_at=when,
    )


def days_up_to(day, back: int) -> dict:
    return {"from": (day - timedelta(days=back)).date().isoformat(), "to": day.date().isoformat()}


@pytest.fixture
def history(owner, outsider):
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    chat = Chat.objects.create(workspace=personal_workspace(owner), title="=HYPERLINK(evil)")
    record(owner, today, cost=2_500_000, chat=chat, prompt=300_000, cached=1_000)
    record(owner, today - timedelta(days=1), model="MiniMax-M1-80k", cost=500_000)
    record(owner, today - timedelta(days=40), cost=9_000_000)  # outside the default range
    record(outsider, today, cost=7_000_000)  # another person, another workspace
    return today


def test_the_usage_page_adds_up_the_records_in_the_range(owner_client, history):
    html = owner_client.get("/usage/").content.decode()
    assert "$3.00" in html  # 2.50 + 0.50; the 40-day-old and the other person's excluded
    assert "300,100" in html  # input tokens
    assert "MiniMax-M1-80k" in html and "$0.5000" in html
    assert "=HYPERLINK(evil)" in html  # the chat, by its title (escaped by the template)
    wide = owner_client.get("/usage/", days_up_to(history, 60)).content.decode()
    assert "$12.00" in wide


def test_bad_ranges_are_explained(owner_client, history):
    response = owner_client.get("/usage/", {"from": "2026-13-01"})
    assert response.status_code == 422 and "YYYY-MM-DD" in response.content.decode()
    response = owner_client.get("/usage/", {"from": "2026-05-02", "to": "2026-05-01"})
    assert "starts after it ends" in response.content.decode()


def test_the_csv_has_every_record_of_the_range_and_no_formulas(owner_client, history):
    response = owner_client.get("/usage/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time_utc", "person", "chat"] and len(rows) == 3
    costs = sorted(row[10] for row in rows[1:])
    assert costs == ["0.500000", "2.500000"]
    assert "'=HYPERLINK(evil)" in [row[2] for row in rows]


def test_the_workspace_page_is_for_its_admins_and_shows_members(
    owner, owner_client, outsider_client, history
):
    workspace = personal_workspace(owner)
    html = owner_client.get(f"/workspace/{workspace.pk}/usage").content.decode()
    assert "By member" in html and "owner" in html and "$3.00" in html
    assert outsider_client.get(f"/workspace/{workspace.pk}/usage").status_code == 404
    assert outsider_client.get(f"/workspace/{workspace.pk}/usage/export.csv").status_code == 404


def test_the_daily_rollup_sums_the_records_and_outlives_the_chat(owner, owner_client, history):
    days = UsageDay.objects.filter(user_id=owner.pk)
    assert days.count() == 3 and sum(d.cost_micros for d in days) == 12_000_000
    assert sum(d.answers for d in days) == UsageRecord.objects.filter(user=owner).count()
    Chat.objects.all().delete()
    html = owner_client.get("/usage/").content.decode()
    assert "(deleted chat)" in html and "$3.00" in html


def test_the_chart_has_a_bar_a_day(owner_client, history):
    html = owner_client.get("/usage/", days_up_to(history, 6)).content.decode()
    assert html.count("<rect ") == 7 and f"{history:%Y-%m-%d}: $2.50" in html
