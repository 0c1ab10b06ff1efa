from django.db import migrations, models


def number_existing_refunds(apps, schema_editor):
    """Refunds made before request numbers existed get one in their payment's order."""
    Refund = apps.get_model("payments", "Refund")
    seen: dict[int, int] = {}
    for refund in Refund.objects.select_related("payment").order_by("payment_id", "pk"):
        seen[refund.payment_id] = seen.get(refund.payment_id, 0) + 1
        refund.request_no = f"{refund.payment.reference}-R{seen[refund.payment_id]:02d}"
        refund.save(update_fields=["request_no"])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_partial_refunds"),
    ]

    operations = [
        migrations.AddField(
            model_name="refund",
            name="request_no",
            field=models.CharField(max_length=64, null=True, verbose_name="refund request number"),
        ),
        migrations.RunPython(number_existing_refunds, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="refund",
            name="request_no",
            field=models.CharField(
                max_length=64, unique=True, verbose_name="refund request number"
            ),
        ),
    ]
