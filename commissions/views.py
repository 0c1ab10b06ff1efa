from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from distributors.views import distributor_required

from . import selectors


@login_required
@distributor_required
def earnings(request):
    distributor = request.distributor
    page = Paginator(selectors.commissions_of(distributor), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "commissions/earnings.html",
        {
            "distributor": distributor,
            "summary": selectors.earnings_summary(distributor),
            "page": page,
        },
    )


@login_required
@distributor_required
def commission_detail(request, pk):
    commission = selectors.commission_of(request.distributor, pk)
    return render(request, "commissions/commission_detail.html", {"commission": commission})
