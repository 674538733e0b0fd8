from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_documents"),
        ("chats", "0005_chat"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="attachment", name="attach_once_per_chat"),
        migrations.RenameField("attachment", "session", "chat"),
        migrations.AddConstraint(
            model_name="attachment",
            constraint=models.UniqueConstraint(
                fields=("chat", "document"), name="attach_once_per_chat"
            ),
        ),
    ]
