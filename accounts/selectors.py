"""Reads of accounts: the address book."""

from .models import Address


def addresses_of(user):
    """The user's addresses, default first, then the newest."""
    return Address.objects.filter(user=user)


def address_of(user, pk) -> Address | None:
    """The user's address ``pk``, or None if it is not theirs (or not a number)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return Address.objects.filter(user=user, pk=pk).first()
