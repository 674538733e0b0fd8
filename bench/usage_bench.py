"""The usage pages and CSV export over a year of heavy use on PostgreSQL (issue 5).

    .venv/bin/python bench/usage_bench.py [--records 1000000] [--members 20]

Makes a fresh PostgreSQL database (TEST_POSTGRES_URL's server), migrates it, and fills it
with ``--records`` usage records over the last 365 days: one workspace, ``--members``
people, 5,000 chats, two models; each chat's 200 answers fall within a day or two, as a real
chat's do. Then times, through Django's test client, each page over the whole year (median
of 5, after one warm-up): a member's usage page, the workspace's usage page (all records),
both reading the daily rollup (UsageDay), and the CSV export (first row, and all of a
member's rows), which reads the records.
Target: each page under 200 ms. Prints the figures; the table goes to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
DATABASE = f"m1usage_{secrets.token_hex(4)}"
os.environ["DATABASE_URL"] = re.sub(r"/[^/]*$", f"/{DATABASE}", ADMIN_URL)
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import psycopg  # noqa: E402


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def timed(function, runs: int = 5) -> tuple[float, float]:
    function()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20)
    args = parser.parse_args()
    admin(f'CREATE DATABASE "{DATABASE}"')
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from playground.accounts.actions import sign_up
    from playground.workspaces.models import Membership, Workspace

    call_command("migrate", verbosity=0)
    owner = sign_up("owner", "correct horse battery 9")
    workspace = Workspace.objects.create(name="Heavy users")
    Membership.objects.create(workspace=workspace, user=owner, role="owner")
    people = [owner] + [
        sign_up(f"member{n}", "correct horse battery 9") for n in range(1, args.members)
    ]
    for person in people[1:]:
        Membership.objects.create(workspace=workspace, user=person)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO chats_chat
                (id, workspace_id, title, model, params, "column", created_at, updated_at)
            SELECT gen_random_uuid(), %s, 'Chat ' || n, 'MiniMax-M1-80k', '{}', 0, now(), now()
            FROM generate_series(1, 5000) AS n
            """,
            [workspace.pk],
        )
        cursor.execute(
            """
            INSERT INTO billing_usagerecord (workspace_id, user_id, chat_id, provider_name,
                model, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens,
                estimated, tier, input_cost_micros, output_cost_micros, cost_micros, created_at)
            SELECT %s, users.ids[1 + (n / 200) %% array_length(users.ids, 1)],
                   chats.ids[1 + (n / 200) %% array_length(chats.ids, 1)], 'MiniMax',
                   CASE WHEN (n / 200) %% 3 = 0 THEN 'MiniMax-M1-40k' ELSE 'MiniMax-M1-80k' END,
                   20000 + n %% 400000, n %% 5000, 3000 + n %% 20000, 2000 + n %% 15000,
                   n %% 50 = 0, 'input up to 200k', 8000 + n %% 500000, 6600 + n %% 44000,
                   14600 + n %% 544000,
                   now() - (365.0 * n / %s) * interval '1 day'
            FROM generate_series(1, %s) AS n,
                 (SELECT array_agg(id) AS ids FROM accounts_user) AS users,
                 (SELECT array_agg(id) AS ids FROM chats_chat) AS chats
            """,
            [workspace.pk, args.records, args.records],
        )
        # The rollup UsageRecord.save keeps, built in one statement for the bulk insert.
        cursor.execute(
            """
            INSERT INTO billing_usageday (workspace_id, user_id, chat_id, model, day, answers,
                prompt_tokens, cached_tokens, completion_tokens, cost_micros)
            SELECT workspace_id, user_id, chat_id, model, (created_at AT TIME ZONE 'UTC')::date,
                   count(*), sum(prompt_tokens), sum(cached_tokens), sum(completion_tokens),
                   sum(cost_micros)
            FROM billing_usagerecord GROUP BY 1, 2, 3, 4, 5
            """
        )
        cursor.execute("SELECT count(*) FROM billing_usageday")
        rollup_rows = cursor.fetchone()[0]
        cursor.execute("ANALYZE billing_usagerecord")
        cursor.execute("ANALYZE billing_usageday")
    print(
        f"{args.records:,} usage records ({rollup_rows:,} rollup rows) made in "
        f"{time.perf_counter() - started:.1f} s"
    )

    client = Client()
    client.force_login(owner)
    year = {"from": "", "to": ""}
    from django.utils import timezone

    today = timezone.now().date()
    year = {"from": (today.replace(year=today.year - 1)).isoformat(), "to": today.isoformat()}
    member_records = owner.usage_records.count()

    def page(url):
        def get():
            response = client.get(url, year)
            assert response.status_code == 200, response.status_code

        return get

    def csv_first_row():
        response = client.get("/usage/export.csv", year)
        next(iter(response.streaming_content))
        response.close()

    def csv_all():
        response = client.get("/usage/export.csv", year)
        for _ in response.streaming_content:
            pass

    rows = [
        (f"a member's usage page ({member_records:,} records)", page("/usage/")),
        (
            f"the workspace's usage page ({args.records:,} records)",
            page(f"/workspace/{workspace.pk}/usage"),
        ),
        ("CSV export: first row", csv_first_row),
        (f"CSV export: all {member_records:,} rows of a member", csv_all),
    ]
    print("| over a year | median | max |")
    print("| --- | ---: | ---: |")
    for label, function in rows:
        median, worst = timed(function)
        print(f"| {label} | {median:,.0f} ms | {worst:,.0f} ms |")


if __name__ == "__main__":
    main()
