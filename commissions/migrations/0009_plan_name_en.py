from django.db import migrations, models

DEFAULT_NAME_EN = "Default two-tier plan"
DEFAULT_NAME_ZH = "默认两级方案"


def name_the_default_plan_in_both_languages(apps, schema_editor):
    """Migration 0002's plan was named in English only, and distributors read the name.

    Only its label changes (an update, as frozen versions refuse save()); its rules,
    and so every commission computed by it, stay as they are.
    """
    CommissionPlan = apps.get_model("commissions", "CommissionPlan")
    CommissionPlan.objects.filter(name=DEFAULT_NAME_EN, name_en="").update(
        name=DEFAULT_NAME_ZH, name_en=DEFAULT_NAME_EN
    )


def back_to_the_english_name(apps, schema_editor):
    CommissionPlan = apps.get_model("commissions", "CommissionPlan")
    CommissionPlan.objects.filter(name=DEFAULT_NAME_ZH, name_en=DEFAULT_NAME_EN).update(
        name=DEFAULT_NAME_EN
    )


class Migration(migrations.Migration):
    dependencies = [
        ("commissions", "0008_accrual_records_and_plan_rules"),
    ]

    operations = [
        migrations.AddField(
            model_name="commissionplan",
            name="name_en",
            field=models.CharField(
                blank=True,
                help_text="Shown to distributors who read the site in English; empty: the name.",
                max_length=100,
                verbose_name="name (English)",
            ),
        ),
        migrations.AlterField(
            model_name="commissionplan",
            name="name",
            field=models.CharField(
                help_text="Distributors see it with their commissions; in Chinese.",
                max_length=100,
                verbose_name="name",
            ),
        ),
        migrations.RunPython(name_the_default_plan_in_both_languages, back_to_the_english_name),
    ]
