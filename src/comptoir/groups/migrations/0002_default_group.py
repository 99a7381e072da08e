"""Every shop has its default group from the start ("Client" / "Customer"), so the rule
"exactly one default group" holds before any data is loaded."""

from django.db import migrations


def create_default_group(apps, schema_editor):
    Group = apps.get_model("groups", "Group")
    if not Group.objects.filter(is_default=True).exists():
        Group.objects.create(
            name_fr="Client",
            name_en="Customer",
            is_default=True,
            description="Groupe par défaut des clients / Default customer group",
        )


class Migration(migrations.Migration):
    dependencies = [("groups", "0001_initial")]
    operations = [migrations.RunPython(create_default_group, migrations.RunPython.noop)]
