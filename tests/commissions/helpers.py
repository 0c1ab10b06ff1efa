from commissions import withdrawals


def withdraw(
    distributor,
    amount="60.00",
    *,
    method="alipay",
    account_name="陈小红",
    account_number="13800138000",
):
    """request_withdrawal with a valid account and method unless told otherwise."""
    return withdrawals.request_withdrawal(
        distributor,
        amount=amount,
        method=method,
        account_name=account_name,
        account_number=account_number,
    )
