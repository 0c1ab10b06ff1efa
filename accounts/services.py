"""Writes of the address book (收货地址).

Each service locks the user's row first, so two requests of the same user
(two tabs, a double click) cannot both make a default: a user always has
exactly one default address while they have any. The partial unique
constraint ``address_one_default_per_user`` is the last guard.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Address


def lock_user(user) -> None:
    """Lock the user's row: their writes (address book, WeChat binding) queue."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()


ADDRESS_FIELDS = ("recipient_name", "phone", "province", "city", "district", "detail")


@transaction.atomic
def save_address(address: Address, *, make_default: bool = False) -> Address:
    """Add or update ``address`` (its ``user`` set) and return the saved address.

    The first address, or one saved with ``make_default``, becomes the default;
    otherwise the default stays. A new address identical to one the user already
    has (same recipient, phone and place, leading and trailing spaces aside) is not
    saved again: that one is returned, made the default if asked. Each checkout
    with a typed-in address would otherwise add one more copy to the book.
    """
    lock_user(address.user)
    for name in ADDRESS_FIELDS:
        setattr(address, name, (getattr(address, name) or "").strip())
    if address.pk is None:
        same = Address.objects.filter(
            user=address.user, **{name: getattr(address, name) for name in ADDRESS_FIELDS}
        ).first()
        if same is not None:
            return set_default_address(same) if make_default else same
    others = Address.objects.filter(user=address.user).exclude(pk=address.pk)
    was_default = address.pk and Address.objects.filter(pk=address.pk, is_default=True).exists()
    if make_default or not others.filter(is_default=True).exists():
        others.filter(is_default=True).update(is_default=False)
        address.is_default = True
    else:
        address.is_default = bool(was_default)
    address.save()
    return address


@transaction.atomic
def set_default_address(address: Address) -> Address:
    """Make ``address`` its user's default, and no other."""
    lock_user(address.user)
    Address.objects.filter(user=address.user, is_default=True).exclude(pk=address.pk).update(
        is_default=False
    )
    Address.objects.filter(pk=address.pk).update(is_default=True)
    address.is_default = True
    return address


@transaction.atomic
def delete_address(address: Address) -> None:
    """Remove ``address``; if it was the default, the newest remaining one takes over."""
    lock_user(address.user)
    address.delete()
    remaining = Address.objects.filter(user=address.user)
    if remaining.exists() and not remaining.filter(is_default=True).exists():
        newest = remaining.order_by("-created_at", "-pk").first()
        Address.objects.filter(pk=newest.pk).update(is_default=True)
