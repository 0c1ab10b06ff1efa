"""Reconciliation (对账): asking the gateways about what is in flight, and daily bills.

`query_in_flight` runs every few minutes: a payment still unpaid some minutes
after the shopper left for the gateway, and a refund still PROCESSING, are
asked about, and the answer goes through the same services as a notification,
so a lost notification never leaves a paid order unpaid nor a refund
unrecorded. `check_bill` compares one day's bill of a gateway line by line
with our payments and refunds and keeps the differences for finance.
"""

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.money import ZERO

from . import services
from .gateways import GatewayError, Notification, get_gateway, offered_gateways
from .gateways import base as states
from .models import BillCheck, BillDifference, Payment, PaymentNotification, Refund

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the gateways' bills are by China's calendar day
# Payments are asked about for this long after the shopper left for the gateway.
QUERY_WINDOW = timedelta(days=2)
BATCH = 200


def _payments_due(now):
    """Unpaid payments the shopper left for the gateway a while ago, not asked about lately."""
    after = settings.PAYMENT_QUERY_AFTER
    return Payment.objects.filter(
        Q(last_queried_at__isnull=True) | Q(last_queried_at__lte=now - after),
        status=Payment.Status.CREATED,
        started_at__lte=now - after,
        started_at__gte=now - QUERY_WINDOW,
    )


def query_in_flight(*, now: datetime | None = None) -> dict[str, int]:
    """Ask the gateways about stale unpaid payments and PROCESSING refunds; returns counts.

    Each answer is applied by the services notifications use, under the same
    locks, so a query racing a notification still moves an order once.
    """
    now = now or timezone.now()
    counts = {"payments": 0, "paid": 0, "refunds": 0, "settled": 0}
    payments = list(_payments_due(now).order_by("started_at")[:BATCH])
    Payment.objects.filter(pk__in=[p.pk for p in payments]).update(last_queried_at=now)
    for payment in payments:
        counts["payments"] += 1
        if query_payment(payment) == "paid":
            counts["paid"] += 1
    refunds = Refund.objects.filter(
        status=Refund.Status.PROCESSING, created_at__lte=now - settings.PAYMENT_QUERY_AFTER
    ).select_related("payment")
    for refund in refunds.order_by("created_at")[:BATCH]:
        counts["refunds"] += 1
        try:
            result = get_gateway(refund.payment.gateway).query_refund(refund)
        except (GatewayError, LookupError, NotImplementedError) as exc:
            logger.warning("refund %s: query failed: %s", refund.request_no, exc)
            continue
        if result.state != states.PENDING:
            services.settle_refund(
                refund.payment.gateway, result, kind=PaymentNotification.Kind.QUERY
            )
            counts["settled"] += 1
    return counts


def query_payment(payment: Payment) -> str:
    """Ask the gateway about one payment and apply a SUCCEEDED answer; returns the outcome."""
    try:
        status = get_gateway(payment.gateway).query(payment)
    except (GatewayError, LookupError, NotImplementedError) as exc:
        logger.warning("payment %s: query failed: %s", payment.reference, exc)
        return "unknown"
    if status.state != states.SUCCEEDED:
        return status.state
    notification = Notification(
        reference=payment.reference,
        trade_no=status.trade_no,
        amount=status.amount if status.amount is not None else payment.amount,
        succeeded=True,
        payload={"source": "query", **status.payload},
    )
    try:
        return services.handle_notification(
            payment.gateway, notification, kind=PaymentNotification.Kind.QUERY
        )
    except services.PaymentError as exc:
        logger.error("payment %s: the gateway's answer was refused: %r", payment.reference, exc)
        return "refused"


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


