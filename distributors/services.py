"""Writes to the distributor network. Every structural write holds the tree lock."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from core.locks import lock_tree

from .models import Distributor, new_invite_code

TREE = "distributors"


class DistributorError(Exception):
    """A request to the network that cannot be honoured; the message is for people."""


class AlreadyDistributor(DistributorError):
    pass


class UnknownInviteCode(DistributorError):
    pass


@transaction.atomic
def join_network(user, *, invite_code: str | None = None) -> Distributor:
    """Make `user` a distributor, under the owner of `invite_code` if given.

    Holds the distributor tree's advisory lock for the insert, so concurrent
    joins cannot corrupt the nested set. Raises AlreadyDistributor if the user
    already is one and UnknownInviteCode for a code that names nobody active.
    """
    lock_tree(TREE)
    if Distributor.objects.filter(user=user).exists():
        raise AlreadyDistributor(_("You are already a distributor."))
    parent = None
    if invite_code:
        parent = (
            Distributor.objects.filter(
                invite_code=invite_code.strip().upper(), status=Distributor.Status.ACTIVE
            )
            .select_for_update()
            .first()
        )
        if parent is None:
            raise UnknownInviteCode(_("This invite code does not exist."))
        if parent.user_id == user.pk:
            raise UnknownInviteCode(_("You cannot use your own invite code."))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Distributor.objects.create(
                    user=user, parent=parent, invite_code=new_invite_code()
                )
        except IntegrityError:
            # An invite-code collision (31^8 codes) or a concurrent join of the
            # same user; the second is final.
            if Distributor.objects.filter(user=user).exists():
                raise AlreadyDistributor(_("You are already a distributor.")) from None
    raise DistributorError(_("Could not allocate an invite code; please try again."))
