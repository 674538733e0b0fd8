"""Presets: named settings of a workspace, applied to a chat, one of them the default that new
chats start with."""

import pytest

from playground.chats.models import Chat, Preset
from playground.workspaces.access import personal_workspace
from tests.chats.helpers import new_chat

pytestmark = pytest.mark.django_db(transaction=True)


def test_save_apply_and_make_default(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    chat.params = {"temperature": 0.3, "seed": 4}
    chat.save()
    response = owner_client.post(
        f"/chat/{chat.pk}/presets/save", {"name": "  Careful   maths ", "make_default": "on"}
    )
    assert response.status_code == 302 and "settings=open" in response["Location"]
    preset = Preset.objects.get()
    assert preset.name == "Careful maths" and preset.params == {"temperature": 0.3, "seed": 4}
    assert preset.is_default and preset.workspace == personal_workspace(owner)

    other = new_chat(owner, simulator)
    owner_client.post(f"/chat/{other.pk}/presets/apply", {"preset": preset.pk})
    other.refresh_from_db()
    assert other.params == preset.params

    owner_client.post("/chat/start", {"text": "new chat"})
    newest = Chat.objects.order_by("-created_at").first()
    assert newest.params == preset.params  # new chats start with the default


def test_saving_a_name_again_updates_and_one_default_remains(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    for temperature, name in ((0.2, "A"), (0.5, "B"), (0.9, "A")):
        chat.params = {"temperature": temperature}
        chat.save()
        owner_client.post(f"/chat/{chat.pk}/presets/save", {"name": name, "make_default": "on"})
    assert Preset.objects.count() == 2
    assert Preset.objects.get(name="A").params == {"temperature": 0.9}
    assert list(Preset.objects.filter(is_default=True).values_list("name", flat=True)) == ["A"]


@pytest.mark.parametrize(
    "name,text", [("   ", "Give the preset a name."), ("x" * 81, "at most 80")]
)
def test_a_bad_name_is_refused_with_a_message(owner, owner_client, simulator, name, text):
    chat = new_chat(owner, simulator)
    response = owner_client.post(f"/chat/{chat.pk}/presets/save", {"name": name}, follow=True)
    assert text in response.content.decode()
    assert not Preset.objects.exists()


def test_a_preset_that_does_not_fit_the_model_is_not_applied(owner, owner_client, simulator):
    chat = new_chat(owner, simulator, model="MiniMax-M1-40k")
    preset = Preset.objects.create(
        workspace=chat.workspace, name="Long", params={"max_tokens": 70000}
    )
    response = owner_client.post(
        f"/chat/{chat.pk}/presets/apply", {"preset": preset.pk}, follow=True
    )
    assert "does not fit MiniMax-M1-40k" in response.content.decode()
    chat.refresh_from_db()
    assert chat.params == {}


def test_only_owners_and_admins_set_the_default(owner, member, simulator):
    from tests.conftest import client_for

    chat = new_chat(owner, simulator)
    response = client_for(member).post(
        f"/chat/{chat.pk}/presets/save", {"name": "Mine", "make_default": "on"}, follow=True
    )
    assert "owners and admins set or delete its default preset" in response.content.decode()
    assert not Preset.objects.exists()


def test_presets_of_another_workspace_are_out_of_reach(owner, outsider, owner_client, simulator):
    theirs = Preset.objects.create(
        workspace=personal_workspace(outsider), name="Theirs", params={"temperature": 0.1}
    )
    chat = new_chat(owner, simulator)
    for action in ("apply", "delete"):
        response = owner_client.post(f"/chat/{chat.pk}/presets/{action}", {"preset": theirs.pk})
        assert response.status_code == 404
    assert owner_client.post(f"/chat/{chat.pk}/presets/apply", {"preset": "x"}).status_code == 404
    assert Preset.objects.filter(pk=theirs.pk).exists()


def test_delete(owner, owner_client, simulator):
    chat = new_chat(owner, simulator)
    preset = Preset.objects.create(workspace=chat.workspace, name="Old", params={})
    owner_client.post(f"/chat/{chat.pk}/presets/delete", {"preset": preset.pk})
    assert not Preset.objects.exists()


def test_only_owners_and_admins_delete_the_default(owner, member, simulator):
    from tests.conftest import client_for

    workspace = personal_workspace(owner)
    preset = Preset.objects.create(workspace=workspace, name="Team", params={}, is_default=True)
    chat = new_chat(owner, simulator)
    response = client_for(member).post(
        f"/chat/{chat.pk}/presets/delete", {"preset": preset.pk}, follow=True
    )
    assert "owners and admins set or delete its default preset" in response.content.decode()
    assert Preset.objects.filter(pk=preset.pk).exists()
