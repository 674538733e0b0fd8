"""The documents above a chat's composer: many fold into one line while a failed one stays in
sight, a failed one can be read again or detached from its chip (with and without JavaScript),
and "Add from library" offers only documents the chat does not have."""

from __future__ import annotations

import hashlib

import lxml.html  # a dependency of inscriptis, which reads HTML documents
import pytest

from playground.documents.models import Attachment, Document
from playground.streaming import runner
from tests.chats.helpers import new_chat
from tests.conftest import client_for
from tests.documents.test_documents import read, upload

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


def stored(chat, name: str, status: str = Document.Status.READY, tokens: int = 1_000) -> Document:
    """A document of the chat's workspace, as reading left it (no file: these are never read)."""
    return Document.objects.create(
        workspace=chat.workspace,
        uploaded_by=chat.created_by,
        name=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        size=10,
        status=status,
        tokens=tokens if status == Document.Status.READY else 0,
        error_message="This is not a text file." if status == Document.Status.FAILED else "",
    )


def attached(chat, *documents: Document) -> None:
    for document in documents:
        Attachment.objects.create(chat=chat, document=document, added_by=chat.created_by)


def page(client, chat) -> lxml.html.HtmlElement:
    response = client.get(f"/chat/{chat.pk}")
    assert response.status_code == 200
    return lxml.html.fromstring(response.content.decode())


def chip_names(root, list_id: str) -> list[str]:
    return root.xpath(f'//ul[@id="{list_id}"]/li[contains(@class, "doc-chip")]//a/text()')


def test_many_documents_fold_into_one_line_a_failed_one_stays_out(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    ready = [stored(chat, f"part-{n}.md", tokens=1_000 * n) for n in range(1, 9)]
    failed = stored(chat, "scan.bin", Document.Status.FAILED)
    reading = stored(chat, "slow.pdf", Document.Status.EXTRACTING)
    attached(chat, *ready[:4], failed, *ready[4:], reading)

    root = page(owner_client, chat)
    # What holds the send stays in sight; the read ones are behind one line that opens.
    assert chip_names(root, "doc-chips") == ["scan.bin", "slow.pdf"]
    assert chip_names(root, "doc-group-chips") == [d.name for d in ready]
    (group,) = root.xpath('//details[@id="doc-group"]')
    assert group.get("hidden") is None and group.get("open") is None
    assert group.xpath("string(summary)").strip() == "8 documents · 36,000 tokens"
    # The failed one keeps its reason and its ways out in the open list.
    (chip,) = root.xpath(f'//ul[@id="doc-chips"]/li[@id="document-{failed.pk}"]')
    assert "This is not a text file." in chip.text_content()


def test_a_few_documents_stay_chips(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    documents = [stored(chat, f"part-{n}.md") for n in range(1, 4)]
    attached(chat, *documents)
    root = page(owner_client, chat)
    assert chip_names(root, "doc-chips") == ["part-1.md", "part-2.md", "part-3.md"]
    assert chip_names(root, "doc-group-chips") == []
    assert root.xpath('//details[@id="doc-group"]')[0].get("hidden") is not None


def test_a_failed_document_offers_retry_and_detach_that_work_without_javascript(
    owner, owner_client, simulator
):
    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "notes.md", b"The launch code word is PELICAN.\n" * 50)
    # As a reading that failed on the way (a lost worker) leaves it.
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.FAILED, error_message="The reading stopped."
    )
    root = page(owner_client, chat)
    (chip,) = root.xpath(f'//li[@id="document-{document.pk}"]')
    assert "The reading stopped." in chip.text_content()
    (retry,) = chip.xpath('.//button[@aria-label="Retry reading notes.md"]')
    (detach,) = chip.xpath('.//button[@aria-label="Detach notes.md"]')
    for button, url in ((retry, "retry"), (detach, "detach")):
        (form,) = button.xpath("ancestor::form")
        assert form.get("method") == "post"
        assert form.get("action") == f"/chat/{chat.pk}/documents/{document.pk}/{url}"
        assert form.xpath('.//input[@name="csrfmiddlewaretoken"]')

    response = owner_client.post(f"/chat/{chat.pk}/documents/{document.pk}/retry")
    assert response.status_code == 302 and response["Location"] == f"/chat/{chat.pk}"
    runner.wait_idle()
    document.refresh_from_db()
    assert document.status == Document.Status.READY and not document.error_message
    assert "Reading “notes.md” again." in owner_client.get(f"/chat/{chat.pk}").content.decode()

    response = owner_client.post(f"/chat/{chat.pk}/documents/{document.pk}/detach")
    assert response.status_code == 302 and response["Location"] == f"/chat/{chat.pk}"
    assert not Attachment.objects.filter(chat=chat).exists()


