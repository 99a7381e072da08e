"""The events' own index on the customer goes: the timeline index (customer, -created_at,
-id) starts with the same column and serves every lookup by customer; one index fewer to keep
up per event written.

A plain ``DROP INDEX`` rather than Django's ``AlterField``, which on SQLite would rebuild the
whole table (and lose the search index's triggers) and on PostgreSQL drop and check again the
foreign key, for what is only an index.
"""

import django.db.models.deletion
from django.db import migrations, models


def _drop(table, name, column):
    return migrations.RunSQL(
        f'DROP INDEX IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_outbox"),
        ("customers", "0010_search_marks_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                _drop("core_event", "core_event_customer_id_4080f599", "customer_id"),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="events",
                        to="customers.customer",
                    ),
                ),
            ],
        ),
    ]