def _ours(gateway_code: str, day: date) -> dict[tuple[str, str], tuple[str, Decimal]]:
    """Our payments and refunds of `day` at `gateway_code`: (kind, reference) -> (id, amount)."""
    start, end = _day_bounds(day)
    ours = {}
    for reference, trade_no, amount in Payment.objects.filter(
        gateway=gateway_code, succeeded_at__gte=start, succeeded_at__lt=end
    ).values_list("reference", "gateway_trade_no", "amount"):
        ours[("payment", reference)] = (trade_no, amount)
    for request_no, gateway_reference, amount in (
        Refund.objects.filter(
            payment__gateway=gateway_code, created_at__gte=start, created_at__lt=end
        )
        .exclude(status=Refund.Status.FAILED)
        .values_list("request_no", "gateway_reference", "amount")
    ):
        ours[("refund", request_no)] = (gateway_reference, amount)
    return ours


def _recorded_elsewhere(lines, ours) -> dict[tuple[str, str], Decimal]:
    """Our amounts of bill lines recorded on another day (a notification after
    midnight): two queries, whatever the number of such lines."""
    missing = {kind: [] for kind in ("payment", "refund")}
    for line in lines:
        if (line.kind, line.reference) not in ours:
            missing[line.kind].append(line.reference)
    found = {}
    for reference, amount in Payment.objects.filter(
        reference__in=missing["payment"], succeeded_at__isnull=False
    ).values_list("reference", "amount"):
        found[("payment", reference)] = amount
    for reference, amount in (
        Refund.objects.filter(request_no__in=missing["refund"])
        .exclude(status=Refund.Status.FAILED)
        .values_list("request_no", "amount")
    ):
        found[("refund", reference)] = amount
    return found


@transaction.atomic
def check_bill(gateway_code: str, day: date) -> BillCheck:
    """Compare `gateway_code`'s bill of `day` with our records; returns the check.

    Runs again over the same day replace that day's differences (they are
    derived, not money). A line of the bill recorded by us on the day before
    or after (a notification that crossed midnight) is not a difference.
    Raises GatewayError when the bill cannot be fetched: the task retries.
    """
    lines = get_gateway(gateway_code).bill(day)
    ours = _ours(gateway_code, day)
    elsewhere = _recorded_elsewhere(lines, ours)
    check, _ = BillCheck.objects.update_or_create(gateway=gateway_code, day=day)
    check.differences.all().delete()
    differences = []
    theirs = {}
    for line in lines:
        theirs[(line.kind, line.reference)] = line
        mine = ours.get((line.kind, line.reference))
        amount = mine[1] if mine else elsewhere.get((line.kind, line.reference))
        if amount is None:
            kind = BillDifference.Kind.MISSING_HERE
        elif amount != line.amount:
            kind = BillDifference.Kind.AMOUNT_DIFFERS
        else:
            continue
        differences.append(
            BillDifference(
                check_run=check,
                kind=kind,
                line_kind=line.kind,
                reference=line.reference,
                gateway_reference=line.gateway_reference,
                our_amount=amount,
                gateway_amount=line.amount,
            )
        )
    for (kind, reference), (gateway_reference, amount) in ours.items():
        if (kind, reference) not in theirs:
            differences.append(
                BillDifference(
                    check_run=check,
                    kind=BillDifference.Kind.MISSING_THERE,
                    line_kind=kind,
                    reference=reference,
                    gateway_reference=gateway_reference,
                    our_amount=amount,
                )
            )
    BillDifference.objects.bulk_create(differences)

    def net(items):
        return sum((amount if kind == "payment" else -amount for kind, amount in items), ZERO)

    check.gateway_lines = len(lines)
    check.our_lines = len(ours)
    check.gateway_total = net((line.kind, line.amount) for line in lines)
    check.our_total = net((kind, amount) for (kind, _ref), (_id, amount) in ours.items())
    check.save()
    return check


def check_bills(day: date | None = None) -> dict[str, int]:
    """Check the bill of `day` (default: yesterday in Shanghai) of every gateway that
    publishes one; returns the number of differences per gateway."""
    day = day or (timezone.now().astimezone(SHANGHAI) - timedelta(days=1)).date()
    found = {}
    for gateway in offered_gateways():
        try:
            found[gateway.code] = check_bill(gateway.code, day).differences.count()
        except NotImplementedError:  # the sandbox publishes no bill
            continue
    return found
