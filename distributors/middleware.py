from django.conf import settings

from .selectors import distributor_by_code


class ReferralMiddleware:
    """Remember the distributor whose link (?ref=CODE) brought the shopper here.

    Only a code that names an active distributor is kept, in a cookie that
    lasts REFERRAL_COOKIE_MAX_AGE; how long it binds the shopper for good is the
    binding rule's business (commissions/distributors), not the cookie's.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = request.GET.get("ref", "").strip().upper()
        distributor = distributor_by_code(code) if code else None
        response = self.get_response(request)
        if distributor is not None:
            remember_referral(response, distributor.invite_code)
        return response


def remember_referral(response, code: str) -> None:
    response.set_cookie(
        settings.REFERRAL_COOKIE_NAME,
        code,
        max_age=settings.REFERRAL_COOKIE_MAX_AGE,
        samesite="Lax",
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
    )


def referral_code(request) -> str:
    return request.COOKIES.get(settings.REFERRAL_COOKIE_NAME, "").strip().upper()
