"""The usual social titles, which the shop can edit later."""

from django.db import migrations


def create_titles(apps, schema_editor):
    Title = apps.get_model("customers", "Title")
    if not Title.objects.exists():
        Title.objects.bulk_create(
            [
                Title(name_fr="M.", name_en="Mr", gender="male", position=1),
                Title(name_fr="Mme", name_en="Mrs", gender="female", position=2),
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]
    operations = [migrations.RunPython(create_titles, migrations.RunPython.noop)]
