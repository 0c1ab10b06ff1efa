from celery import shared_task

from core.task_policy import RETRY_POLICY

from . import accrual, services


@shared_task(name="commissions.tasks.accrue_due", **RETRY_POLICY)
def accrue_due_task() -> int:
    """Accrue the due orders in batches (commissions.accrual.run_due): after each
    paid order, debounced, and every minute from beat. Returns how many it took."""
    return accrual.run_due()


@shared_task(name="commissions.tasks.accrue_commissions", **RETRY_POLICY)
def accrue_commissions_task(order_id: int) -> int:
    """One order's accrual: kept for the messages queued before accrual ran in
    batches (through the same code, so it accrues once either way)."""
    return len(services.accrue_commissions(order_id))


@shared_task(name="commissions.tasks.release_order_commissions", **RETRY_POLICY)
def release_order_commissions_task(order_id: int) -> int:
    return services.release_order_commissions(order_id)


@shared_task(name="commissions.tasks.release_due_commissions", **RETRY_POLICY)
def release_due_commissions() -> int:
    return services.release_due_commissions()


@shared_task(name="commissions.tasks.accrue_missing_commissions", **RETRY_POLICY)
def accrue_missing_commissions() -> int:
    return services.accrue_missing_commissions()


@shared_task(name="commissions.tasks.pay_out", **RETRY_POLICY)
def pay_out(withdrawal_id: int) -> str:
    """Send an approved withdrawal's transfer; idempotent by its bill number."""
    from . import withdrawals

    return withdrawals.pay_out(withdrawal_id).status


@shared_task(name="commissions.tasks.settle_payouts_in_flight", **RETRY_POLICY)
def settle_payouts_in_flight() -> int:
    from . import withdrawals

    return withdrawals.settle_payouts_in_flight()
