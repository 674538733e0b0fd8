"""How long a ~1M-token request takes to assemble and be on its way (issue 4).

    .venv/bin/python bench/request_bench.py [--tokens 950000] [--documents 3]

A chat with documents totalling about ``--tokens`` tokens (English prose, ~4.4 characters a
token); then, timed separately:
- the context meter of the next request (what every page view and keystroke computes);
- the send: the HTTP view that checks the request fits and saves the messages;
- from the send to the provider holding the whole request: the generation loads the
  documents, builds the request, the openai SDK serializes it and the simulator parses it.
Runs in a fresh SQLite database in a temporary directory (the embedded mode). Prints the
figures; the table goes into bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PLAYGROUND_VAR_DIR"] = tempfile.mkdtemp(prefix="request-bench-")
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from playground.accounts.actions import sign_up  # noqa: E402
from playground.chats.models import Chat, Message  # noqa: E402
from playground.chats.prompt import report  # noqa: E402
from playground.documents.models import Attachment, Document, DocumentText  # noqa: E402
from playground.llm import simulator  # noqa: E402
from playground.llm.tokens import estimate_tokens  # noqa: E402
from playground.providers.models import Provider  # noqa: E402
from playground.streaming import runner  # noqa: E402
from playground.workspaces.access import personal_workspace  # noqa: E402

SENTENCES = [
    "The committee reviewed the quarterly figures and asked for a clearer breakdown.",
    "Each section of the report ends with the questions it leaves open.",
    "Shipping the change early let the team measure its effect on real traffic.",
    "A careful reader will notice that the totals in the appendix agree with the summary.",
]


def corpus(tokens: int, seed: int) -> str:
    lines, size = [], 0
    target = int(tokens * 4.4)
    i = seed
    while size < target:
        line = f"{i}. {SENTENCES[i % len(SENTENCES)]}"
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=950_000)
    parser.add_argument("--documents", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    user = sign_up("bench", "correct horse battery 9")
    provider = Provider.objects.get(kind="simulator")
    provider.simulator_tokens_per_second = 0
    provider.save()
    chat = Chat.objects.create(
        workspace=personal_workspace(user),
        created_by=user,
        provider=provider,
        model="MiniMax-M1-80k",
        params={"max_tokens": 2_000},
    )
    per_document = args.tokens // args.documents
    total_chars = total_tokens = 0
    for n in range(args.documents):
        text = corpus(per_document, n * 1_000_000)
        tokens = estimate_tokens(text)
        total_chars, total_tokens = total_chars + len(text), total_tokens + tokens
        document = Document.objects.create(
            workspace=chat.workspace,
            name=f"report-{n + 1}.txt",
            sha256=f"{n:064d}",
            size=len(text),
            file="unused",
            status=Document.Status.READY,
            kind="text",
            chars=len(text),
            tokens=tokens,
        )
        DocumentText.objects.create(document=document, text=text)
        Attachment.objects.create(chat=chat, document=document)
    print(
        f"{args.documents} documents: {total_chars / 1e6:.1f} M characters, "
        f"~{total_tokens:,} tokens"
    )

    received = threading.Event()
    arrived_at: list[float] = []
    original = simulator.handle_chat_completion

    def timed(body, headers):
        arrived_at.append(time.perf_counter())
        received.set()
        return original(body, headers)

    simulator.handle_chat_completion = timed
    client = Client()
    client.force_login(user)

    meter_ms, send_ms, on_its_way_ms = [], [], []
    for run in range(args.runs):
        started = time.perf_counter()
        meter = report(chat, draft="What do the reports agree on?")
        meter_ms.append((time.perf_counter() - started) * 1000)
        received.clear()
        started = time.perf_counter()
        response = client.post(
            f"/chat/{chat.pk}/send", {"text": f"#answer:5 #think:5 run {run}: agree?"}
        )
        sent = time.perf_counter()
        assert response.status_code == 302, response.content[:500]
        assert received.wait(60), "the provider never got the request"
        send_ms.append((sent - started) * 1000)
        on_its_way_ms.append((arrived_at[-1] - started) * 1000)
        runner.wait_idle(120)
        answer = Message.objects.filter(role="assistant").latest("created_at")
        assert answer.status == "complete", (answer.status, answer.error_message)
    print(f"input of the last request: ~{meter.input_tokens:,} tokens (meter)")
    for label, values in (
        ("context meter (each page view, each keystroke)", meter_ms),
        ("send view (checks the fit, saves the messages)", send_ms),
        ("send to the provider holding the whole request", on_its_way_ms),
    ):
        print(f"{label:52} median {statistics.median(values):7.0f} ms   max {max(values):7.0f} ms")


if __name__ == "__main__":
    main()
