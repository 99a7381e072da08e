"""The substring search index over ``search_text``, one form per database.

SQLite: an FTS5 trigram table with external content, kept in step by triggers.
PostgreSQL: pg_trgm GIN index; ``unaccent`` for the ``Fold`` expression of per-column filters.
"""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE customer_search_fts USING fts5("
    "search_text, content='customers_customer', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER customer_search_ai AFTER INSERT ON customers_customer BEGIN "
    "INSERT INTO customer_search_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER customer_search_ad AFTER DELETE ON customers_customer BEGIN "
    "INSERT INTO customer_search_fts(customer_search_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER customer_search_au AFTER UPDATE OF search_text ON customers_customer BEGIN "
    "INSERT INTO customer_search_fts(customer_search_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO customer_search_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO customer_search_fts(customer_search_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS customer_search_ai",
    "DROP TRIGGER IF EXISTS customer_search_ad",
    "DROP TRIGGER IF EXISTS customer_search_au",
    "DROP TABLE IF EXISTS customer_search_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer "
    "USING gin (search_text gin_trgm_ops)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS customer_search_trgm"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_list_columns_and_sort_indexes")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
