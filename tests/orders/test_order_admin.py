"""The order and after-sale pages of the back office: what staff read, and what they
can (and cannot) do there."""

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import pgettext

from core.money import format_cny
from orders import aftersale, services
from orders.admin import EVENT_NOTES, event_note
from orders.models import OrderEvent

from .aftersale_helpers import place_paid

pytestmark = pytest.mark.django_db

SAVE_BUTTON = 'name="_save"'


@pytest.fixture
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def referred_order(shopper, make_variant, address, chain):
    """A paid order placed through carol's link: carol, bob and alice are its chain."""
    carol = chain[2]
    order = services.place_order(
        shopper,
        [(make_variant(price="30.00").pk, 2)],
        address=address,
        referral_code=carol.invite_code,
    )
    from .aftersale_helpers import pay

    return pay(order)


def test_the_order_page_reads_statuses_and_names_not_codes_and_ids(
    admin_client, chinese, referred_order, chain
):
    alice, bob, carol = chain
    page = admin_client.get(reverse("admin:orders_order_change", args=[referred_order.pk]))
    text = page.text

    # given an order that went from awaiting payment to paid
    assert page.status_code == 200
    # then its events say so in words, never by the stored code
    assert "待付款" in text and "已付款" in text
    assert "pending_payment" not in text
    # and its referral chain is the distributors' names, linked to their pages
    for member in (carol, bob, alice):
        assert member.user.username in text
        assert reverse("admin:distributors_distributor_change", args=[member.pk]) in text
    assert str(referred_order.referral_chain) not in text
    # and the checkout token, an internal, is not shown
    assert str(referred_order.checkout_token) not in text
    # and amounts read as money
    assert format_cny(referred_order.total) in text
    # and a line's paid amount is headed as an amount, not a time of payment
    header = re.search(r'class="column-paid_amount_cny">\s*([^<\s]+)', text)
    assert header.group(1) == "实付金额"


def test_the_order_list_shows_amounts_as_money(admin_client, referred_order):
    page = admin_client.get(reverse("admin:orders_order_changelist"))
    assert format_cny(referred_order.total) in page.text


def test_event_notes_written_in_english_are_shown_in_the_readers_language():
    english = services.RECEIPT_NOTE + " automatically"
    with translation.override("en"):
        assert event_note(english) == "receipt confirmed automatically"
        assert event_note("SF SF100") == "SF SF100"  # a carrier and number read as stored
    with translation.override("zh-hans"):
        # each known part is looked up in the catalog, under the "order event" context
        assert event_note(english) == " ".join(
            pgettext("order event", part) for part in ("receipt confirmed", "automatically")
        )
        assert event_note(english) == "确认收货 自动"


def test_a_shipping_note_names_its_carrier_not_its_code():
    # services.ship_order writes the carrier's code and the tracking number
    with translation.override("zh-hans"):
        assert event_note("shunfeng SF100") == "顺丰速运 SF100"
    with translation.override("en"):
        assert event_note("jtexpress JT100") == "J&T Express JT100"


def test_every_note_the_services_write_is_shown_translated():
    written = {value for name, value in vars(services).items() if name.endswith("_NOTE")}
    assert written == set(EVENT_NOTES)


def test_the_events_inline_shows_the_translated_note(admin_client, referred_order, settings):
    settings.LANGUAGE_CODE = "en"
    OrderEvent.objects.filter(order=referred_order).update(note="payment timeout")
    page = admin_client.get(reverse("admin:orders_order_change", args=[referred_order.pk]))
    assert "payment timeout" in page.text and "Awaiting payment" in page.text


@pytest.mark.parametrize("page_of", ["order", "aftersalerequest"])
def test_read_only_pages_offer_no_save_button(
    admin_client, shopper, make_variant, address, page_of
):
    order = place_paid(shopper, [(make_variant(price="30.00"), 1)], address)
    request = aftersale.request_refund(order, user=shopper, kind="whole", reason="damaged")
    obj = order if page_of == "order" else request
    page = admin_client.get(reverse(f"admin:orders_{page_of}_change", args=[obj.pk]))
    assert page.status_code == 200
    assert SAVE_BUTTON not in page.text and 'name="_continue"' not in page.text


