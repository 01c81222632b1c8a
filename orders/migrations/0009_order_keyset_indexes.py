"""Indexes for the order list's keyset pages: each sort's columns, ending with the unique id.

A page after a cursor is ``WHERE (created_at, id) < (…, …) ORDER BY created_at DESC, id DESC
LIMIT 26``: with an index on exactly those columns the scan starts at the cursor, so a deep
page costs what the first does (``number`` is unique and indexed already). Plain SQL (valid on
SQLite and PostgreSQL) so that the model's state is unchanged.
"""

from django.db import migrations

CREATED = "orders_order_created_id_idx"
TOTAL = "orders_order_total_id_idx"


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_customs_seed")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {CREATED} ON orders_order (created_at, id)",
            f"DROP INDEX IF EXISTS {CREATED}",
        ),
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {TOTAL} ON orders_order (total_minor, id)",
            f"DROP INDEX IF EXISTS {TOTAL}",
        ),
    ]
