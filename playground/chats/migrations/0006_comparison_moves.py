"""A chat's comparison is now comparisons.Comparison (the same table); chats forgets its own."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0005_chat"),
        ("comparisons", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="chat",
                    name="comparison",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="columns",
                        to="comparisons.comparison",
                    ),
                ),
                migrations.DeleteModel(name="Comparison"),
            ],
            database_operations=[],
        ),
    ]
