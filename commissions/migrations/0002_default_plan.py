from decimal import Decimal

from django.db import migrations


def create_default_plan(apps, schema_editor):
    """Every shop starts with the common two-tier plan: 10% and 5%."""
    CommissionPlan = apps.get_model("commissions", "CommissionPlan")
    if not CommissionPlan.objects.filter(is_active=True).exists():
        CommissionPlan.objects.create(
            name="Default two-tier plan",
            is_active=True,
            levels=2,
            level_1_rate=Decimal("0.1000"),
            level_2_rate=Decimal("0.0500"),
            level_3_rate=Decimal("0"),
            payout_cap=Decimal("0.3000"),
        )


class Migration(migrations.Migration):
    dependencies = [("commissions", "0001_initial")]
    operations = [migrations.RunPython(create_default_plan, migrations.RunPython.noop)]
