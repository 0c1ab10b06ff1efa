from decimal import Decimal

import pytest
from django.urls import reverse

from commissions import services
from commissions.models import CommissionPlan
from orders import services as order_services

pytestmark = pytest.mark.django_db


def test_a_frozen_plan_is_read_only_in_the_admin(admin_client, default_plan):
    url = reverse("admin:commissions_commissionplan_change", args=[default_plan.pk])
    admin_client.post(url, {"name": "hacked", "levels": 3})
    default_plan.refresh_from_db()
    assert (default_plan.name, default_plan.levels) != ("hacked", 3)


def test_the_admin_makes_a_new_version_then_activates_it(admin_client, default_plan):
    changelist = reverse("admin:commissions_commissionplan_changelist")
    admin_client.post(
        changelist, {"action": "make_new_version", "_selected_action": [default_plan.pk]}
    )
    draft = CommissionPlan.objects.get(version=2)
    admin_client.post(changelist, {"action": "activate", "_selected_action": [draft.pk]})
    assert CommissionPlan.objects.get(is_active=True) == draft


def test_preview_compares_a_draft_with_the_active_plan_on_recent_orders(
    admin_client, default_plan, shopper, chain, make_variant, address
):
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    order_services.mark_paid(order)
    draft = services.new_version(default_plan)
    draft.level_1_rate = Decimal("0.2")
    draft.save()

    page = admin_client.get(
        reverse("admin:commissions_commissionplan_preview", args=[draft.pk]), {"days": 7}
    )

    preview = page.context["preview"]
    assert preview.orders == 1
    assert (preview.active_total, preview.draft_total) == (Decimal("15.00"), Decimal("25.00"))
    assert preview.per_level[0] == (1, Decimal("10.00"), Decimal("20.00"))
    assert preview.changes == [("carol", Decimal("10.00"), Decimal("20.00"))]
    assert not CommissionPlan.objects.get(pk=draft.pk).is_active  # nothing was changed


ADD = reverse("admin:commissions_commissionplan_add")


def plan_form(**changes):
    """What the add form posts for a plan typed in percent, with these changes."""
    data = {
        "name": "春季方案",
        "name_en": "Spring plan",
        "levels": "2",
        "level_1_rate": "12.5",
        "level_2_rate": "5",
        "level_3_rate": "0",
        "payout_cap": "30",
        "self_purchase_rule": "recruiter_chain",
        "freeze_days": "7",
        "min_withdrawal": "50.00",
        "withdrawal_fee_rate": "0.6",
        "payout_methods": ["alipay", "bank_card"],
        "grade_rates-TOTAL_FORMS": "0",
        "grade_rates-INITIAL_FORMS": "0",
        "overrides-TOTAL_FORMS": "0",
        "overrides-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


@pytest.fixture
def staff_en(admin_client, settings):
    settings.LANGUAGE_CODE = "en"
    return admin_client


def test_rates_typed_in_percent_are_stored_as_the_fractions_the_math_uses(staff_en):
    response = staff_en.post(ADD, plan_form())
    assert response.status_code == 302, response.context["adminform"].form.errors

    plan = CommissionPlan.objects.get(name="春季方案")
    assert (plan.level_1_rate, plan.level_2_rate, plan.payout_cap) == (
        Decimal("0.1250"),
        Decimal("0.0500"),
        Decimal("0.3000"),
    )
    assert plan.withdrawal_fee_rate == Decimal("0.0060")
    # and the form shows them back in percent
    page = staff_en.get(reverse("admin:commissions_commissionplan_change", args=[plan.pk]))
    form = page.context["adminform"].form
    assert (form["level_1_rate"].value(), form["payout_cap"].value()) == ("12.5", "30")
    assert services.split_commission(Decimal("100.00"), plan.rates(), plan.payout_cap) == [
        Decimal("12.50"),
        Decimal("5.00"),
    ]


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("level_1_rate", "120", "Enter a percentage from 0 to 100."),
        ("level_2_rate", "-1", "Enter a percentage from 0 to 100."),
        ("level_1_rate", "ten", "Enter a percentage as a number, such as 10 or 2.5."),
        ("level_1_rate", "10.125", "Enter at most two decimal places, such as 2.55."),
        ("withdrawal_fee_rate", "25", "Enter a percentage from 0 to 20."),
    ],
)
def test_a_bad_percentage_is_refused_with_a_clear_message(staff_en, field, typed, message):
    response = staff_en.post(ADD, plan_form(**{field: typed}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not CommissionPlan.objects.filter(name="春季方案").exists()


def test_rates_above_the_cap_are_refused_in_percent(staff_en):
    response = staff_en.post(ADD, plan_form(level_1_rate="25", level_2_rate="10"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == ["The level rates add up to 35%, more than the payout cap 30%."]


def test_payout_methods_are_chosen_from_the_offered_ones(staff_en):
    page = staff_en.get(ADD)
    for method in ("alipay", "wechat", "bank_card"):
        assert f'type="checkbox" name="payout_methods" value="{method}"' in page.text

    staff_en.post(ADD, plan_form(payout_methods=["bank_card", "alipay"]))
    assert CommissionPlan.objects.get(name="春季方案").payout_methods == ["alipay", "bank_card"]

    response = staff_en.post(ADD, plan_form(name="另一个", payout_methods=["paypal"]))
    assert "payout_methods" in response.context["adminform"].form.errors
    response = staff_en.post(ADD, plan_form(name="另一个", payout_methods=[]))
    assert response.context["adminform"].form.errors["payout_methods"] == [
        "Choose at least one payout method."
    ]


def test_a_new_plan_starts_from_the_compliant_defaults(staff_en):
    form = staff_en.get(ADD).context["adminform"].form
    assert form["levels"].value() == 2
    assert form["payout_cap"].value() == "30"
    assert list(form["payout_methods"].value()) == ["alipay", "wechat", "bank_card"]


def test_the_plan_form_says_the_default_pays_two_levels_and_how_to_add_a_third(staff_en):
    page = staff_en.get(ADD).text
    assert "two levels" in page and "Levels to 3" in page


def test_more_than_three_levels_is_refused(staff_en):
    response = staff_en.post(ADD, plan_form(levels="4"))
    assert response.context["adminform"].form.errors["levels"] == [
        "A plan may pay at most 3 levels."
    ]


def test_distributors_read_the_plan_name_in_their_language(default_plan, settings):
    from django.utils import translation

    default_plan.name, default_plan.name_en = "默认两级方案", "Default two-tier plan"
    with translation.override("en"):
        assert default_plan.display_name == "Default two-tier plan"
    with translation.override("zh-hans"):
        assert default_plan.display_name == "默认两级方案"
    default_plan.name_en = ""
    with translation.override("en"):
        assert default_plan.display_name == "默认两级方案"


def test_the_default_plan_is_named_in_both_languages(default_plan):
    assert (default_plan.name, default_plan.name_en) == ("默认两级方案", "Default two-tier plan")
