"""The email channel: the order emails as they always were, a plain email for every
other event, one Message-ID per delivery whatever the resends, and SMTP errors
sorted into those worth retrying and those that are final."""

import smtplib
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from notifications import deliveries
from notifications import email as channel
from notifications.models import Channel, Delivery, Kind, NotificationSettings, SiteMessage
from notifications.services import notify
from orders import aftersale
from orders import services as order_services
from orders.models import AfterSaleRequest
from tests.orders.aftersale_helpers import pay, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", is_staff=True, is_superuser=True)


def english(user):
    NotificationSettings.objects.create(user=user, language="en")


def told(user, kind=Kind.WITHDRAWAL_PAID, key="withdrawal:1:paid", **extra) -> SiteMessage:
    """A site message of a generic kind (no dedicated email), with its email delivery."""
    return notify(
        user,
        kind,
        key=key,
        context={"withdrawal": _Withdrawal(), **extra},
        link="/distributor/earnings/withdrawals/1/",
    )


class _Withdrawal:
    pk = 1
    net_amount = amount = "6.00"

    def get_method_display(self):
        return "Alipay account"


def email_of(message: SiteMessage) -> Delivery:
    return message.deliveries.get(channel=Channel.EMAIL)


# --- the order emails ------------------------------------------------------------------


def old_render(kind, order, after_sale=None):
    """The order email as orders.notifications rendered it before notifications sent it."""
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "after_sale": after_sale,
        "refund_amount": after_sale.amount if after_sale else None,
        "after_sale_days": settings.AFTER_SALE_DAYS,
    }
    with translation.override(order.language):
        context["order_url"] = "http://127.0.0.1:9" + order.get_absolute_url()
        subject = render_to_string(f"emails/order_{kind}_subject.txt", context)
        body = render_to_string(f"emails/order_{kind}.txt", context)
    return " ".join(subject.split()), body


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_order_emails_are_the_ones_of_before(
    shopper, variant, address, staff, language, django_capture_on_commit_callbacks
):
    with translation.override(language), django_capture_on_commit_callbacks(execute=True):
        order = order_services.place_order(shopper, [(variant.pk, 2)], address=address)
    with django_capture_on_commit_callbacks(execute=True):
        order = pay(order)
    with django_capture_on_commit_callbacks(execute=True):
        order = ship(order, staff)
    request = aftersale.request_refund(
        order, user=shopper, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="changed_mind"
    )
    with django_capture_on_commit_callbacks(execute=True):
        aftersale.reject(request, actor=staff, note="拆封影响二次销售")
    request.refresh_from_db()

    sent = [(email.subject, email.body) for email in mail.outbox]
    assert sent == [
        old_render("placed", order),
        old_render("paid", order),
        old_render("shipped", order),
        old_render("refund_decided", order, request),
    ]
    assert all(email.to == ["shopper@example.com"] for email in mail.outbox)
    assert "SBX100" in mail.outbox[2].body
    assert ("运单号" if language == "zh-hans" else "Tracking number") in mail.outbox[2].body


def test_a_legacy_email_task_still_queued_sends_once(
    shopper, variant, address, django_capture_on_commit_callbacks
):
    from orders.tasks import send_order_email

    with django_capture_on_commit_callbacks(execute=True):
        order = order_services.place_order(shopper, [(variant.pk, 1)], address=address)
    # given: a "paid" email enqueued by the code of before, and the "placed" one again
    with django_capture_on_commit_callbacks(execute=True):
        assert send_order_email.delay(order.pk, "paid").get() is True
    with django_capture_on_commit_callbacks(execute=True):
        send_order_email.delay(order.pk, "paid")
        send_order_email.delay(order.pk, "placed")

    assert [email.subject for email in mail.outbox] == [
        f"我们已收到您的订单 {order.number}",
        f"订单 {order.number} 已付款成功",
    ]


# --- the generic email -------------------------------------------------------------------


