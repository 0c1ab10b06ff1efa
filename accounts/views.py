from base64 import b32encode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.devices import in_wechat
from notifications.preferences import remember_language
from orders.cart import Cart

from . import second_factor, selectors, services, wechat
from .forms import (
    EMAIL_TAKEN,
    WRONG_CODE,
    AddressForm,
    OTPTokenForm,
    ProfileForm,
    SignUpForm,
    email_in_use,
)
from .models import Address

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request, next_url) -> str:
    """``next_url`` if it stays on this site (and its scheme), else ""."""
    next_url = next_url or ""
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""


def sign_in(request, user, *, backend: str | None = None) -> None:
    """Sign ``user`` in, merging the visitor's cart with the one kept from their
    last session (the cart of another account signed in here stays with it)."""
    cart, signed_in = Cart(request.session), request.user
    if signed_in.is_authenticated and signed_in.pk != user.pk:
        cart.save_for(signed_in)  # switching accounts: the cart stays with its owner
        cart.clear()
    visitor_lines = dict(cart.lines)  # login() may flush the session
    login(request, user, backend=backend)
    remember_language(user, get_language())  # their messages are written in it
    if Cart(request.session).merge_in(visitor_lines, user):
        messages.warning(request, _("Some quantities in your cart were lowered to the stock left."))


def signup(request):
    """Create an account and sign in; the session (and its cart) is kept."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # Another signup took the address between our check and the insert.
            if not email_in_use(form.cleaned_data.get("email") or ""):
                raise
            form.add_error("email", EMAIL_TAKEN)
        else:
            login(request, user, backend=MODEL_BACKEND)
            remember_language(user, get_language())
            messages.success(request, _("Welcome! Your account has been created."))
            return redirect(next_url or "catalog:home")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


class LoginView(auth_views.LoginView):
    """Sign in, then merge the visitor's cart with the one kept from the last session."""

    template_name = "accounts/login.html"

    def form_valid(self, form):
        sign_in(self.request, form.get_user())
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["wechat_enabled"] = wechat.is_enabled()
        context["in_wechat"] = in_wechat(self.request)
        return context


class LogoutView(auth_views.LogoutView):
    """Sign out, keeping the cart for the next sign-in."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            Cart(request.session).save_for(request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change the password; an account made by WeChat sign-in (no password yet) sets one."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def get_form_class(self):
        if not self.request.user.has_usable_password():
            return SetPasswordForm
        return super().get_form_class()

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile was saved."))
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "wechat_enabled": wechat.is_enabled(),
            "in_wechat": in_wechat(request),
            "wechat_identity": wechat.identity_of(request.user),
            "can_unbind_wechat": wechat.can_unbind(request.user),
        },
    )


# --- Second factor for staff who move money (settings.STAFF_OTP_REQUIRED) ----------


def _admin_next(request) -> str:
    return _safe_next(request, request.POST.get("next") or request.GET.get("next")) or reverse(
        "admin:index"
    )


@login_required
def otp_verify(request):
    """Ask a signed-in staff member for their authenticator code, then back to the admin."""
    next_url = _admin_next(request)
    if not second_factor.is_required_for(request.user) or request.user.is_verified():
        return redirect(next_url)
    if not second_factor.has_device(request.user):
        return redirect(f"{reverse('accounts:otp_enroll')}?{urlencode({'next': next_url})}")
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor.verify(request.user, form.cleaned_data["otp_token"])
        if device is not None:
            django_otp.login(request, device)
            return redirect(next_url)
        form.add_error("otp_token", WRONG_CODE)
    return render(request, "accounts/otp_verify.html", {"form": form, "next": next_url})


@login_required
def otp_enroll(request):
    """Set up an authenticator app: scan the QR code, type one code to confirm.
    Only for staff who need one and have none: a second device is never added
    by a session that has not shown the first."""
    next_url = _admin_next(request)
    if not second_factor.is_required_for(request.user) or request.user.is_verified():
        return redirect(next_url)
    if second_factor.has_device(request.user):
        return redirect(f"{reverse('accounts:otp_verify')}?{urlencode({'next': next_url})}")
    device = second_factor.pending_device(request.user)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if second_factor.confirm(device, form.cleaned_data["otp_token"]):
            device.refresh_from_db()
            django_otp.login(request, device)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect(next_url)
        form.add_error("otp_token", WRONG_CODE)
    return render(
        request,
        "accounts/otp_enroll.html",
        {
            "form": form,
            "next": next_url,
            "qr_svg": second_factor.qr_svg(device),
            "secret": b32encode(device.bin_key).decode(),
        },
    )


# --- Sign-in with WeChat (公众号网页授权) -------------------------------------------


@require_GET
def wechat_login(request):
    """Send the shopper to WeChat to authorize; back at wechat_callback."""
    if not wechat.is_enabled():
        raise Http404
    next_url = _safe_next(request, request.GET.get("next"))
    return redirect(wechat.authorize_url(request, next_url=next_url, state=wechat.new_state()))


@require_GET
def wechat_callback(request):
    """Back from WeChat: a signed-in visitor binds the openid to their account;
    anyone else signs in to the account of the openid, made on first sight."""
    if not wechat.is_enabled():
        raise Http404
    back = "accounts:profile" if request.user.is_authenticated else "accounts:login"
    try:
        next_url = wechat.take_pending(request, request.GET.get("state", ""))
        code = request.GET.get("code", "")
        if not code:  # the shopper said no
            messages.info(request, _("WeChat sign-in was cancelled."))
            return redirect(back)
        user, outcome = wechat.complete_authorization(request.user, code)
    except wechat.WeChatError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if outcome == "bound":
        messages.success(request, _("Your WeChat is now bound to this account."))
        return redirect(next_url or "accounts:profile")
    sign_in(request, user, backend=MODEL_BACKEND)
    if outcome == "created":
        messages.success(request, _("Welcome! Your account has been created."))
    else:
        messages.success(request, _("You are signed in with WeChat."))
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)


@login_required
@require_POST
def wechat_unbind(request):
    try:
        unbound = wechat.unbind(request.user)
    except wechat.WeChatError as exc:
        messages.error(request, str(exc))
    else:
        if unbound:
            messages.success(request, _("WeChat was unbound from your account."))
    return redirect("accounts:profile")


@login_required
def address_list(request):
    return render(
        request, "accounts/address_list.html", {"addresses": selectors.addresses_of(request.user)}
    )


def _own_address(request, pk) -> Address:
    address = selectors.address_of(request.user, pk)
    if address is None:
        raise Http404
    return address


@login_required
def address_edit(request, pk=None):
    """Add (no pk) or edit one of the user's own addresses."""
    address = _own_address(request, pk) if pk else Address(user=request.user)
    form = AddressForm(
        request.POST or None, instance=address, initial={"make_default": address.is_default}
    )
    if request.method == "POST" and form.is_valid():
        services.save_address(form.instance, make_default=form.cleaned_data["make_default"])
        messages.success(request, _("The address was saved."))
        return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
@require_POST
def address_delete(request, pk):
    services.delete_address(_own_address(request, pk))
    messages.success(request, _("The address was deleted."))
    return redirect("accounts:addresses")


@login_required
@require_POST
def address_set_default(request, pk):
    services.set_default_address(_own_address(request, pk))
    messages.success(request, _("This is now your default address."))
    return redirect("accounts:addresses")
