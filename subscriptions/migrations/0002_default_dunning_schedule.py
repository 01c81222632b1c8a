import datetime as dt

from django.db import migrations


def seed(apps, schema_editor):
    DunningSchedule = apps.get_model("subscriptions", "DunningSchedule")
    DunningSchedule.objects.get_or_create(
        effective_from=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        defaults={
            "retry_intervals": ["P3D", "P7D", "P14D"],
            "hard_decline_grace": "P14D",
            "note": "Default: retries 3, 7 and 14 days apart (attempts on days 0, 3, 10, 24)",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
