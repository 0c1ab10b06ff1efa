"""The sign-in lockout (django-axes) as our first authentication backend."""

from axes.backends import AxesStandaloneBackend


class LoginAttemptsBackend(AxesStandaloneBackend):
    """Refuses a locked-out username or address before any password is checked,
    also the right password during the cool-off; counts nothing itself (axes's
    signal handlers record the failures).

    ``authenticate()`` without a request never comes from a visitor (every sign-in
    form, the shop's and the admin's, passes it): the test client's ``login()``, a
    shell. There is no address to count then, so this backend steps aside instead
    of raising, and the next backend decides.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
