"""The webhook inbox moves from orders to core: same table, same rows, state only."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("orders", "0004_order_number_trigram_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WebhookEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("source", models.CharField(max_length=80)),
                        ("event_id", models.CharField(max_length=200)),
                        ("event_type", models.CharField(max_length=60)),
                        ("payload", models.JSONField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("received", "Received"),
                                    ("processed", "Processed"),
                                    ("failed", "Failed (will be retried)"),
                                ],
                                default="received",
                                max_length=12,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("received_at", models.DateTimeField(auto_now_add=True)),
                        ("processed_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "orders_webhookevent",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("source", "event_id"), name="unique_webhook_event"
                            )
                        ],
                        "indexes": [
                            models.Index(
                                fields=["status", "received_at"],
                                name="orders_webh_status_1395f1_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
