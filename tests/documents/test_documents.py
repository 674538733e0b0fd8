"""Documents in chats: upload, read in the background, dedupe, attach and detach, the context
meter and the cost of the next request, the refusal of a request that does not fit, and the
documents going first, whole and named into the request."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from playground.chats.models import Chat, Message
from playground.chats.prompt import report, requests_for
from playground.documents.models import Attachment, Document, DocumentText
from playground.llm import simulator as simulator_module
from playground.streaming import runner, sweeper
from tests.chats.helpers import new_chat

pytestmark = pytest.mark.django_db(transaction=True)


def upload(client, name: str, content: bytes, **fields):
    return client.post("/documents/upload", {"file": SimpleUploadedFile(name, content), **fields})


def read(client, chat, name: str, content: bytes) -> Document:
    response = upload(client, name, content, chat=str(chat.pk))
    assert response.status_code == 200, response.content
    runner.wait_idle()
    document_id = re.search(r'data-document-id="(\d+)"', response.content.decode()).group(1)
    return Document.objects.get(pk=document_id)


def test_an_upload_is_read_counted_and_attached(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    text = "The launch code word is PELICAN.\n" * 300
    document = read(owner_client, chat, "notes.md", text.encode())
    assert document.status == Document.Status.READY and document.kind == "markdown"
    assert document.chars == len(text.rstrip("\n")) or document.chars == len(text)
    assert 2_000 < document.tokens < 3_000 and not document.tokens_exact
    assert DocumentText.objects.get(document=document).text.startswith("The launch code")
    assert list(chat.attachments.values_list("document", flat=True)) == [document.pk]
    page = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert f'id="document-{document.pk}"' in page and "notes.md" in page
    assert "characters" in page and "tokens" in page and 'id="context-meter"' in page


def test_the_same_file_is_stored_once_and_can_join_another_chat(owner, owner_client, simulator):
    first, second = new_chat(owner, simulator), new_chat(owner, simulator)
    content = b"same bytes, same document\n" * 10
    read(owner_client, first, "a.txt", content)
    read(owner_client, second, "renamed.txt", content)
    assert Document.objects.count() == 1
    document = Document.objects.get()
    assert document.name == "a.txt"
    assert set(Attachment.objects.values_list("chat", flat=True)) == {first.pk, second.pk}
    owner_client.post(f"/chat/{first.pk}/documents/{document.pk}/detach")
    assert list(Attachment.objects.values_list("chat", flat=True)) == [second.pk]
    owner_client.post(f"/chat/{first.pk}/documents/attach", {"document": document.pk})
    assert Attachment.objects.filter(chat=first).exists()


def test_a_hostile_name_is_only_shown_escaped(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    name = '..\\../<img src=x onerror=alert(1)>".txt'
    response = upload(owner_client, name, b"harmless text\n", chat=str(chat.pk))
    assert response.status_code == 200
    runner.wait_idle()
    document = Document.objects.get()
    assert document.name == '<img src=x onerror=alert(1)>".txt'  # a name, never a path
    stored = document.file.name
    assert stored.startswith(f"{chat.workspace_id}/") and "evil" not in stored
    html = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert "<img src=x" not in html
    detail = owner_client.get(f"/documents/{document.pk}").content.decode()
    assert "<img src=x" not in detail
    download = owner_client.get(f"/documents/{document.pk}/text")
    assert download["Content-Disposition"] == f'attachment; filename="document-{document.pk}.txt"'


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.txt", b"", "is empty"),
        ("blob.bin", bytes(range(256)) * 64, ""),
    ],
)
def test_bad_files_fail_alone_with_a_reason(owner, owner_client, simulator, name, content, message):
    chat = new_chat(owner, simulator)
    good = read(owner_client, chat, "good.txt", b"fine text\n")
    response = upload(owner_client, name, content, chat=str(chat.pk))
    runner.wait_idle()
    if response.status_code == 422:
        assert message in response.content.decode()
    else:
        bad = Document.objects.get(name=name)
        assert bad.status == Document.Status.FAILED and bad.error_message
        assert bad.error_message in owner_client.get(f"/chat/{chat.pk}").content.decode()
        # It blocks sending, and the refusal says which document and what to do.
        refused = owner_client.post(f"/chat/{chat.pk}/send", {"text": "summarize"})
        html = refused.content.decode()
        assert refused.status_code == 422 and f"“{name}” could not be read" in html
        assert "retry reading it, or detach it" in html
    good.refresh_from_db()
    assert good.status == Document.Status.READY


def test_an_oversized_upload_is_refused_before_it_is_stored(
    owner, owner_client, simulator, settings
):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "DOCUMENT_MAX_MB": 1}
    chat = new_chat(owner, simulator)
    response = upload(owner_client, "big.txt", b"x" * (1024 * 1024 + 1), chat=str(chat.pk))
    assert response.status_code == 413
    assert "the limit is 1 MB a file" in response.content.decode()
    assert not Document.objects.exists()


def test_documents_go_first_whole_named_and_in_order(owner, owner_client, simulator, monkeypatch):
    bodies = []
    original = simulator_module.handle_chat_completion
    monkeypatch.setattr(
        simulator_module,
        "handle_chat_completion",
        lambda body, headers: bodies.append(body) or original(body, headers),
    )
    chat = new_chat(owner, simulator)
    chat.params = {"system_prompt": "Be brief."}
    chat.save()
    read(owner_client, chat, "b-first.md", b"The launch code word is PELICAN.\n")
    read(owner_client, chat, "a-second.py", b"def launch():\n    return 'PELICAN'\n")
    owner_client.post(f"/chat/{chat.pk}/send", {"text": "What is the launch code word?"})
    runner.wait_idle()
    system = bodies[-1]["messages"][0]
    assert system["role"] == "system"
    content = system["content"]
    assert content.index('<document name="b-first.md">') < content.index('name="a-second.py"')
    assert "The launch code word is PELICAN." in content and content.endswith("Be brief.")
    answer = Message.objects.get(role="assistant")
    assert answer.documents == list(
        Document.objects.order_by("created_at").values_list("pk", flat=True)
    )
    assert "“The launch code word is PELICAN.” (b-first.md)" in answer.content
    # View code rebuilds the request with the documents it was sent with.
    assert requests_for(answer)[0]["messages"] == bodies[-1]["messages"]
    details = owner_client.get(f"/message/{answer.pk}/details").content.decode()
    assert "<dt>Documents</dt><dd>b-first.md, a-second.py</dd>" in details
    assert "<dt>Thinking budget</dt><dd>model default</dd>" in details


def test_the_meter_counts_each_part_and_prices_the_next_request(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    read(owner_client, chat, "small.txt", b"word " * 4_000)
    meter = report(chat, draft="A question about the text")
    kinds = [p.kind for p in meter.parts]
    assert kinds == ["document", "message"]
    assert meter.output_reserve == 40_000 and meter.window == 1_000_000
    assert meter.cost.tier.up_to == 200_000
    assert not meter.crosses_boundary and "Up to 200,000 input tokens" in meter.tier_note()
    html = owner_client.post(f"/chat/{chat.pk}/context", {"text": "hello"}).content.decode()
    assert "small.txt" in html and "Your message" in html and "next request" in html


def _big_document(chat, owner, tokens: int, name: str) -> Document:
    document = Document.objects.create(
        workspace=chat.workspace,
        uploaded_by=owner,
        name=name,
        sha256=name.ljust(64, "0"),
        size=1,
        file="none",
        status=Document.Status.READY,
        tokens=tokens,
        chars=tokens * 4,
    )
    DocumentText.objects.create(document=document, text="x")
    Attachment.objects.create(chat=chat, document=document)
    return document


def test_crossing_200k_changes_the_price_of_the_whole_request(owner, simulator):
    chat = new_chat(owner, simulator)
    _big_document(chat, owner, 150_000, "report.pdf")
    below = report(chat)
    _big_document(chat, owner, 100_000, "appendix.pdf")
    above = report(chat)
    assert not below.crosses_boundary and above.crosses_boundary
    per_token_below = below.cost.input / below.input_tokens
    per_token_above = above.cost.input / above.input_tokens
    assert per_token_below * 1_000_000 == Decimal("0.40")
    assert per_token_above * 1_000_000 == Decimal("1.30")
    assert "instead of $0.4000" in above.tier_note()


def test_a_request_that_does_not_fit_is_refused_before_anything_is_sent(
    owner, owner_client, simulator
):
    chat = new_chat(owner, simulator)
    _big_document(chat, owner, 600_000, "book.pdf")
    _big_document(chat, owner, 380_000, "repo.zip")
    _big_document(chat, owner, 1_000, "notes.md")
    requests_before = simulator_module.stats.requests
    response = owner_client.post(f"/chat/{chat.pk}/send", {"text": "Summarise"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "more than MiniMax-M1-40k&#x27;s 1,000,000-token context" in html
    assert html.index("book.pdf") < html.index("repo.zip") and "(600,000)" in html
    assert not Message.objects.exists() and simulator_module.stats.requests == requests_before


def test_a_document_still_being_read_holds_the_send(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    document = _big_document(chat, owner, 10, "slow.pdf")
    Document.objects.filter(pk=document.pk).update(status=Document.Status.EXTRACTING)
    response = owner_client.post(f"/chat/{chat.pk}/send", {"text": "hi"})
    assert response.status_code == 422 and "Still reading" in response.content.decode()


def test_a_new_chat_is_made_for_files_dropped_on_the_new_chat_page(owner, owner_client, simulator):
    response = upload(owner_client, "first.txt", b"hello\n", new_chat="1")
    chat = Chat.objects.get()
    assert response["X-Chat-Url"] == f"/chat/{chat.pk}"
    assert chat.model == "MiniMax-M1-40k" and chat.attachments.count() == 1
    runner.wait_idle()


def test_outsiders_cannot_see_or_use_a_document(owner, owner_client, outsider_client, simulator):
    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "secret.txt", b"secret\n")
    for path in (f"/documents/{document.pk}", f"/documents/{document.pk}/text"):
        assert outsider_client.get(path).status_code == 404
    assert outsider_client.post(f"/documents/{document.pk}/delete").status_code == 404
    assert outsider_client.post(f"/chat/{chat.pk}/context").status_code == 404
    chip = f"/chat/{chat.pk}/documents/{document.pk}"
    assert outsider_client.get(chip).status_code == 404
    assert 'data-status="ready"' in owner_client.get(chip).content.decode()
    theirs = outsider_client.post("/documents/upload", {"file": SimpleUploadedFile("x.txt", b"x")})
    assert theirs.status_code == 200
    runner.wait_idle()
    mine = Chat.objects.get(pk=chat.pk)
    response = owner_client.post(
        f"/chat/{mine.pk}/documents/attach", {"document": Document.objects.get(name="x.txt").pk}
    )
    assert response.status_code == 404
    assert list(mine.attachments.values_list("document__name", flat=True)) == ["secret.txt"]


def test_deleting_a_document_removes_its_file(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "gone.txt", b"bye\n")
    path = document.file.path
    owner_client.post(f"/documents/{document.pk}/delete")
    assert not Document.objects.exists() and not Attachment.objects.exists()
    assert not os.path.exists(path)


def test_a_configured_tokenizer_counts_documents_exactly(
    owner, owner_client, simulator, settings, tmp_path
):
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocabulary = {"[UNK]": 0, "alpha": 1, "beta": 2}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    settings.PLAYGROUND = {**settings.PLAYGROUND, "TOKENIZER_JSON": str(path)}
    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "words.txt", b"alpha beta gamma " * 100)
    assert document.tokens == 300 and document.tokens_exact
    html = owner_client.get(f"/chat/{chat.pk}").content.decode()
    assert "~300 tokens" not in html and "300 tokens" in html
    assert (
        "documents counted exactly"
        in owner_client.post(f"/chat/{chat.pk}/context").content.decode()
    )


def test_a_reading_that_stopped_without_an_end_is_started_again(owner, owner_client, simulator):
    from datetime import timedelta

    from django.utils import timezone

    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "again.txt", b"read me twice\n")
    DocumentText.objects.all().delete()
    long_ago = timezone.now() - timedelta(hours=1)
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.EXTRACTING, progress=0.4, updated_at=long_ago
    )
    sweeper.sweep()  # the sweeper notices, and queues it again
    runner.wait_idle()
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert DocumentText.objects.get(document=document).text.startswith("read me twice")
