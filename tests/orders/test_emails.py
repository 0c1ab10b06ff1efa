import pytest
from django.core import mail
from django.utils import translation

from orders import aftersale, services
from orders.models import AfterSaleRequest, Order

from .aftersale_helpers import pay, ship

pytestmark = pytest.mark.django_db


def place(shopper, variant, address, language):
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    Order.objects.filter(pk=order.pk).update(language=language)
    order.refresh_from_db()
    return order


def test_the_shopper_is_mailed_when_the_order_is_placed_paid_and_shipped(
    shopper, variant, address, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["shopper@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        order = pay(order)
    assert len(mail.outbox) == 2 and order.number in mail.outbox[1].subject

    with django_capture_on_commit_callbacks(execute=True):
        services.ship_order(order, carrier="sandbox", tracking_number="SBX9", actor=admin_user)
    assert len(mail.outbox) == 3
    assert "SBX9" in mail.outbox[2].body and order.number in mail.outbox[2].subject


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["Shipping", "Total", "Tracking number"]), ("zh-hans", ["运费", "合计", "运单号"])],
)
def test_emails_are_written_in_the_language_of_the_order(
    shopper, variant, address, admin_user, language, words, django_capture_on_commit_callbacks
):
    # The language is the one the shopper ordered in, fixed when each event happens
    # (the email is written from the site message once the change commits).
    with translation.override(language), django_capture_on_commit_callbacks(execute=True):
        order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    order = pay(order)
    with django_capture_on_commit_callbacks(execute=True):
        services.ship_order(order, carrier="sandbox", tracking_number="SBX9", actor=admin_user)
    placed, shipped = mail.outbox[0], mail.outbox[-1]

    assert order.number in placed.subject
    assert all(word in placed.body + shipped.body for word in words)


def test_a_refund_decision_is_mailed_with_the_note(
    shopper, variant, address, admin_user, django_capture_on_commit_callbacks
):
    order = pay(place(shopper, variant, address, "en"))
    request = aftersale.request_refund(
        order, user=shopper, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="changed_mind"
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        aftersale.reject(request, actor=admin_user, note="Opened & used")
    assert len(mail.outbox) == 1
    assert "declined" in mail.outbox[0].subject
    assert "Opened & used" in mail.outbox[0].body  # plain text: not HTML-escaped


def test_no_mail_is_sent_when_the_change_rolls_back(shopper, variant, address, admin_user):
    order = pay(place(shopper, variant, address, "en"))
    mail.outbox.clear()
    ship(order, admin_user)  # inside the test transaction: never committed
    assert mail.outbox == []
