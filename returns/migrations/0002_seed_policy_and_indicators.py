"""Seed the first return policy and the fraud indicators (values from the returns brief)."""

import datetime as dt

from django.db import migrations

INDICATORS = [
    # code, name, threshold, warn_threshold, weight
    ("returns-90d", "More than 10 returns in 90 days", 10, None, 25),
    ("returned-value-90d", "Returned value over 5,000 in 90 days", 500_000, None, 25),
    ("returns-today", "More than 2 returns today", 2, None, 20),
    ("same-item", "Always returns the same item", 2, None, 15),
    ("return-ratio", "Return-to-purchase ratio (normal < 0.2, suspicious > 0.6)", 6000, 2000, 30),
    ("days-from-delivery", "Returned late in the window (days from delivery)", 25, None, 10),
    ("account-age", "New account (days since sign-up)", 30, None, 15),
]


def seed(apps, schema_editor):
    policy = apps.get_model("returns", "ReturnPolicy")
    indicator = apps.get_model("returns", "FraudIndicator")
    policy.objects.get_or_create(
        effective_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        defaults={
            "return_window_days": 30,
            "approval_threshold_minor": 50_000,
            "review_score_above": 75,
            "auto_approve_score_below": 30,
            "item_wait_days": 30,
            "note": "Initial policy",
        },
    )
    for code, name, threshold, warn, weight in INDICATORS:
        indicator.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "threshold": threshold,
                "warn_threshold": warn,
                "weight": weight,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("returns", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
