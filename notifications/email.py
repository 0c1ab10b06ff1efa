"""The email channel of site messages: ``send`` and ``was_sent`` (see notifications.deliveries).

An email is written in the message's language. An event whose spec names a
dedicated template (the order emails: ``emails/order_paid_subject.txt``,
``order_paid.txt`` and optionally ``order_paid.html``) is rendered from the
objects the message's ``data`` names ({"order": id, "after_sale": id}), as they
are when the email goes; any other event sends the generic
``emails/notification*`` made of the message's title, text and link.

Email cannot be asked whether a message went out, so a send retried after a
worker died mid-send goes again, under the same Message-ID (made from the
delivery's idempotency key): mail systems and clients treat it as the same
message, not a second one.
"""

import smtplib
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from core.site import public_url

from .deliveries import PermanentFailure, TemporaryFailure
from .events import event
from .models import Delivery, SiteMessage
from .services import in_language

__all__ = ["SEND_TIMEOUT", "message_id", "render", "send", "was_sent"]

# Seconds the SMTP client waits on each step of a send (connect, each command) when
# settings.EMAIL_TIMEOUT says nothing (Django's default waits forever): a dead mail
# server fails the send well within deliveries.LEASE, before another worker may
# take the delivery over and send it a second time.
SEND_TIMEOUT = 10


def _domain() -> str:
    """The right side of our Message-IDs: the site's host, else the sender's domain."""
    host = urlsplit(settings.SITE_URL).hostname
    if host:
        return host
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("<> ") or "localhost"


def message_id(delivery: Delivery) -> str:
    """The Message-ID header of `delivery`: the same for every send of it."""
    return f"<{delivery.idempotency_key}@{_domain()}>"


def _order_context(data: dict) -> dict:
    from orders.models import AfterSaleRequest, Order  # orders calls notifications

    order = Order.objects.select_related("user").get(pk=data["order"])
    after_sale = (
        AfterSaleRequest.objects.get(pk=data["after_sale"]) if data.get("after_sale") else None
    )
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "after_sale": after_sale,
        # A refund without an after-sale request (the merchant's full refund) names its amount.
        "refund_amount": (
            after_sale.amount if after_sale is not None else Decimal(data.get("amount") or 0)
        ),
        "after_sale_days": settings.AFTER_SALE_DAYS,
        "order_url": public_url(order.get_absolute_url()),
    }


def _generic_context(message: SiteMessage) -> dict:
    link = in_language(message.link, translation.get_language()) if message.link else "/"
    return {
        "message": message,
        "title": message.title,
        "body": message.body,
        "url": public_url(link),
        "recipient": message.recipient,
    }


def render(message: SiteMessage) -> tuple[str, str, str | None]:
    """(subject, text, html or None) of the email of `message`, in its language."""
    base = event(message.kind).email
    with translation.override(message.language or settings.LANGUAGE_CODE):
        if base:
            template, context = f"emails/{base}", _order_context(message.data)
        else:
            template, context = "emails/notification", _generic_context(message)
        subject = render_to_string(f"{template}_subject.txt", context)
        text = render_to_string(f"{template}.txt", context)
        try:
            html = render_to_string(f"{template}.html", context)
        except TemplateDoesNotExist:
            html = None
    return " ".join(subject.split()), text, html


def send(delivery: Delivery) -> str:
    """Send the email of `delivery` to its address; returns its Message-ID.

    Raises PermanentFailure when the server refuses the recipient (or the
    message, with a 5xx), TemporaryFailure when it cannot be reached, drops
    the connection or times out.
    """
    subject, text, html = render(delivery.message)
    reference = message_id(delivery)
    email = EmailMultiAlternatives(
        subject,
        text,
        to=[delivery.address],
        headers={"Message-ID": reference},
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT or SEND_TIMEOUT),
    )
    if html:
        email.attach_alternative(html, "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
    except smtplib.SMTPDataError as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"message refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        raise TemporaryFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
    except OSError as exc:  # SMTPServerDisconnected, other SMTP errors, refused, timeouts
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
    return reference


def was_sent(delivery: Delivery) -> None:
    """Email cannot be asked whether a message went out: resent under its Message-ID."""
    return None
