from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import services
from .forms import JoinForm
from .middleware import referral_code, remember_referral
from .models import Distributor
from .selectors import distributor_by_code


def distributor_required(view):
    """Let only distributors in; sets request.distributor to the caller's own."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        distributor = Distributor.objects.select_related("user").filter(user=request.user).first()
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
    if Distributor.objects.filter(user=request.user).exists():
        return redirect("distributors:dashboard")
    referrer = distributor_by_code(referral_code(request))
    form = JoinForm(
        request.POST or None, initial={"invite_code": referrer.invite_code if referrer else ""}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.join_network(request.user, invite_code=form.cleaned_data["invite_code"])
        except services.DistributorError as exc:
            form.add_error(
                "invite_code" if isinstance(exc, services.UnknownInviteCode) else None, str(exc)
            )
        else:
            messages.success(request, _("You are now a distributor. Share your link to earn."))
            return redirect("distributors:dashboard")
    return render(request, "distributors/join.html", {"form": form, "referrer": referrer})


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
        },
    )
