"""What each kind of event is: its category, its texts, and what email and SMS it sends.

The site message's title and text are rendered from
``templates/notifications/<kind>.txt`` (first line: the title; the rest: the
text) with the context the caller gives, in the recipient's language. The email
is ``templates/emails/<email>_subject.txt`` / ``<email>.txt`` / ``<email>.html``
when the event names one (the order emails), else the generic
``emails/notification*`` made from the site message. The SMS is the provider's
template ``settings.SMS_TEMPLATES[kind]`` with the parameters the caller gives;
a kind without a template sends no SMS.
"""

from dataclasses import dataclass

from .models import Category, Kind


@dataclass(frozen=True)
class Event:
    kind: str
    category: str
    # Base name of a dedicated email template (emails/order_paid...), else generic.
    email: str | None = None
    # Whether this kind may be sent by SMS at all (an SMS costs money: the
    # important news only). The person's settings and SMS_TEMPLATES decide further.
    sms: bool = False


EVENTS = {
    event.kind: event
    for event in (
        Event(Kind.ORDER_PLACED, Category.ORDERS, email="order_placed"),
        Event(Kind.ORDER_PAID, Category.ORDERS, email="order_paid"),
        Event(Kind.ORDER_SHIPPED, Category.ORDERS, email="order_shipped", sms=True),
        Event(Kind.ORDER_DELIVERED, Category.ORDERS),
        Event(Kind.REFUND_DECIDED, Category.ORDERS, email="order_refund_decided", sms=True),
        Event(Kind.COMMISSION_ACCRUED, Category.EARNINGS),
        Event(Kind.COMMISSION_RELEASED, Category.EARNINGS),
        Event(Kind.WITHDRAWAL_PAID, Category.EARNINGS, sms=True),
        Event(Kind.WITHDRAWAL_REJECTED, Category.EARNINGS, sms=True),
        Event(Kind.APPLICATION_DECIDED, Category.TEAM, sms=True),
        Event(Kind.GRADE_CHANGED, Category.TEAM),
        Event(Kind.TEAM_MEMBER_JOINED, Category.TEAM),
        Event(Kind.STAFF_REPLY, Category.SERVICE, sms=True),
    )
}


def event(kind: str) -> Event:
    return EVENTS[kind]
