"""Customer binding (推广关系): which distributor an order is credited to.

The merchant's rule (NetworkSettings.binding_rule) decides how a referral binds
a customer; a rebind ends the old binding and makes a new one, so the history
stays.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import CustomerBinding, Distributor, NetworkSettings
from .network import DistributorError


@transaction.atomic
def resolve_attribution(
    user,
    referral_code: str,
    *,
    allow_self_purchase: bool,
    own_order_credits_recruiter: bool = False,
    now: datetime | None = None,
) -> Distributor | None:
    """The distributor an order of `user` is credited to, binding the customer
    by the merchant's rule on the way.

    - A buyer who is an active distributor is credited to themselves when
      `allow_self_purchase` (自购返佣). Otherwise, with
      `own_order_credits_recruiter`, they buy as a customer of their recruiter
      (the parent in the tree): credited to the recruiter if active, like a
      customer bound to them, else to nobody; without it, to nobody. No
      binding is made either way, and the referral link is ignored.
    - Any other buyer is a customer. `referral_code` (the link they came by, if
      any) binds them as NetworkSettings.binding_rule says:
      first referrer: the first binding holds for good;
      last referrer: a referral by someone else ends the binding and binds anew;
      expiring: a binding holds N days; a referral by the same distributor
      renews it, and once it lapsed the next referral binds anew.
      Bindings keep the terms they were made with when the rule changes.
    - A binding to a suspended distributor stays, but credits nobody while
      they are suspended (as their link does).

    A rebind ends the old CustomerBinding and creates a new one (history kept).
    Concurrent orders of one customer bind once: the open binding is locked,
    and a partial unique constraint decides between two first bindings.
    """
    now = now or timezone.now()
    own = Distributor.objects.filter(user=user).first()
    if own is not None and own.is_active:
        if allow_self_purchase:
            return own
        recruiter = own.parent if own_order_credits_recruiter else None
        return recruiter if recruiter is not None and recruiter.is_active else None
    referrer = selectors.distributor_by_code(referral_code)
    if referrer is not None and referrer.user_id == user.pk:
        referrer = None  # a suspended distributor's own code never resolves; belt and braces
    network = NetworkSettings.get_solo()
    for _attempt in range(3):
        binding = (
            CustomerBinding.objects.select_for_update(of=("self",))
            .select_related("distributor")
            .filter(customer=user, ended_at__isnull=True)
            .first()
        )
        try:
            with transaction.atomic():
                binding = _apply_binding_rule(network, user, binding, referrer, now)
        except _BindingRaced:
            continue
        if binding is None or not binding.distributor.is_active:
            return None
        return binding.distributor
    raise DistributorError(_("Could not record who referred you; please try again."))


class _BindingRaced(Exception):
    """A concurrent order of the same customer changed the binding first."""


def _apply_binding_rule(network, user, binding, referrer, now) -> CustomerBinding | None:
    """The binding in force after this referral (None: none), written as needed."""
    Rule = NetworkSettings.BindingRule
    in_force = binding is not None and binding.is_in_force(now)
    if referrer is None:
        return binding if in_force else None
    if in_force and binding.distributor_id == referrer.pk:
        if network.binding_rule == Rule.EXPIRING and binding.expires_at is not None:
            binding.expires_at = now + timedelta(days=network.binding_days)
            binding.save(update_fields=["expires_at"])
        return binding
    if in_force and network.binding_rule != Rule.LAST_REFERRER:
        return binding  # first referrer / unexpired binding: the newcomer does not take over
    if binding is not None:
        ended = CustomerBinding.objects.filter(pk=binding.pk, ended_at__isnull=True).update(
            ended_at=now
        )
        if not ended:
            raise _BindingRaced
    expires_at = (
        now + timedelta(days=network.binding_days)
        if network.binding_rule == Rule.EXPIRING
        else None
    )
    try:
        with transaction.atomic():
            return CustomerBinding.objects.create(
                customer=user,
                distributor=referrer,
                rule=network.binding_rule,
                bound_at=now,
                expires_at=expires_at,
            )
    except IntegrityError:
        raise _BindingRaced from None
