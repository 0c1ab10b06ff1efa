"""Shipments may subscribe to a tracking aggregator's pushes, and carriers become codes.

The carrier was free text: the values that name a known carrier (顺丰, SF,
sandbox ...) become its code (Kuaidi100's company code); any other value stays
as typed and is shown as it is. The names are frozen here, not read from
orders.tracking.carriers, so later changes there do not change this migration.
"""

from django.db import migrations, models

CODES = {
    "shunfeng": ("顺丰", "顺丰速运", "顺丰快递", "SF", "SF Express"),
    "zhongtong": ("中通", "中通快递", "ZTO", "ZTO Express"),
    "yuantong": ("圆通", "圆通速递", "圆通快递", "YTO", "YTO Express"),
    "yunda": ("韵达", "韵达快递", "韵达速递", "Yunda", "Yunda Express"),
    "shentong": ("申通", "申通快递", "STO", "STO Express"),
    "jtexpress": ("极兔", "极兔速递", "极兔快递", "J&T", "JT", "J&T Express", "JTSD"),
    "ems": ("中国邮政EMS", "邮政EMS", "EMS快递"),
    "jd": ("京东", "京东物流", "京东快递", "JD", "JD Logistics"),
    "sandbox": ("Sandbox carrier", "沙箱", "测试快递"),
}
LOOKUP = {name.strip().lower(): code for code, names in CODES.items() for name in (code, *names)}


def carriers_to_codes(apps, schema_editor):
    for model_name in ("Order", "Shipment"):
        model = apps.get_model("orders", model_name)
        for value in model.objects.exclude(carrier="").values_list("carrier", flat=True).distinct():
            code = LOOKUP.get(value.strip().lower())
            if code and code != value:
                model.objects.filter(carrier=value).update(carrier=code)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_refunded_amount_label"),
    ]

    operations = [
        migrations.AddField(
            model_name="shipment",
            name="subscribed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="push subscribed"),
        ),
        migrations.AddIndex(
            model_name="shipment",
            index=models.Index(fields=["tracking_number"], name="shipment_tracking_number"),
        ),
        # Codes stay codes when migrating back: nothing to undo.
        migrations.RunPython(carriers_to_codes, migrations.RunPython.noop, elidable=True),
    ]
