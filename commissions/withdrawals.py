"""Withdrawals (提现): requesting, paying and rejecting, and the ledger entries they write.

The services of withdrawals, beside commissions.services (accrual, release,
reversal); reads are in commissions.selectors.

Invariants kept here: a request holds its amount at once (available -X,
held +X) and is accepted only under the distributor's row lock, so concurrent
requests of one distributor serialize and can never overdraw; a review claims
the withdrawal with a conditional update on its status, so a withdrawal is
paid or rejected once, whatever the number of clicks or reviewers.

Automatic payouts: approving claims the withdrawal for PAYING (the same
conditional update), and after the commit a task asks payments.transfers to
send the money under the withdrawal's own bill number, which the gateway pays
once however often it is asked. A transfer that succeeds spends the hold; one
the gateway refuses returns it with the gateway's reason (FAILED). A poller
settles transfers left in flight, and sends those whose task was lost.
"""

import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import wechat
from core import outbox
from core.errors import ServiceError
from core.money import ZERO, format_cny, to_cents
from distributors.models import Distributor
from notifications.models import Kind
from notifications.services import notify
from payments import transfers
from payments.gateways import TransferRequest
from payments.models import Transfer

from .models import LedgerEntry, PayoutMethod, PayoutSettings, Withdrawal
from .selectors import earnings_summary
from .services import active_plan

logger = logging.getLogger(__name__)


class WithdrawalError(ServiceError):
    """A withdrawal request or review refused; str() is a message for people.

    `field` names the form field the message belongs to (None: the whole form).
    """


class WithdrawalsClosed(WithdrawalError):
    def __init__(self):
        super().__init__(_("Withdrawals are not open at the moment. Please try again later."))


class DistributorInactive(WithdrawalError):
    def __init__(self):
        super().__init__(
            _("Your distributor account is suspended, so you cannot withdraw at the moment.")
        )


class InvalidAmount(WithdrawalError):
    field = "amount"

    def __init__(self):
        super().__init__(_("Enter an amount in yuan greater than zero, such as 100.00."))


class BelowMinimum(WithdrawalError):
    field = "amount"

    def __init__(self, minimum: Decimal):
        self.minimum = minimum
        super().__init__(
            _("The minimum withdrawal is %(minimum)s.") % {"minimum": format_cny(minimum)}
        )


class InsufficientBalance(WithdrawalError):
    field = "amount"

    def __init__(self, available: Decimal):
        self.available = available
        super().__init__(
            _("You can withdraw at most %(available)s, your available balance.")
            % {"available": format_cny(available)}
        )


class MethodNotAllowed(WithdrawalError):
    field = "method"

    def __init__(self, allowed: list[str]):
        super().__init__(
            _("Choose one of the payout methods offered: %(methods)s.")
            % {"methods": ", ".join(str(PayoutMethod(m).label) for m in allowed)}
        )


class MissingAccount(WithdrawalError):
    def __init__(self):
        super().__init__(_("Enter the name and number of the account to pay to."))


class MissingPayoutReference(WithdrawalError):
    field = "payout_reference"

    def __init__(self):
        super().__init__(_("Enter the reference of the transfer that paid this withdrawal."))


class MissingRejectReason(WithdrawalError):
    field = "reason"

    def __init__(self):
        super().__init__(_("Enter the reason for the rejection; the distributor will see it."))


class PayoutNotAutomatic(WithdrawalError):
    def __init__(self, withdrawal: Withdrawal):
        super().__init__(
            _(
                "Withdrawal #%(number)s (%(method)s) is paid by hand: "
                "mark it paid with the transfer's reference."
            )
            % {"number": withdrawal.pk, "method": withdrawal.get_method_display()}
        )


class NoWeChatIdentity(WithdrawalError):
    def __init__(self, withdrawal: Withdrawal):
        super().__init__(
            _(
                "Withdrawal #%(number)s cannot be paid by WeChat: "
                "the distributor has not signed in with WeChat."
            )
            % {"number": withdrawal.pk}
        )


class AlreadyReviewed(WithdrawalError):
    def __init__(self, withdrawal: Withdrawal, to_status: str):
        self.withdrawal = withdrawal
        super().__init__(
            _("Withdrawal #%(number)s is %(status)s and cannot become %(to)s.")
            % {
                "number": withdrawal.pk,
                "status": withdrawal.get_status_display(),
                "to": Withdrawal.Status(to_status).label,
            }
        )


