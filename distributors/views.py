from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import selectors, services
from .forms import ApplicationForm
from .middleware import referral_code, remember_referral
from .models import Distributor, DistributorApplication
from .selectors import distributor_by_code


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
            application = services.apply_to_join(request.user, **form.cleaned_data)
        except services.DistributorError as exc:
            form.add_error(
                "invite_code" if isinstance(exc, services.UnknownInviteCode) else None, str(exc)
            )
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


@login_required
@distributor_required
def dashboard(request):
    distributor = request.distributor
    invite_url = request.build_absolute_uri(distributor.get_invite_path())
    return render(
        request,
        "distributors/dashboard.html",
        {
            "distributor": distributor,
            "invite_url": invite_url,
            "recruits": distributor.get_children().select_related("user"),
            "figures": selectors.grade_figures(distributor),
            "next_grade": selectors.next_grade(distributor),
        },
    )
