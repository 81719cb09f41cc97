"""Feedback search on PostgreSQL: a trigram index on what the customer said.

The feedback search matches words anywhere in the text (`text LIKE '%已还%'`), which no
b-tree can serve: without this index every search reads all the feedback. pg_trgm's GIN
index serves it (and Chinese text: the database's ctype classifies CJK characters as
letters). PostgreSQL only, and not in the model state (SQLite has no such index); when
the extension may not be created here (pg_trgm is a trusted extension from PostgreSQL 13,
so the database owner may), the search still works, reading the table.
"""

from django.db import migrations, transaction

INDEX = "feedback_text_trigram"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 (no privilege: the search reads the table instead)
        print(f"\n  {INDEX} not created: {exc}".rstrip())
        return
    table = apps.get_model("notices", "Feedback")._meta.db_table
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {table} USING gin (text gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("notices", "0006_scale_indexes")]

    operations = [migrations.RunPython(create, drop)]
