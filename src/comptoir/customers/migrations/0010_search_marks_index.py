"""PostgreSQL: a second pg_trgm GIN index over ``search_text`` with its punctuation turned into
letters, so that the trigrams of an e-mail fragment such as "ain.l" keep the dot (decision 0020;
``core.search.PG_MARKED_SEARCH_TEXT`` must stay this exact expression). SQLite's FTS5 trigram
table keeps punctuation already: nothing to do there.
"""

from django.db import migrations

MARKED_SEARCH_TEXT = (
    "replace(replace(replace(replace(replace(replace(search_text, "
    "'.', 'ǀ'), '@', 'ǁ'), '-', 'ǂ'), '_', 'ǃ'), '+', 'ʘ'), '''', 'ɂ')"
)
POSTGRES_UP = (
    "CREATE INDEX IF NOT EXISTS customer_search_marks ON customers_customer "
    f"USING gin (({MARKED_SEARCH_TEXT}) gin_trgm_ops)"
)
POSTGRES_DOWN = "DROP INDEX IF EXISTS customer_search_marks"


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_summary_index")]
    operations = [migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN))]
