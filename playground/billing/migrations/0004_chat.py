from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_usage_days"),
        ("chats", "0005_chat"),
    ]

    operations = [
        migrations.RenameField("usagerecord", "session", "chat"),
        migrations.RemoveConstraint(model_name="usageday", name="one_usage_row_per_key_and_day"),
        migrations.RenameField("usageday", "session_id", "chat_id"),
        migrations.AddConstraint(
            model_name="usageday",
            constraint=models.UniqueConstraint(
                fields=("workspace_id", "user_id", "chat_id", "model", "day"),
                name="one_usage_row_per_key_and_day",
            ),
        ),
    ]
