"""The reshaping's migrations keep the data: sessions become chats with their tip, a
comparison keeps its columns, usage keeps its chat."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("chats", "0004_documents"),
    ("billing", "0003_usage_days"),
    ("documents", "0001_documents"),
    ("workspaces", "0001_initial"),
    ("comparisons", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def test_sessions_become_chats_with_their_tips():
    old = _migrate(BEFORE)
    Workspace = old.get_model("workspaces", "Workspace")
    Session = old.get_model("chats", "Session")
    Comparison = old.get_model("chats", "Comparison")
    Message = old.get_model("chats", "Message")
    UsageRecord = old.get_model("billing", "UsageRecord")
    workspace = Workspace.objects.create(name="Old", is_personal=True)
    chat = Session.objects.create(workspace=workspace, title="Old chat")
    question = Message.objects.create(session=chat, role="user", content="q")
    answer = Message.objects.create(session=chat, role="assistant", parent=question, content="a")
    comparison = Comparison.objects.create(workspace=workspace, title="Old comparison")
    column = Session.objects.create(workspace=workspace, comparison=comparison, column=1)
    UsageRecord.objects.create(
        workspace=workspace, session=chat, message=answer, provider_name="S", model="m"
    )

    latest = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    Chat = latest.get_model("chats", "Chat")
    NewComparison = latest.get_model("comparisons", "Comparison")
    NewUsage = latest.get_model("billing", "UsageRecord")
    migrated = Chat.objects.get(pk=chat.pk)
    assert migrated.tip_id == answer.pk and migrated.title == "Old chat"
    assert NewComparison.objects.get(pk=comparison.pk).columns.get().pk == column.pk
    assert NewUsage.objects.get().chat_id == chat.pk
    assert "comparisons_comparison" in connection.introspection.table_names()
