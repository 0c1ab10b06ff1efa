"""Outside a demo site the sandbox gateway cannot pay anything: it pays with nothing."""

from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from orders import services as order_services
from orders.models import Order
from payments.checks import check_sandbox_only_on_a_demo_site
from payments.gateways import sandbox
from payments.models import Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.DEMO_SITE = False
    settings.PAYMENT_GATEWAYS = ["sandbox"]


@pytest.fixture
def order(shopper, variant, address):
    return order_services.place_order(shopper, [(variant.pk, 1)], address=address)


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


def deploy_check_ids() -> list[str]:
    return [message.id for message in run_checks(include_deployment_checks=True)]


def test_listing_the_sandbox_outside_a_demo_site_fails_the_deploy_check(production):
    assert "payments.E006" in deploy_check_ids()
    assert check_sandbox_only_on_a_demo_site(None)[0].is_serious()
    # an Error of `check --deploy`; everyday commands (migrate, makemigrations) still run
    assert "payments.E006" not in [message.id for message in run_checks()]


def test_the_sandbox_on_a_demo_site_passes_the_check(settings):
    settings.PAYMENT_GATEWAYS, settings.DEMO_SITE = ["sandbox"], True
    assert check_sandbox_only_on_a_demo_site(None) == []
    assert "payments.E006" not in deploy_check_ids()


def test_the_cashier_does_not_offer_the_sandbox_in_production(production, signed_in, order):
    page = signed_in.get(reverse("payments_pages:cashier", args=[order.number]))
    assert page.context["options"] == []
    assert 'value="sandbox"' not in page.content.decode()


def test_a_shopper_cannot_pay_with_the_sandbox_in_production(production, signed_in, order):
    # when: the attacker's two posts, pay now with the sandbox, then "confirm"
    start = signed_in.post(
        reverse("payments_pages:start", args=[order.number]), {"gateway": "sandbox"}
    )
    assert start.status_code == 404
    # a sandbox payment left from before (or made by hand) cannot be confirmed either
    payment = Payment.objects.create(order=order, gateway="sandbox", amount=order.total)
    page = reverse("payments_pages:sandbox", args=[payment.reference])
    assert signed_in.get(page).status_code == 404
    assert signed_in.post(page).status_code == 404
    # nor paid by a notification signed with the sandbox's key
    notify = signed_in.post(
        reverse("payments:notify", args=["sandbox"]), sandbox.build_notification(payment)
    )
    assert notify.status_code == 404
    # then
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert order.status == Order.Status.PENDING_PAYMENT


def test_seed_demo_refuses_outside_a_demo_site_and_creates_nobody(
    production, django_user_model, default_plan
):
    # translated (zh-hans here); the setting to turn on is named in any language
    with pytest.raises(CommandError, match="DEMO_SITE=true"):
        call_command("seed_demo", stdout=StringIO())
    assert not django_user_model.objects.filter(username="admin").exists()
    assert django_user_model.objects.count() == 0
