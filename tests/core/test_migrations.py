"""The webhook inbox moved from orders to core without touching its table: the rows stay."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import WebhookEvent


@pytest.mark.django_db(transaction=True)
def test_events_stored_before_the_move_are_core_events_after_it():
    executor = MigrationExecutor(connection)
    before = [("orders", "0004_order_number_trigram_index"), ("core", None)]
    executor.migrate(before)
    old_apps = executor.loader.project_state([before[0]]).apps
    OldEvent = old_apps.get_model("orders", "WebhookEvent")
    OldEvent.objects.create(source="vendor:acme", event_id="e-1", event_type="accepted", payload={})

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    event = WebhookEvent.objects.get(source="vendor:acme", event_id="e-1")
    assert event.event_type == "accepted" and event.status == WebhookEvent.S.RECEIVED
