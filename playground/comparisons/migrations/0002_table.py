from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("comparisons", "0001_initial"),
        ("chats", "0006_comparison_moves"),
    ]

    operations = [
        migrations.AlterModelTable(name="comparison", table=None),
    ]
