"""One role policy: outsiders 404, members without the right 403 with a plain reason."""

import pytest

from playground.billing.models import Budget
from playground.chats.models import Chat, Message
from playground.workspaces.access import personal_workspace
from playground.workspaces.policy import Action, can
from tests.chats.helpers import new_chat
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_matrix(owner, admin, member, viewer, outsider):
    workspace = personal_workspace(owner)
    rights = {
        who.username: {action for action in Action if can(who, action, workspace)}
        for who in (owner, admin, member, viewer, outsider)
    }
    assert rights["owner"] == rights["admin"] == set(Action)
    assert rights["member"] == {Action.VIEW, Action.CHAT}
    assert rights["viewer"] == {Action.VIEW}
    assert rights["outsider"] == set()


def test_a_viewer_reads_a_chat_but_cannot_write_in_it(owner, viewer, simulator):
    chat = new_chat(owner, simulator)
    client = client_for(viewer)
    assert client.get(f"/chat/{chat.pk}").status_code == 200
    response = client.post(f"/chat/{chat.pk}/send", {"text": "hello"})
    assert response.status_code == 403
    assert "Viewers can read this workspace&#x27;s chats but not write in them." in (
        response.content.decode()
    )
    assert not Message.objects.exists()
    assert client.post(f"/chat/{chat.pk}/rename", {"title": "Mine"}).status_code == 403
    assert Chat.objects.get(pk=chat.pk).title == "New chat"


def test_a_member_writes_but_an_outsider_gets_404(owner, member, outsider, simulator):
    chat = new_chat(owner, simulator)
    response = client_for(member).post(f"/chat/{chat.pk}/send", {"text": "#answer:3 hi"})
    assert response.status_code == 302 and Message.objects.count() == 2
    stranger = client_for(outsider)
    assert stranger.get(f"/chat/{chat.pk}").status_code == 404
    assert stranger.post(f"/chat/{chat.pk}/send", {"text": "hi"}).status_code == 404
    assert Message.objects.count() == 2


@pytest.mark.parametrize("page", ["budgets", "usage"])
def test_admin_pages_admins_pass_members_403_outsiders_404(
    owner, admin, member, viewer, outsider, page
):
    url = f"/workspace/{personal_workspace(owner).pk}/{page}"
    assert client_for(owner).get(url).status_code == 200
    assert client_for(admin).get(url).status_code == 200
    for person in (member, viewer):
        response = client_for(person).get(url)
        assert response.status_code == 403
        assert "Only the workspace&#x27;s owners and admins" in response.content.decode()
    assert client_for(outsider).get(url).status_code == 404


def test_a_member_cannot_set_budgets(owner, member):
    url = f"/workspace/{personal_workspace(owner).pk}/budgets"
    response = client_for(member).post(url, {"workspace_cap": "1"})
    assert response.status_code == 403 and not Budget.objects.exists()


def test_members_reach_messages_and_comparisons_of_a_shared_workspace(
    owner, member, viewer, simulator
):
    """Several memberships in one workspace: each person's lookup reads their own role (a
    join per membership once returned several rows and a 500)."""
    from playground.chats import actions
    from playground.comparisons.models import Comparison
    from playground.streaming import runner
    from tests.comparisons.test_compare import three_columns

    chat = new_chat(owner, simulator)
    _, answer = actions.start_reply(chat, owner, "#think:2 #answer:2 hi")
    runner.wait_idle()
    assert client_for(member).get(f"/message/{answer.pk}/details").status_code == 200
    assert client_for(viewer).get(f"/message/{answer.pk}/details").status_code == 200
    assert client_for(viewer).post(f"/message/{answer.pk}/retry").status_code == 403
    client_for(owner).post("/compare/start", three_columns(simulator))
    runner.wait_idle()
    comparison = Comparison.objects.get()
    assert client_for(member).get(f"/compare/{comparison.pk}").status_code == 200
    assert client_for(viewer).get(f"/compare/{comparison.pk}").status_code == 200


def test_a_viewer_cannot_spend_or_delete_anywhere(owner, viewer, simulator):
    from playground.comparisons.models import Comparison
    from playground.documents.models import Document
    from playground.streaming import runner
    from tests.comparisons.test_compare import three_columns

    client_for(owner).post("/compare/start", three_columns(simulator))
    runner.wait_idle()
    comparison = Comparison.objects.get()
    column = comparison.columns.first()
    document = Document.objects.create(
        workspace=personal_workspace(owner), name="notes.txt", sha256="0" * 64, size=1
    )
    messages, chats = Message.objects.count(), Chat.objects.count()
    client = client_for(viewer)
    for url, data in [
        (f"/compare/{comparison.pk}/send", {"text": "more"}),
        (f"/compare/{comparison.pk}/delete", {}),
        (f"/chat/{column.pk}/continue", {}),
        (f"/documents/{document.pk}/delete", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert Message.objects.count() == messages and Chat.objects.count() == chats
    assert Comparison.objects.exists() and Document.objects.exists()
