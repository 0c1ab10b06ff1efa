"""Emails to the shopper about their order, in the language they shopped in.

Each kind has templates/emails/order_<kind>_subject.txt and order_<kind>.txt
(and optionally order_<kind>.html). `schedule` sends once the current
transaction commits, through a Celery task, so a rolled-back change never
mails anyone and a slow mail server never holds a request.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from core import outbox
from core.site import public_url

logger = logging.getLogger(__name__)

PLACED = "placed"
PAID = "paid"
SHIPPED = "shipped"
REFUND_DECIDED = "refund_decided"
KINDS = (PLACED, PAID, SHIPPED, REFUND_DECIDED)


def schedule(order, kind: str, *, after_sale=None) -> None:
    """Send the `kind` email about `order` after the current transaction commits."""
    from .tasks import send_order_email

    if kind not in KINDS:
        raise ValueError(kind)
    after_sale_id = after_sale.pk if after_sale is not None else None
    outbox.enqueue(send_order_email, order.pk, kind, after_sale_id)


def render(order, kind: str, *, after_sale=None) -> tuple[str, str, str | None]:
    """(subject, text, html or None) of the `kind` email, in the order's language."""
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "after_sale": after_sale,
        "after_sale_days": settings.AFTER_SALE_DAYS,
    }
    with translation.override(order.language or settings.LANGUAGE_CODE):
        context["order_url"] = public_url(order.get_absolute_url())
        subject = render_to_string(f"emails/order_{kind}_subject.txt", context)
        text = render_to_string(f"emails/order_{kind}.txt", context)
        try:
            html = render_to_string(f"emails/order_{kind}.html", context)
        except TemplateDoesNotExist:
            html = None
    return " ".join(subject.split()), text, html


def send(order, kind: str, *, after_sale=None) -> bool:
    """Send now; False when the shopper left no email address."""
    if not order.user.email:
        logger.info("order %s: no email address for %s mail", order.number, kind)
        return False
    subject, text, html = render(order, kind, after_sale=after_sale)
    message = EmailMultiAlternatives(subject, text, to=[order.user.email])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
    return True