def test_the_after_sale_page_renders_its_decision_form(admin_client, shopper, variant, address):
    order = place_paid(shopper, [(variant, 1)], address)
    request = aftersale.request_refund(order, user=shopper, kind="whole", reason="damaged")
    page = admin_client.get(reverse("admin:orders_aftersalerequest_change", args=[request.pk]))
    form = page.context["decide_form"]
    assert set(form.fields) == {"decision", "note", "restock"}
    decide_url = reverse("admin:orders_aftersalerequest_decide", args=[request.pk])
    assert f'action="{decide_url}"' in page.text
    assert 'name="note"' in page.text and 'name="restock"' in page.text
    assert 'value="approve"' in page.text and 'value="reject"' in page.text


def test_a_refused_decision_keeps_the_note_typed(admin_client, shopper, variant, address, settings):
    settings.LANGUAGE_CODE = "en"
    order = place_paid(shopper, [(variant, 1)], address)
    request = aftersale.request_refund(order, user=shopper, kind="whole", reason="damaged")
    response = admin_client.post(
        reverse("admin:orders_aftersalerequest_decide", args=[request.pk]),
        {"decision": "maybe", "note": "photos please"},
    )
    assert response.status_code == 200
    assert "Choose to approve or to reject." in response.text
    assert "photos please" in response.text


def test_a_decided_request_has_no_decision_panel(
    admin_client, admin_user, shopper, variant, address
):
    order = place_paid(shopper, [(variant, 1)], address)
    request = aftersale.request_refund(order, user=shopper, kind="whole", reason="damaged")
    aftersale.reject(request, actor=admin_user, note="no photos")
    page = admin_client.get(reverse("admin:orders_aftersalerequest_change", args=[request.pk]))
    assert 'id="decide-form"' not in page.text


def test_the_order_list_says_receipt_confirmed_when_the_shopper_confirmed_first(
    admin_client, chinese, shopper, variant, address, admin_user
):
    from .aftersale_helpers import ship

    order = ship(place_paid(shopper, [(variant, 1)], address), admin_user)
    services.confirm_receipt(order, actor=shopper)

    page = admin_client.get(reverse("admin:orders_order_changelist"))

    # the carrier has not signed for it: the order's row says what the shopper did
    assert '<td class="field-status_badge">已确认收货</td>' in page.text


def test_the_order_page_links_the_shopper_to_their_customer_page(admin_client, referred_order):
    page = admin_client.get(reverse("admin:orders_order_change", args=[referred_order.pk]))
    customer = reverse("admin:crm_customerprofile_change", args=[referred_order.user_id])

    assert customer in page.text
    assert admin_client.get(customer).status_code == 200


def test_staff_who_may_not_read_customers_see_the_shopper_without_a_link(
    client, django_user_model, referred_order
):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)

    page = client.get(reverse("admin:orders_order_change", args=[referred_order.pk]))

    assert page.status_code == 200
    assert "crm/customerprofile" not in page.text
    assert referred_order.user.get_username() in page.text


def test_the_shipment_list_filters_by_carrier_name(
    admin_client, chinese, shopper, variant, address, admin_user
):
    from .aftersale_helpers import ship

    ship(place_paid(shopper, [(variant, 1)], address), admin_user, carrier="shunfeng")

    page = admin_client.get(reverse("admin:orders_shipment_changelist"))

    # the filter offers the carrier by its name, the code stays in the link
    assert re.search(r'<a href="\?carrier=shunfeng"[^>]*>顺丰速运</a>', page.text)
    filtered = admin_client.get(reverse("admin:orders_shipment_changelist") + "?carrier=jd")
    assert filtered.context["cl"].result_count == 0