def test_retry_reading_over_htmx_answers_the_chip_being_read(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "notes.md", b"Plain words.\n" * 20)
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.FAILED, error_message="The reading stopped."
    )
    response = owner_client.post(f"/chat/{chat.pk}/documents/{document.pk}/retry", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="document-{document.pk}"' in html and 'data-status="queued"' in html
    assert "The reading stopped." not in html
    runner.wait_idle()
    document.refresh_from_db()
    assert document.status == Document.Status.READY


def test_retry_reading_leaves_a_document_that_did_not_fail(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "notes.md", b"Plain words.\n" * 20)
    before = Document.objects.values().get(pk=document.pk)
    response = owner_client.post(f"/chat/{chat.pk}/documents/{document.pk}/retry", **HTMX)
    assert response.status_code == 200
    assert Document.objects.values().get(pk=document.pk) == before


def test_outsiders_cannot_retry_and_viewers_may_not(owner, outsider, viewer, simulator):
    chat = new_chat(owner, simulator)
    failed = stored(chat, "scan.bin", Document.Status.FAILED)
    attached(chat, failed)
    url = f"/chat/{chat.pk}/documents/{failed.pk}/retry"
    assert client_for(outsider).post(url).status_code == 404
    assert client_for(viewer).post(url).status_code == 403
    # An outsider's own chat does not open the owner's document either.
    theirs = new_chat(outsider, simulator)
    response = client_for(outsider).post(f"/chat/{theirs.pk}/documents/{failed.pk}/retry")
    assert response.status_code == 404
    failed.refresh_from_db()
    assert failed.status == Document.Status.FAILED


def options(html: str) -> list[str]:
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return root.xpath('//details[@id="library-pick"]//option/text()')


def test_the_library_offers_only_documents_the_chat_does_not_have(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    first, second = stored(chat, "first.md", tokens=1_200), stored(chat, "second.md", tokens=900)
    stored(chat, "broken.bin", Document.Status.FAILED)
    attached(chat, first)
    root = page(owner_client, chat)
    assert root.xpath('//select[@id="library-choice"]/option/text()') == ["second.md (900 tokens)"]

    # Attached over htmx: the picker comes back out of band, without it (and stays open).
    response = owner_client.post(
        f"/chat/{chat.pk}/documents/attach", {"document": second.pk}, **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="doc-chip is-ready" id="document-{second.pk}"')
    assert options(html) == []
    picker = lxml.html.fragment_fromstring(html, create_parent="div").xpath(
        '//details[@id="library-pick"]'
    )[0]
    assert picker.get("hx-swap-oob") == "true" and picker.get("hidden") is not None

    # Detached: it is offered again.
    response = owner_client.post(f"/chat/{chat.pk}/documents/{first.pk}/detach", **HTMX)
    assert options(response.content.decode()) == ["first.md (1,200 tokens)"]

    # An upload of a file the library has already attaches that document: it leaves the picker.
    fresh = read(owner_client, chat, "fresh.txt", b"Fresh words.\n")
    other = new_chat(owner, simulator)
    response = upload(owner_client, "again.txt", b"Fresh words.\n", chat=str(other.pk))
    html = response.content.decode()
    assert f'id="document-{fresh.pk}"' in html
    assert sorted(options(html)) == ["first.md (1,200 tokens)", "second.md (900 tokens)"]
