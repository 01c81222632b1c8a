"""PostgreSQL: a trigram index so that searching orders by part of their number uses an index.

The order list searches with ``number__icontains`` (``UPPER(number) LIKE '%…%'``), which no b-tree
index serves; with 100,000 orders that was a scan of every row. ``pg_trgm`` ships with
PostgreSQL and is a trusted extension (a database owner may create it); where it is not
available the index is skipped and the search still works, only slower. Other databases: no-op.
"""

from django.db import migrations

INDEX = "orders_order_number_upper_trgm"


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON orders_order "
            "USING gin (UPPER(number::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_roles")]

    operations = [migrations.RunPython(create, drop)]