def test_an_event_without_an_email_of_its_own_mails_its_message_with_a_link(
    shopper, django_capture_on_commit_callbacks
):
    english(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        message = told(shopper)

    sent = mail.outbox[0]
    assert sent.to == ["shopper@example.com"]
    assert sent.subject == message.title == "Withdrawal #1 paid"
    assert message.body in sent.body
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html" and "Withdrawal #1 paid" in html


@pytest.mark.parametrize(
    ("happened_in", "reader", "url"),
    [
        ("zh-hans", "en", "http://127.0.0.1:9/en/distributor/earnings/withdrawals/1/"),
        ("en", "zh-hans", "http://127.0.0.1:9/distributor/earnings/withdrawals/1/"),
    ],
)
def test_the_link_is_on_the_public_address_in_the_readers_language(
    shopper, happened_in, reader, url, django_capture_on_commit_callbacks
):
    NotificationSettings.objects.create(user=shopper, language=reader)
    with translation.override(happened_in), django_capture_on_commit_callbacks(execute=True):
        notify(
            shopper,
            Kind.COMMISSION_RELEASED,
            key="order:1:commission_released",
            context={"amount": "1.00", "order": {"number": "N1"}},
            link=reverse("commissions:withdrawal_detail", args=[1]),
        )

    assert f"{url}\n" in mail.outbox[0].body


def test_the_generic_email_does_not_escape_the_plain_text(
    shopper, django_capture_on_commit_callbacks
):
    english(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        told(shopper, kind=Kind.WITHDRAWAL_REJECTED, key="withdrawal:1:x", reason="A & B <x>")

    assert "Reason: A & B <x>" in mail.outbox[0].body
    assert "A &amp; B &lt;x&gt;" in mail.outbox[0].alternatives[0][0]


# --- one message however often it is sent --------------------------------------------------


def test_a_resend_carries_the_same_message_id(shopper):
    delivery = email_of(told(shopper))

    channel.send(delivery)
    channel.send(delivery)

    first, second = mail.outbox
    assert first.message()["Message-ID"] == second.message()["Message-ID"]
    assert first.message()["Message-ID"] == f"<n{delivery.message_id}-email@127.0.0.1>"


def test_a_send_cut_short_by_a_dead_worker_goes_again_under_its_message_id(shopper):
    delivery = email_of(told(shopper))
    # given: a worker claimed it and died mid-send, long enough ago
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=5)
    )

    assert deliveries.deliver(delivery.pk) == Delivery.Status.SENT
    assert deliveries.deliver(delivery.pk) == Delivery.Status.SENT  # a redelivery

    assert len(mail.outbox) == 1
    assert mail.outbox[0].message()["Message-ID"] == channel.message_id(delivery)
    delivery.refresh_from_db()
    assert delivery.provider_ref == channel.message_id(delivery)


def test_the_message_id_names_the_sender_domain_without_a_site_address(shopper, settings):
    settings.SITE_URL = ""
    settings.DEFAULT_FROM_EMAIL = "醉香商城 <mall@zuixiang.example>"
    delivery = email_of(told(shopper))

    assert channel.message_id(delivery) == f"<n{delivery.message_id}-email@zuixiang.example>"


# --- SMTP errors -----------------------------------------------------------------------


@pytest.fixture
def smtp(monkeypatch):
    """smtp.fails(error): the next sends raise `error`, as Django's SMTP backend would."""

    class Server:
        error: Exception | None = None

        def fails(self, error):
            self.error = error

    server = Server()

    def send(message, fail_silently=False):
        if server.error is not None:
            raise server.error
        mail.outbox.append(message)
        return 1

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    return server


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        TimeoutError("timed out"),
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPDataError(451, b"Try again later"),
    ],
    ids=["disconnected", "timeout", "refused", "451"],
)
def test_a_mail_server_away_or_busy_is_tried_again(shopper, smtp, error):
    delivery = email_of(told(shopper))
    smtp.fails(error)

    with pytest.raises(deliveries.TemporaryFailure):
        deliveries.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.reason

    smtp.fails(None)
    assert deliveries.deliver(delivery.pk) == Delivery.Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPRecipientsRefused({"shopper@example.com": (550, b"No such user")}),
        smtplib.SMTPDataError(554, b"Message rejected"),
    ],
    ids=["recipient", "message"],
)
def test_a_refused_recipient_fails_for_good(shopper, smtp, error):
    delivery = email_of(told(shopper))
    smtp.fails(error)

    assert deliveries.deliver(delivery.pk) == Delivery.Status.FAILED
    delivery.refresh_from_db()
    assert delivery.reason and mail.outbox == []
    assert deliveries.deliver(delivery.pk) == Delivery.Status.FAILED  # not tried again


@pytest.mark.parametrize(("configured", "waited"), [(None, channel.SEND_TIMEOUT), (5, 5)])
def test_a_silent_mail_server_fails_the_send_within_the_lease(
    shopper, settings, monkeypatch, configured, waited
):
    from django.core.mail.backends import smtp

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_TIMEOUT = configured
    timeouts = []
    monkeypatch.setattr(
        smtp.EmailBackend, "send_messages", lambda self, messages: timeouts.append(self.timeout)
    )

    channel.send(email_of(told(shopper)))

    assert timeouts == [waited]
    assert waited < deliveries.LEASE.total_seconds() / 2


def test_email_cannot_be_asked_whether_it_went(shopper):
    assert channel.was_sent(email_of(told(shopper))) is None
