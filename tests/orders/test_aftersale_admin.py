"""The back office: ship, type tracking steps, approve or reject refund requests."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from orders import aftersale
from orders.models import AfterSaleRequest, Order, TrackingEvent
from payments.models import Refund

from .aftersale_helpers import place_paid, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client, settings):
    settings.LANGUAGE_CODE = "en"
    return admin_client


@pytest.fixture
def requested(shopper, make_variant, address):
    order = place_paid(shopper, [(make_variant(price="30.00"), 2)], address)
    return aftersale.request_refund(
        order, user=shopper, kind="lines", reason="damaged", quantities={order.lines.get().pk: 1}
    )


def decide(client, request, **data):
    """What staff are told: the message after a decision, or the refusal on the form."""
    url = reverse("admin:orders_aftersalerequest_decide", args=[request.pk])
    response = client.post(url, data)
    told = [str(m) for m in get_messages(response.wsgi_request)]
    if response.status_code == 200:  # refused: the form again, with the reason
        told += [str(e) for e in response.context["form"].non_field_errors()]
    return told


def test_the_change_page_offers_the_decision(staff, requested):
    page = staff.get(reverse("admin:orders_aftersalerequest_change", args=[requested.pk]))
    assert page.status_code == 200 and "Approve and refund" in page.text


def test_approving_from_the_admin_refunds_once(staff, requested, admin_user):
    messages = decide(staff, requested, decision="approve", note="ok", restock="on")
    assert any("approved" in m for m in messages), messages

    messages = decide(staff, requested, decision="approve")

    assert any("already decided" in m for m in messages), messages
    assert Refund.objects.get().amount == Decimal("30.00")
    requested.refresh_from_db()
    assert (requested.status, requested.decided_by) == ("refunded", admin_user)


def test_rejecting_needs_a_note(staff, requested):
    messages = decide(staff, requested, decision="reject", note="")
    assert any("why" in m for m in messages), messages
    requested.refresh_from_db()
    assert requested.status == "requested"

    decide(staff, requested, decision="reject", note="worn")
    requested.refresh_from_db()
    assert (requested.status, requested.decision_note) == ("rejected", "worn")


def test_the_approve_action_reports_requests_it_cannot_refund(staff, requested, admin_user):
    aftersale.reject(requested, actor=admin_user, note="no")
    response = staff.post(
        reverse("admin:orders_aftersalerequest_changelist"),
        {"action": "approve_requests", "_selected_action": [requested.pk]},
        follow=True,
    )
    assert "already decided" in response.text
    assert not Refund.objects.exists()


def test_shipping_a_cancelled_order_from_the_admin_is_refused(staff, shopper, variant, address):
    from orders import services

    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    services.cancel_order(order)
    response = staff.post(
        reverse("admin:orders_order_ship", args=[order.pk]),
        {"carrier": "sandbox", "tracking_number": "X1"},
        follow=True,
    )
    assert "cannot become" in response.text
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_staff_type_tracking_steps_on_the_shipment(staff, shopper, variant, address, admin_user):
    order = ship(place_paid(shopper, [(variant, 1)], address), admin_user, carrier="顺丰")
    shipment = order.shipment
    url = reverse("admin:orders_shipment_change", args=[shipment.pk])
    assert "SF Express" in staff.get(url).text  # the carrier by name, in the reader's language
    now = timezone.localtime().strftime("%Y-%m-%d")
    response = staff.post(
        url,
        {
            "events-TOTAL_FORMS": "1",
            "events-INITIAL_FORMS": "0",
            "events-0-time_0": now,
            "events-0-time_1": "10:00:00",
            "events-0-place": "上海",
            "events-0-description": "到达上海转运中心",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    event = TrackingEvent.objects.get()
    assert (event.source, event.description) == ("admin", "到达上海转运中心")


def test_the_order_change_page_shows_shipment_and_requests(staff, requested):
    page = staff.get(reverse("admin:orders_order_change", args=[requested.order_id]))
    assert page.status_code == 200
    assert "after-sale" in page.text.lower()
    assert AfterSaleRequest.objects.count() == 1
