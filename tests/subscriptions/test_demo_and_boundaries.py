"""Demo subscriptions, and the app's boundary: it reaches the engine only through the port."""

from __future__ import annotations

import ast
from pathlib import Path

from subscriptions.demo import load_subscription_demo
from subscriptions.models import DunningSchedule, Invoice, Subscription

APP = Path(__file__).resolve().parents[2] / "subscriptions"
FORBIDDEN = ("processes.engine", "processes.models", "processes.adapters")


def test_subscriptions_never_import_the_engine_inside():
    offenders = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                if node.module == "processes":
                    names = [f"processes.{a.name}" for a in node.names if a.name != "engine"]
            offenders += [f"{path.name}: {name}" for name in names if name.startswith(FORBIDDEN)]
    assert offenders == []


def test_demo_has_failing_cards_in_dunning_and_is_idempotent(renewals, demo_data):
    counts = load_subscription_demo()
    renewals.process.run_handlers()
    again = load_subscription_demo()

    assert counts["subscriptions"] == 7 and again["subscriptions"] == 0
    assert again["renewals_started"] == 0
    statuses = set(Subscription.objects.values_list("status", flat=True))
    assert {"active", "past_due", "trialing"} <= statuses
    assert Invoice.objects.filter(status=Invoice.S.PAID).exists()
    # The default rule stays; the demo adds a faster schedule of its own.
    assert DunningSchedule.objects.filter(retry_intervals=["P3D", "P7D", "P14D"]).exists()
    past_due = Subscription.objects.filter(status="past_due").first()
    invoice = past_due.invoices.get()
    assert invoice.schedule.retry_intervals == ["PT2M", "PT3M", "PT5M"]