def allowed_methods(plan) -> list[str]:
    """The payout methods of `plan`, in the order PayoutMethod lists them."""
    offered = set(plan.payout_methods or []) if plan else set()
    return [method for method in PayoutMethod.values if method in offered]


def _valid_amount(amount) -> Decimal:
    if isinstance(amount, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    try:
        amount = Decimal(amount)
    except (TypeError, ArithmeticError, ValueError):
        raise InvalidAmount() from None
    if not amount.is_finite() or amount <= ZERO or to_cents(amount) != amount:
        raise InvalidAmount()
    return to_cents(amount)


@transaction.atomic
def request_withdrawal(
    distributor: Distributor,
    *,
    amount: Decimal,
    method: str,
    account_name: str,
    account_number: str,
    request_token: uuid.UUID | None = None,
) -> Withdrawal:
    """Ask to withdraw `amount` of the available balance; holds it at once.

    A request repeated with the same `request_token` (a double submit) returns
    the withdrawal the first one made instead of a second.

    Refuses (WithdrawalError, nothing written) an amount that is not a
    positive number of fen, below the active plan's minimum or above the
    available balance, a payout method the plan does not offer, a missing
    account, and a distributor who is not active.

    Locks the distributor's row (FOR NO KEY UPDATE: it still lets orders and
    commissions that reference the distributor be inserted meanwhile) before
    reading the balance, so concurrent requests of one distributor run one
    after the other and each sees the holds of those before it.
    """
    amount = _valid_amount(amount)
    account_name, account_number = account_name.strip(), account_number.strip()
    if not account_name or not account_number:
        raise MissingAccount()
    plan = active_plan()
    if plan is None:
        raise WithdrawalsClosed()

    distributor = Distributor.objects.select_for_update(no_key=True).get(pk=distributor.pk)
    if request_token is not None:
        replayed = Withdrawal.objects.filter(
            distributor=distributor, request_token=request_token
        ).first()
        if replayed is not None:
            return replayed
    if not distributor.is_active:
        raise DistributorInactive()
    if method not in allowed_methods(plan):
        raise MethodNotAllowed(allowed_methods(plan))
    if amount < plan.min_withdrawal:
        raise BelowMinimum(plan.min_withdrawal)
    available = earnings_summary(distributor).available
    if amount > available:
        raise InsufficientBalance(max(available, ZERO))

    fee = to_cents(amount * plan.withdrawal_fee_rate)
    withdrawal = Withdrawal.objects.create(
        request_token=request_token,
        distributor=distributor,
        amount=amount,
        fee=fee,
        net_amount=amount - fee,
        method=method,
        account_name=account_name,
        account_number=account_number,
    )
    LedgerEntry.objects.create(
        distributor=distributor,
        withdrawal=withdrawal,
        kind=LedgerEntry.Kind.WITHDRAWAL_HELD,
        pending=ZERO,
        available=-amount,
        held=amount,
        note=f"#{withdrawal.pk}",
    )
    return withdrawal


def _end_hold(withdrawal: Withdrawal, kind: str, *, note: str) -> LedgerEntry:
    """The hold ends: spent when the money left (withdrawal_paid, held -amount), or
    back to available when it stays (withdrawal_returned)."""
    returned = kind == LedgerEntry.Kind.WITHDRAWAL_RETURNED
    return LedgerEntry.objects.create(
        distributor_id=withdrawal.distributor_id,
        withdrawal=withdrawal,
        kind=kind,
        pending=ZERO,
        available=withdrawal.amount if returned else ZERO,
        held=-withdrawal.amount,
        note=f"#{withdrawal.pk} {note}"[:255],
    )


def _tell(withdrawal: Withdrawal, kind: str, event: str, *, reason: str = "") -> None:
    """Tell the distributor their withdrawal closed (key withdrawal:<id>:<event>), in the
    transaction that closed it; `reason` is why it was rejected or failed."""
    distributor = Distributor.objects.select_related("user__notification_settings").get(
        pk=withdrawal.distributor_id
    )
    notify(
        distributor.user,
        kind,
        key=f"withdrawal:{withdrawal.pk}:{event}",
        context={"withdrawal": withdrawal, "reason": reason, "failed": event == "failed"},
        link=reverse("commissions:withdrawal_detail", args=[withdrawal.pk]),
        data={"withdrawal": withdrawal.pk},
        sms_params={
            "number": str(withdrawal.pk),
            "amount": str(
                withdrawal.net_amount if kind == Kind.WITHDRAWAL_PAID else withdrawal.amount
            ),
        },
    )


def _close(withdrawal: Withdrawal, to_status: str, *, reviewer, **fields) -> bool:
    """Claim an open withdrawal for `to_status`; True if this call moved it.

    False if it already had `to_status` (a repeated click, or a second
    reviewer): the caller returns it unchanged. AlreadyReviewed if it was
    closed the other way.
    """
    claimed = Withdrawal.objects.filter(
        pk=withdrawal.pk, status=Withdrawal.Status.REQUESTED
    ).update(status=to_status, reviewer=reviewer, reviewed_at=timezone.now(), **fields)
    withdrawal.refresh_from_db()
    if not claimed and withdrawal.status != to_status:
        raise AlreadyReviewed(withdrawal, to_status)
    return bool(claimed)


@transaction.atomic
def approve_withdrawal(withdrawal: Withdrawal, *, reviewer, payout_reference: str) -> Withdrawal:
    """Record that the merchant paid `withdrawal` (transfer `payout_reference`).

    The hold is spent (withdrawal_paid entry: held -amount). Idempotent:
    approving a paid withdrawal again changes nothing; approving a rejected
    one raises AlreadyReviewed.
    """
    payout_reference = payout_reference.strip()
    if not payout_reference:
        raise MissingPayoutReference()
    if _close(
        withdrawal, Withdrawal.Status.PAID, reviewer=reviewer, payout_reference=payout_reference
    ):
        _end_hold(withdrawal, LedgerEntry.Kind.WITHDRAWAL_PAID, note=payout_reference)
        _tell(withdrawal, Kind.WITHDRAWAL_PAID, "paid")
    return withdrawal


@transaction.atomic
def reject_withdrawal(withdrawal: Withdrawal, *, reviewer, reason: str) -> Withdrawal:
    """Refuse `withdrawal`: its hold returns to the available balance.

    Writes a withdrawal_returned entry (held -amount, available +amount).
    Idempotent: rejecting a rejected withdrawal again changes nothing;
    rejecting a paid one raises AlreadyReviewed.
    """
    reason = reason.strip()
    if not reason:
        raise MissingRejectReason()
    if _close(
        withdrawal, Withdrawal.Status.REJECTED, reviewer=reviewer, reject_reason=reason[:255]
    ):
        _end_hold(withdrawal, LedgerEntry.Kind.WITHDRAWAL_RETURNED, note=reason)
        _tell(withdrawal, Kind.WITHDRAWAL_REJECTED, "rejected", reason=reason)
    return withdrawal


# --- Automatic payouts (the gateways' transfer APIs) --------------------------------

GATEWAY_OF_METHOD = {PayoutMethod.ALIPAY: "alipay", PayoutMethod.WECHAT: "wechat"}


def is_automatic(withdrawal: Withdrawal) -> bool:
    """Whether the merchant has `withdrawal`'s method paid by the gateway, and offers it."""
    gateway = GATEWAY_OF_METHOD.get(withdrawal.method)
    return gateway in settings.PAYMENT_GATEWAYS and PayoutSettings.get_solo().is_automatic(
        withdrawal.method
    )


def _payee_account(withdrawal: Withdrawal) -> str:
    if withdrawal.method == PayoutMethod.WECHAT:
        openid = wechat.openid_for(withdrawal.distributor.user)
        if not openid:
            raise NoWeChatIdentity(withdrawal)
        return openid
    return withdrawal.account_number


def transfer_request(withdrawal: Withdrawal) -> TransferRequest:
    return TransferRequest(
        bill_no=withdrawal.payout_bill_no,
        amount=withdrawal.net_amount,
        account=_payee_account(withdrawal),
        name=withdrawal.account_name,
        remark=_("Commission withdrawal #%(number)s") % {"number": withdrawal.pk},
    )


@transaction.atomic
def start_payout(withdrawal: Withdrawal, *, reviewer) -> Withdrawal:
    """Approve `withdrawal` for its gateway's transfer API; the transfer runs after commit.

    Idempotent: a second approval (another reviewer, a double click) finds it
    PAYING already and changes nothing; the gateway is asked at most once per
    bill number. Refuses a method the merchant pays by hand, and a WeChat
    payout to a distributor without a WeChat identity (nothing changed).
    """
    from . import tasks  # tasks import this module

    withdrawal = Withdrawal.objects.select_related("distributor__user").get(pk=withdrawal.pk)
    if withdrawal.status in (Withdrawal.Status.PAYING, Withdrawal.Status.PAID):
        return withdrawal  # approved before: paying or paid, never again
    if withdrawal.status == Withdrawal.Status.REQUESTED:
        if not is_automatic(withdrawal):
            raise PayoutNotAutomatic(withdrawal)
        _payee_account(withdrawal)  # refuse now what could never be paid
    if _close(withdrawal, Withdrawal.Status.PAYING, reviewer=reviewer):
        outbox.enqueue(tasks.pay_out, withdrawal.pk)
    return withdrawal


def pay_out(withdrawal_id: int) -> Withdrawal:
    """Pay a PAYING withdrawal, or settle it as far as its transfer went; the task and
    the poller both run this.

    A transfer not sent yet (the task's first run, or a task lost with the
    broker) is sent; one sent before is asked about under its bill number,
    never built again from today's account details. Runs outside a
    transaction: the Transfer row is committed before the gateway is asked, so
    a worker killed mid-call leaves a record the next run asks about.
    """
    withdrawal = Withdrawal.objects.select_related("distributor__user").get(pk=withdrawal_id)
    if withdrawal.status != Withdrawal.Status.PAYING:
        return withdrawal
    if Transfer.objects.filter(bill_no=withdrawal.payout_bill_no).exists():
        return settle_payout(
            withdrawal, transfer=transfers.check_transfer(withdrawal.payout_bill_no)
        )
    try:
        request = transfer_request(withdrawal)
    except NoWeChatIdentity as exc:  # unbound since approval: nothing was sent
        return settle_payout(withdrawal, failed_reason=str(exc))
    gateway = GATEWAY_OF_METHOD[withdrawal.method]
    return settle_payout(withdrawal, transfer=transfers.send_transfer(gateway, request))


@transaction.atomic
def settle_payout(withdrawal: Withdrawal, *, transfer=None, failed_reason: str = "") -> Withdrawal:
    """Close a PAYING withdrawal as its transfer ended: PAID (hold spent) or FAILED (returned).

    A transfer still in flight leaves it PAYING. Claimed with a conditional
    update, so a notification, the task and the poller settling at once write
    the ledger entry (and tell the distributor) once.
    """
    told = None
    if transfer is not None and transfer.status == transfer.Status.SUCCEEDED:
        reference = transfer.gateway_reference or transfer.bill_no
        if Withdrawal.objects.filter(pk=withdrawal.pk, status=Withdrawal.Status.PAYING).update(
            status=Withdrawal.Status.PAID, payout_reference=reference[:100]
        ):
            _end_hold(withdrawal, LedgerEntry.Kind.WITHDRAWAL_PAID, note=reference)
            told = (Kind.WITHDRAWAL_PAID, "paid", "")
    elif failed_reason or (transfer is not None and transfer.status == transfer.Status.FAILED):
        reason = (failed_reason or transfer.failure_reason)[:255]
        if Withdrawal.objects.filter(pk=withdrawal.pk, status=Withdrawal.Status.PAYING).update(
            status=Withdrawal.Status.FAILED, reject_reason=reason
        ):
            logger.warning("payout of withdrawal %s failed: %s", withdrawal.pk, reason)
            _end_hold(withdrawal, LedgerEntry.Kind.WITHDRAWAL_RETURNED, note=reason)
            # The money stays with us: for the distributor, a rejection, with the reason.
            told = (Kind.WITHDRAWAL_REJECTED, "failed", reason)
    withdrawal.refresh_from_db()
    if told is not None:
        kind, event, reason = told
        _tell(withdrawal, kind, event, reason=reason)
    return withdrawal


def settle_payouts_in_flight() -> int:
    """The poller: pay or settle every PAYING withdrawal; how many it closed."""
    closed = 0
    for pk in Withdrawal.objects.filter(status=Withdrawal.Status.PAYING).values_list(
        "pk", flat=True
    ):
        closed += pay_out(pk).status != Withdrawal.Status.PAYING
    return closed
