"""The distributor tree: fast unplaced joins, placement, moves and checks."""

import random

import pytest
from django.core.management import call_command
from django.urls import reverse

from distributors import network, tree
from distributors.models import Distributor, DistributorMove
from distributors.selectors import referral_chain_ids

pytestmark = pytest.mark.django_db


def fields(tree_id=None):
    qs = Distributor.objects.order_by("pk")
    if tree_id is not None:
        qs = qs.filter(tree_id=tree_id)
    return list(qs.values_list("pk", "tree_id", "lft", "rght", "level"))


def mptt_rebuild_of(tree_id):
    """What django-mptt's own rebuild computes (rolled back afterwards)."""
    before = fields()
    Distributor.objects.partial_rebuild(tree_id)
    rebuilt = fields(tree_id)
    Distributor.objects.bulk_update(
        [
            Distributor(pk=pk, tree_id=t, lft=lft, rght=rght, level=level)
            for pk, t, lft, rght, level in before
        ],
        ["tree_id", "lft", "rght", "level"],
    )
    return rebuilt


def test_a_new_member_earns_for_the_chain_before_the_tree_is_renumbered(chain, make_user):
    alice, bob, carol = chain
    dan = network.join_network(make_user("dan"), invite_code=carol.invite_code)
    assert (dan.lft, dan.rght) == (tree.UNPLACED, tree.UNPLACED)
    assert dan.level == 3
    assert referral_chain_ids(dan.pk) == [dan.pk, carol.pk, bob.pk]


def test_placement_numbers_the_tree_as_django_mptt_would(make_distributor, make_user):
    root = make_distributor("root")
    members = [root]
    rng = random.Random(7)
    for n in range(60):  # a random shape, joined in bursts without placing
        parent = rng.choice(members)
        members.append(network.join_network(make_user(f"m{n}"), invite_code=parent.invite_code))

    result = tree.place_nodes(root.tree_id)

    assert (result.members, result.newly_placed) == (61, 60)
    assert fields(root.tree_id) == mptt_rebuild_of(root.tree_id)
    root.refresh_from_db()
    assert root.get_descendant_count() == 60


def test_placing_a_settled_tree_writes_nothing(chain):
    assert tree.place_nodes(chain[0].tree_id).rows_written == 0


def test_a_move_carries_the_team_along_and_is_recorded(chain, make_distributor, admin_user):
    alice, bob, carol = chain
    erin = make_distributor("erin")  # a network of her own

    network.move_distributor(bob, erin, actor=admin_user, reason="asked to change team")

    bob.refresh_from_db()
    carol.refresh_from_db()
    assert (bob.parent_id, bob.tree_id, bob.level) == (erin.pk, erin.tree_id, 1)
    assert (carol.tree_id, carol.level) == (erin.tree_id, 2)
    assert referral_chain_ids(carol.pk) == [carol.pk, bob.pk, erin.pk]
    for tree_id in (alice.tree_id, erin.tree_id):
        assert tree.check_tree(tree_id) == ([], 0)
    assert fields(erin.tree_id) == mptt_rebuild_of(erin.tree_id)
    move = DistributorMove.objects.get()
    assert (move.from_parent_id, move.to_parent_id, move.actor) == (alice.pk, erin.pk, admin_user)


def test_a_move_under_ones_own_team_is_refused(chain, admin_user):
    alice, bob, carol = chain
    before = fields()
    for new_parent in (carol, bob):
        with pytest.raises(network.InvalidMove):
            network.move_distributor(bob, new_parent, actor=admin_user)
    assert fields() == before
    assert not DistributorMove.objects.exists()


def test_a_move_to_the_top_starts_a_network_of_its_own(chain, admin_user):
    alice, bob, carol = chain
    network.move_distributor(bob, None, actor=admin_user)
    bob.refresh_from_db()
    alice.refresh_from_db()
    assert bob.is_root_node() and bob.tree_id != alice.tree_id
    assert alice.get_descendant_count() == 0 and bob.get_descendant_count() == 1


def test_moving_does_not_change_an_order_already_placed(
    chain, admin_user, shopper, variant, address
):
    from orders.services import place_order

    alice, bob, carol = chain
    order = place_order(
        shopper, [(variant.pk, 1)], address=address, referral_code=carol.invite_code
    )
    network.move_distributor(carol, alice, actor=admin_user)
    order.refresh_from_db()
    assert order.referral_chain == [carol.pk, bob.pk, alice.pk]


def test_saving_a_stale_distributor_does_not_undo_a_renumbering(chain, make_user):
    alice = chain[0]
    stale = Distributor.objects.get(pk=alice.pk)
    network.join_network(make_user("dan"), invite_code=alice.invite_code)
    tree.place_nodes(alice.tree_id)

    stale.status = Distributor.Status.SUSPENDED
    stale.save()

    assert tree.check_tree(alice.tree_id) == ([], 0)
    assert Distributor.objects.get(pk=alice.pk).status == Distributor.Status.SUSPENDED


def test_check_trees_finds_and_fixes_a_corrupted_tree(chain, capsys):
    alice = chain[0]
    Distributor.objects.filter(pk=chain[1].pk).update(rght=99)

    with pytest.raises(SystemExit) as exited:
        call_command("check_trees")
    assert exited.value.code == 1
    assert f"distributor {chain[1].pk}" in capsys.readouterr().out

    call_command("check_trees", "--fix")
    assert tree.check_tree(alice.tree_id) == ([], 0)
    call_command("check_trees")  # exits 0 now


def test_the_admin_moves_a_distributor_and_refuses_a_cycle(admin_client, chain):
    alice, bob, carol = chain
    url = reverse("admin:distributors_distributor_move", args=[bob.pk])
    assert admin_client.get(url).status_code == 200

    refused = admin_client.post(url, {"new_parent": carol.pk, "reason": "oops"})
    assert refused.status_code == 200
    assert list(refused.context["form"].errors) == ["new_parent"]  # on the field it is about
    bob.refresh_from_db()
    assert bob.parent_id == alice.pk

    moved = admin_client.post(url, {"new_parent": "", "reason": "own network"})
    assert moved.status_code == 302
    bob.refresh_from_db()
    assert bob.parent_id is None
