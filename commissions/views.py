import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from distributors.views import distributor_required

from . import selectors, withdrawals
from .forms import WithdrawalForm
from .services import active_plan


@login_required
@distributor_required
def earnings(request):
    distributor = request.distributor
    page = Paginator(selectors.commissions_of(distributor), 30).get_page(request.GET.get("page"))
    bonus_page = Paginator(selectors.bonuses_of(distributor), 30).get_page(
        request.GET.get("bonus_page")
    )
    return render(
        request,
        "commissions/earnings.html",
        {
            "distributor": distributor,
            "summary": selectors.earnings_summary(distributor),
            "page": page,
            "bonus_page": bonus_page,
        },
    )


@login_required
@distributor_required
def commission_detail(request, pk):
    commission = selectors.commission_of(request.distributor, pk)
    return render(request, "commissions/commission_detail.html", {"commission": commission})


@login_required
@distributor_required
def withdraw(request):
    distributor = request.distributor
    plan = active_plan()
    form = WithdrawalForm(
        request.POST or None,
        methods=withdrawals.allowed_methods(plan),
        initial={"request_token": uuid.uuid4()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            withdrawal = withdrawals.request_withdrawal(distributor, **form.cleaned_data)
        except withdrawals.WithdrawalError as exc:
            exc.add_to(form)
        else:
            messages.success(
                request,
                _("Your withdrawal request #%(number)s was received.") % {"number": withdrawal.pk},
            )
            return redirect(withdrawal)
    return render(
        request,
        "commissions/withdraw.html",
        {
            "distributor": distributor,
            "form": form,
            "plan": plan,
            "summary": selectors.earnings_summary(distributor),
        },
    )


@login_required
@distributor_required
def withdrawal_list(request):
    distributor = request.distributor
    page = Paginator(selectors.withdrawals_of(distributor), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "commissions/withdrawal_list.html",
        {"page": page, "summary": selectors.earnings_summary(distributor)},
    )


@login_required
@distributor_required
def withdrawal_detail(request, pk):
    withdrawal = selectors.withdrawal_of(request.distributor, pk)
    return render(
        request,
        "commissions/withdrawal_detail.html",
        {"withdrawal": withdrawal, "acceptance": selectors.payout_acceptance(withdrawal)},
    )
