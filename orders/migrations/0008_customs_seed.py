from django.db import migrations


def seed(apps, schema_editor):
    from orders.customs import seed as customs_seed

    customs_seed.load(
        territory_model=apps.get_model("orders", "CustomsTerritory"),
        rule_model=apps.get_model("orders", "DutyTaxRule"),
        restriction_model=apps.get_model("orders", "ExportRestriction"),
    )


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_customs")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
