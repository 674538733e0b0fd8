"""The built-in simulator as the default provider, so a fresh instance can chat offline."""

from django.db import migrations


def add_simulator(apps, schema_editor):
    Provider = apps.get_model("providers", "Provider")
    if not Provider.objects.exists():
        Provider.objects.create(
            name="Simulator",
            kind="simulator",
            base_url="",
            model_ids=["MiniMax-M1-40k", "MiniMax-M1-80k"],
            thinking_format="reasoning_content",
            supports_prefill=True,
            is_default=True,
            enabled=True,
        )


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]
    operations = [migrations.RunPython(add_simulator, migrations.RunPython.noop)]
