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
