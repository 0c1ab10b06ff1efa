import hashlib
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import etag, require_GET

from . import applications, evaluation, network, qr, selectors
from .forms import ApplicationForm
from .middleware import referral_code, remember_referral
from .models import Distributor, DistributorApplication
from .selectors import distributor_by_code

TEAM_PAGE_SIZE = 30
CUSTOMERS_PAGE_SIZE = 30
TRAINING_PAGE_SIZE = 20
QR_MAX_AGE = 24 * 60 * 60  # an invite code never changes


def distributor_required(view):
    """Let only distributors in; sets request.distributor to the caller's own."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        distributor = (
            Distributor.objects.select_related("user", "grade").filter(user=request.user).first()
        )
        if distributor is None:
            messages.info(request, _("Join as a distributor to see this page."))
            return redirect("distributors:join")
        request.distributor = distributor
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
def referral(request, code):
    """/r/CODE: remember who shared the link, then show the shop."""
    response = redirect("catalog:home")
    distributor = distributor_by_code(code)
    if distributor is not None:
        remember_referral(response, distributor.invite_code)
    return response


@login_required
def join(request):
    """Apply to become a distributor; shows the application's state once sent."""
    if Distributor.objects.filter(user=request.user).exists():
        return redirect("distributors:dashboard")
    application = selectors.latest_application_of(request.user)
    if application is not None and application.is_pending:
        return render(request, "distributors/join.html", {"application": application})
    referrer = distributor_by_code(referral_code(request))
    form = ApplicationForm(
        request.POST or None,
        initial={
            "invite_code": referrer.invite_code if referrer else "",
            "name": request.user.get_full_name(),
            "phone": request.user.phone,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = applications.apply_to_join(request.user, **form.cleaned_data)
        except network.DistributorError as exc:
            exc.add_to(form)  # an unknown invite code on its field, the rest above the form
        else:
            if application.status == DistributorApplication.Status.APPROVED:
                messages.success(request, _("You are now a distributor. Share your link to earn."))
                return redirect("distributors:dashboard")
            messages.success(request, _("Thank you. We will review your application soon."))
            return redirect("distributors:join")
    return render(
        request,
        "distributors/join.html",
        {"form": form, "referrer": referrer, "last_application": application},
    )


def _invite_url(request, distributor: Distributor) -> str:
    return request.build_absolute_uri(distributor.get_invite_path())


@login_required
@distributor_required
def dashboard(request):
    distributor = request.distributor
    return render(
        request,
        "distributors/dashboard.html",
        {
            "distributor": distributor,
            "invite_url": _invite_url(request, distributor),
            "figures": selectors.grade_figures(distributor),
            "next_grade": selectors.next_grade(distributor),
            "keeping": evaluation.keep_progress(distributor),
        },
    )


def _qr_etag(request, code, fmt):
    # None (no conditional answer) for anything the view will refuse.
    if code != request.distributor.invite_code or fmt not in qr.FORMATS:
        return None
    seed = f"{_invite_url(request, request.distributor)}|{fmt}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


@login_required
@distributor_required
@require_GET
@cache_control(private=True, max_age=QR_MAX_AGE)
@etag(_qr_etag)
def invite_qr(request, code, fmt):
    """The caller's own invite QR code as PNG or SVG; 404 for anyone else's code."""
    distributor = request.distributor
    if code != distributor.invite_code or fmt not in qr.FORMATS:
        raise Http404
    response = HttpResponse(
        qr.invite_qr(_invite_url(request, distributor), fmt), content_type=qr.FORMATS[fmt]
    )
    if request.GET.get("download"):
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"invite-{distributor.invite_code}.{fmt}"
        )
    return response


@login_required
@distributor_required
def team(request):
    distributor = request.distributor
    page = Paginator(selectors.team_of(distributor), TEAM_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "distributors/team.html",
        {
            "distributor": distributor,
            "page": page,
            "totals": selectors.team_totals(distributor),
            "depth": selectors.TEAM_DEPTH,
        },
    )


@login_required
@distributor_required
def customers(request):
    """My customers (我的客户): those bound to me, in force or (?tab=ended) over."""
    distributor, now = request.distributor, timezone.now()
    ended = request.GET.get("tab") == "ended"
    page = Paginator(
        selectors.customers_of(distributor, ended=ended, now=now), CUSTOMERS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "distributors/customers.html",
        {
            "distributor": distributor,
            "page": page,
            "rows": selectors.customer_rows(page.object_list, now=now),
            "counts": selectors.customer_counts(distributor, now=now),
            "tab": "ended" if ended else "current",
            "soon_days": selectors.EXPIRING_SOON.days,
        },
    )


@login_required
@distributor_required
def team_member(request, pk):
    member = selectors.team_member(request.distributor, pk)
    return render(request, "distributors/team_member.html", {"member": member})


@login_required
@distributor_required
def training_list(request):
    page = Paginator(selectors.training_for(request.distributor), TRAINING_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "distributors/training_list.html", {"page": page})


@login_required
@distributor_required
def training_detail(request, pk):
    resource = selectors.training_resource_for(request.distributor, pk)
    return render(request, "distributors/training_detail.html", {"resource": resource})


@login_required
@distributor_required
@cache_control(private=True)
def training_file(request, pk):
    """The resource's file, served only to distributors who may read the resource."""
    resource = selectors.training_resource_for(request.distributor, pk)
    if not resource.file:
        raise Http404
    return FileResponse(resource.file.open("rb"), as_attachment=True, filename=resource.file_name)
