"""The three grades a new shop starts with, rank 0 for every distributor so far,
and the network settings row (so no checkout ever has to create it).

Thresholds are in yuan of goods sold (paid, not refunded); the merchant edits
them in the admin. Existing grades of the same rank are left as they are.
"""

from decimal import Decimal

from django.db import migrations

DEFAULT_GRADES = [
    # rank, Chinese, English, personal sales, team sales, direct recruits
    (0, "普通", "Ordinary", Decimal("0"), Decimal("0"), 0),
    (1, "银牌", "Silver", Decimal("5000"), Decimal("20000"), 3),
    (2, "金牌", "Gold", Decimal("20000"), Decimal("100000"), 10),
]


def create_default_grades(apps, schema_editor):
    Grade = apps.get_model("distributors", "Grade")
    Distributor = apps.get_model("distributors", "Distributor")
    for rank, name, name_en, personal, team, recruits in DEFAULT_GRADES:
        Grade.objects.get_or_create(
            rank=rank,
            defaults={
                "name": name,
                "name_en": name_en,
                "min_personal_sales": personal,
                "min_team_sales": team,
                "min_direct_recruits": recruits,
            },
        )
    starting = Grade.objects.get(rank=0)
    Distributor.objects.filter(grade__isnull=True).update(grade=starting)


def create_network_settings(apps, schema_editor):
    NetworkSettings = apps.get_model("distributors", "NetworkSettings")
    NetworkSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("distributors", "0004_network")]

    operations = [
        # Reversed, the grades stay: distributors may have reached them since.
        migrations.RunPython(create_default_grades, migrations.RunPython.noop),
        migrations.RunPython(create_network_settings, migrations.RunPython.noop),
    ]
