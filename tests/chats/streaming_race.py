"""Run by test_limits in a fresh PostgreSQL database: one person sends into N chats at the same
moment, each request in its own thread, transaction and connection. The answers are never
started, so every admitted one stays streaming. Prints what happened as JSON."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from playground.accounts.actions import sign_up  # noqa: E402
from playground.chats import actions  # noqa: E402
from playground.chats.models import Chat, Message  # noqa: E402
from playground.providers.models import Provider  # noqa: E402
from playground.workspaces.access import personal_workspace  # noqa: E402


def main(racers: int) -> None:
    assert connection.vendor == "postgresql", connection.vendor
    call_command("migrate", verbosity=0)
    # Instead of starting the answer (which stays streaming), hold the transaction open a
    # moment, so the racers overlap for real.
    actions._announce = lambda chat, messages: time.sleep(0.05)
    user = sign_up(f"racer{os.getpid()}", "correct horse battery 9")
    provider = Provider.objects.get(kind="simulator")
    chats = [
        Chat.objects.create(
            workspace=personal_workspace(user),
            created_by=user,
            provider=provider,
            model="MiniMax-M1-40k",
        )
        for _ in range(racers)
    ]
    connection.close()
    start = threading.Barrier(racers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(chat: Chat) -> None:
        try:
            start.wait()
            actions.start_reply(chat, user, "hello")
            outcome = "admitted"
        except actions.ReplyRefused:
            outcome = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(chat,)) for chat in chats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    streaming = Message.objects.filter(status=Message.Status.STREAMING).count()
    print(
        json.dumps(
            {
                "admitted": outcomes.count("admitted"),
                "refused": outcomes.count("refused"),
                "streaming": streaming,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
