"""Partial indexes for the order list's "waiting at" and "has incident" filters.

Both filters ask for the process instance keys of active rows only (an active element instance
of one element id; an active incident), a small part of tables that keep every completed row.
Indexes over just the active rows, holding the instance key, answer them from the index alone.
Plain SQL (valid on SQLite and PostgreSQL) so that the models' state is unchanged.
"""

from django.db import migrations

WAITING_AT = "processes_ei_active_element_idx"
OPEN_INCIDENTS = "processes_incident_active_idx"


class Migration(migrations.Migration):
    dependencies = [("processes", "0003_engine_api_permission")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {WAITING_AT} ON processes_elementinstance "
            "(element_id, process_instance_key) WHERE state = 'ACTIVE'",
            f"DROP INDEX IF EXISTS {WAITING_AT}",
        ),
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {OPEN_INCIDENTS} ON processes_incident "
            "(process_instance_key) WHERE state = 'ACTIVE'",
            f"DROP INDEX IF EXISTS {OPEN_INCIDENTS}",
        ),
    ]
