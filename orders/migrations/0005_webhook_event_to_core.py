"""The webhook inbox now belongs to core (core.0001 took over the table): state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_order_number_trigram_index"),
        ("core", "0001_webhook_event"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="WebhookEvent")],
            database_operations=[],
        ),
    ]
