from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from . import second_factor
from .lockout import is_admin_request

# Admin pages open to an unverified session: signing in and out.
OPEN_ADMIN_VIEWS = {"login", "logout"}


class StaffSecondFactorMiddleware:
    """Keeps the admin closed to money-moving staff until their session is verified
    with a TOTP code (settings.STAFF_OTP_REQUIRED): they are sent to the code page,
    or to enrolment when they have no authenticator yet. Needs OTPMiddleware first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not is_admin_request(request) or request.resolver_match.url_name in OPEN_ADMIN_VIEWS:
            return None
        user = request.user
        if not second_factor.is_required_for(user) or user.is_verified():
            return None
        target = "accounts:otp_verify" if second_factor.has_device(user) else "accounts:otp_enroll"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
