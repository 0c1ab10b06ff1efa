from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders.cart import Cart

from . import selectors, services
from .forms import AddressForm, ProfileForm, SignUpForm
from .models import Address


def signup(request):
    """Create an account and sign in; the session (and its cart) is kept."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Your account has been created."))
        return redirect(next_url or "catalog:home")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


class LoginView(auth_views.LoginView):
    """Sign in, then merge the visitor's cart with the one kept from the last session."""

    template_name = "accounts/login.html"

    def form_valid(self, form):
        cart, signed_in = Cart(self.request.session), self.request.user
        if signed_in.is_authenticated and signed_in.pk != form.get_user().pk:
            cart.save_for(signed_in)  # switching accounts: the cart stays with its owner
            cart.clear()
        visitor_lines = dict(cart.lines)  # login() may flush the session
        response = super().form_valid(form)
        if Cart(self.request.session).merge_in(visitor_lines, form.get_user()):
            messages.warning(
                self.request, _("Some quantities in your cart were lowered to the stock left.")
            )
        return response


class LogoutView(auth_views.LogoutView):
    """Sign out, keeping the cart for the next sign-in."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            Cart(request.session).save_for(request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

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
    return render(request, "accounts/profile.html", {"form": form})


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
