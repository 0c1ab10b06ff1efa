"""The distributor network (分销网络): joining, moving and suspending members.

Every structural write of a tree holds that tree's lock (see distributors.tree).
Status changes by queryset updates under a conditional claim, never by saving a
Distributor (whose save() is django-mptt's tree machinery), and each change
leaves a record of who made it and when.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceError
from core.locks import lock_tree
from notifications.models import Kind
from notifications.services import notify

from . import tree
from .models import Distributor, DistributorMove, DistributorStatusChange
from .selectors import is_in_subtree


class DistributorError(ServiceError):
    """A request to the network that cannot be honoured; the message is for people."""


class AlreadyDistributor(DistributorError):
    pass


class UnknownInviteCode(DistributorError):
    field = "invite_code"


class InvalidStatusChange(DistributorError):
    pass


@transaction.atomic
def join_network(user, *, invite_code: str | None = None) -> Distributor:
    """Make `user` a distributor, under the owner of `invite_code` if given.

    The new member is inserted unplaced (see distributors.tree): the join
    touches no other row, so it stays fast however large the network, and the
    nested set is renumbered in the background. Raises AlreadyDistributor if
    the user already is one and UnknownInviteCode for a code that names nobody
    active. The recruiter is told of their new team member.
    """
    if Distributor.objects.filter(user=user).exists():
        raise AlreadyDistributor(_("You are already a distributor."))
    parent = None
    if invite_code:
        parent = (
            Distributor.objects.filter(
                invite_code=invite_code.strip().upper(), status=Distributor.Status.ACTIVE
            )
            .select_related("user__notification_settings")  # the recruiter is told
            .first()
        )
        if parent is None:
            raise UnknownInviteCode(_("This invite code does not exist."))
        if parent.user_id == user.pk:
            raise UnknownInviteCode(_("You cannot use your own invite code."))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                member = tree.insert_node(user, parent)
        except IntegrityError:
            # An invite-code collision (31^8 codes) or a concurrent join of the
            # same user; the second is final.
            if Distributor.objects.filter(user=user).exists():
                raise AlreadyDistributor(_("You are already a distributor.")) from None
            continue
        if parent is not None:
            notify(
                parent.user,
                Kind.TEAM_MEMBER_JOINED,
                key=f"distributor:{member.pk}:joined",
                context={"member": member},
                link=reverse("distributors:team"),
                data={"distributor": member.pk},
            )
        return member
    raise DistributorError(_("Could not allocate an invite code; please try again."))


class InvalidMove(DistributorError):
    field = "new_parent"


@transaction.atomic
def move_distributor(distributor: Distributor, new_parent: Distributor | None, *, actor, reason=""):
    """Move a distributor (with everyone below them) under `new_parent`.

    Holds the lock of every tree involved, refuses a move under the
    distributor's own subtree (a cycle), records the move, and places the
    trees at once. Orders already placed keep their referral-chain snapshot,
    so their commissions do not change.
    """
    distributor = Distributor.objects.get(pk=distributor.pk)
    old_tree = distributor.tree_id
    new_tree = new_parent.tree_id if new_parent else None
    for tree_id in sorted({old_tree, new_tree} - {None}):
        lock_tree(tree.tree_lock_name(tree_id))
    if new_parent is not None and is_in_subtree(new_parent.pk, distributor.pk):
        raise InvalidMove(_("A distributor cannot be moved under themselves or their own team."))
    if new_parent is None and distributor.parent_id is None:
        raise InvalidMove(_("This distributor is already at the top of a network."))
    if new_parent is not None and new_parent.pk == distributor.parent_id:
        raise InvalidMove(_("This distributor is already under that recruiter."))
    DistributorMove.objects.create(
        distributor=distributor,
        from_parent_id=distributor.parent_id,
        to_parent=new_parent,
        actor=actor,
        reason=reason[:255],
    )
    tree.reparent(distributor, new_parent)
    distributor.refresh_from_db()
    for tree_id in sorted({old_tree, distributor.tree_id}):
        tree.place_nodes(tree_id)
    distributor.refresh_from_db()
    return distributor


def suspend_distributor(
    distributor: Distributor, *, actor, reason: str = "", now: datetime | None = None
) -> DistributorStatusChange:
    """Suspend an active distributor: from now on they earn nothing new (accrual
    skips them, their link and bindings credit nobody); what they earned stays."""
    return _change_status(distributor, Distributor.Status.SUSPENDED, actor, reason, now)


def reactivate_distributor(
    distributor: Distributor, *, actor, reason: str = "", now: datetime | None = None
) -> DistributorStatusChange:
    """Let a suspended distributor earn again."""
    return _change_status(distributor, Distributor.Status.ACTIVE, actor, reason, now)


@transaction.atomic
def _change_status(distributor, to_status, actor, reason, now) -> DistributorStatusChange:
    # Claimed by a conditional update: of two concurrent suspensions one wins.
    from_status = (
        Distributor.Status.ACTIVE
        if to_status == Distributor.Status.SUSPENDED
        else Distributor.Status.SUSPENDED
    )
    claimed = Distributor.objects.filter(pk=distributor.pk, status=from_status).update(
        status=to_status
    )
    if not claimed:
        message = (
            _("%(distributor)s is already suspended.")
            if to_status == Distributor.Status.SUSPENDED
            else _("%(distributor)s is already active.")
        )
        raise InvalidStatusChange(message % {"distributor": distributor})
    distributor.status = to_status
    return DistributorStatusChange.objects.create(
        distributor=distributor,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason[:255],
        created_at=now or timezone.now(),
    )
