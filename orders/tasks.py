from celery import shared_task

from core.task_policy import RETRY_POLICY

from . import services


@shared_task(name="orders.tasks.cancel_unpaid_orders", **RETRY_POLICY)
def cancel_unpaid_orders() -> int:
    return services.cancel_unpaid_orders()
