"""Transfers (转账): paying a payee from the merchant's gateway account.

The payer's workflow (a withdrawal's approval, its ledger entries) belongs to
commissions; this module only executes the transfer at the gateway and keeps
what the gateway said. Our bill number is the idempotency key at the gateway:
`send_transfer` records the Transfer row (unique bill number) before it asks,
so a retry after a timeout, a second approval or a worker killed mid-call asks
again with the same number and the gateway pays it once.
"""

import dataclasses
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .gateways import GatewayError, TransferRequest, TransferResult, get_gateway
from .gateways import base as states
from .models import PaymentNotification, Transfer
from .services import UnknownPayment, notify_url

logger = logging.getLogger(__name__)

_STATUS = {
    states.PENDING: Transfer.Status.PROCESSING,
    states.WAITING_CONFIRMATION: Transfer.Status.WAITING_CONFIRMATION,
    states.SUCCEEDED: Transfer.Status.SUCCEEDED,
    states.CLOSED: Transfer.Status.FAILED,
}


def send_transfer(gateway_code: str, request: TransferRequest) -> Transfer:
    """Pay `request` through `gateway_code` once; returns the Transfer as the gateway left it.

    Must not run inside a transaction (the row is committed before the gateway
    is asked). A transfer already finished is returned as it is. When the
    gateway cannot be reached the transfer stays PROCESSING and `check_transfer`
    (the poller) asks again with the same bill number.
    """
    transfer, _created = Transfer.objects.get_or_create(
        bill_no=request.bill_no,
        defaults={
            "gateway": gateway_code,
            "amount": request.amount,
            "account": request.account,
            "name": request.name,
            "remark": request.remark[:64],
        },
    )
    if not transfer.is_open:
        return transfer
    if not request.notify_url:
        request = dataclasses.replace(request, notify_url=notify_url(gateway_code, kind="transfer"))
    try:
        result = get_gateway(gateway_code).transfer(request)
    except GatewayError as exc:
        logger.warning("transfer %s: gateway did not answer: %s", request.bill_no, exc)
        Transfer.objects.filter(pk=transfer.pk).update(last_queried_at=timezone.now())
        transfer.refresh_from_db()
        return transfer
    apply_result(gateway_code, result, record=None)
    transfer.refresh_from_db()
    return transfer


def check_transfer(bill_no: str) -> Transfer:
    """Ask the gateway what became of an open transfer; returns it as it is now.

    A transfer the gateway never received (it answers CLOSED "not found") is
    failed: the bill number is not used again, so it can never be paid later.
    """
    transfer = Transfer.objects.get(bill_no=bill_no)
    if not transfer.is_open:
        return transfer
    Transfer.objects.filter(pk=transfer.pk).update(last_queried_at=timezone.now())
    try:
        result = get_gateway(transfer.gateway).query_transfer(bill_no)
    except GatewayError as exc:
        logger.warning("transfer %s: query failed: %s", bill_no, exc)
        return transfer
    apply_result(transfer.gateway, result, record=PaymentNotification.Kind.QUERY)
    transfer.refresh_from_db()
    return transfer


@transaction.atomic
def apply_result(
    gateway_code: str, result: TransferResult, *, record=PaymentNotification.Kind.TRANSFER
) -> str:
    """Apply what the gateway says of a transfer: its answer, a notification, a query.

    Under the transfer's row lock; a finished transfer never changes again
    ("duplicate"). A notification or a query is kept as a PaymentNotification of
    kind `record` (None: the gateway's direct answer, kept on the transfer only).
    Raises UnknownPayment for a bill number we never sent.
    """
    transfer = (
        Transfer.objects.select_for_update()
        .filter(bill_no=result.bill_no, gateway=gateway_code)
        .first()
    )
    if transfer is None:
        raise UnknownPayment(result.bill_no)
    if not transfer.is_open:
        return "duplicate"
    status = _STATUS[result.state]
    fields = ["status"]
    transfer.status = status
    if result.gateway_reference:
        transfer.gateway_reference = result.gateway_reference
        fields.append("gateway_reference")
    if result.confirmation:
        transfer.confirmation = result.confirmation
        fields.append("confirmation")
    if status == Transfer.Status.FAILED:
        transfer.failure_reason = (result.reason or _("refused by the payment provider"))[:255]
        fields.append("failure_reason")
    if not transfer.is_open:
        transfer.finished_at = timezone.now()
        fields.append("finished_at")
    transfer.save(update_fields=fields)
    if record:
        PaymentNotification.objects.create(
            gateway=gateway_code,
            kind=record,
            payload=result.payload or {"bill_no": result.bill_no, "state": result.state},
            outcome=f"transfer {status}",
        )
    return status
