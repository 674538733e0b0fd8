"""Session becomes Chat, as the product calls it (a comparison's column is a chat too), and a
chat gets its tip: the message it shows, the end of the branch that is sent (design §8)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def set_tips(apps, schema_editor):
    """Until now a chat showed its newest message."""
    Chat = apps.get_model("chats", "Chat")
    Message = apps.get_model("chats", "Message")
    for chat in Chat.objects.all().only("pk").iterator():
        newest = Message.objects.filter(chat=chat).order_by("-created_at", "-pk").first()
        if newest is not None:
            Chat.objects.filter(pk=chat.pk).update(tip=newest)


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0004_documents"),
        ("documents", "0001_documents"),
        ("billing", "0003_usage_days"),
        ("workspaces", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("Session", "Chat"),
        migrations.RemoveIndex(model_name="message", name="chats_messa_session_c70fac_idx"),
        migrations.RenameField("message", "session", "chat"),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["chat", "status"], name="chats_messa_chat_id_fae4d2_idx"),
        ),
        migrations.AlterField(
            model_name="chat",
            name="created_by",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="chats",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="chat",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="chats",
                to="workspaces.workspace",
            ),
        ),
        migrations.AddField(
            model_name="chat",
            name="tip",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="chats.message",
            ),
        ),
        migrations.RunPython(set_tips, migrations.RunPython.noop),
    ]
