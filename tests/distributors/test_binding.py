"""Customer binding (推广关系): who an order is credited to, under each rule.

Every test passes its own clock (`now=`) to resolve_attribution.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from distributors import binding, network
from distributors.models import CustomerBinding, NetworkSettings

pytestmark = pytest.mark.django_db

Rule = NetworkSettings.BindingRule


@pytest.fixture
def attribute(clock):
    """attribute(user, distributor or None): resolve as a customer would at clock.now."""

    def resolve(user, distributor=None, *, allow_self_purchase=False):
        code = distributor.invite_code if distributor else ""
        return binding.resolve_attribution(
            user, code, allow_self_purchase=allow_self_purchase, now=clock.now
        )

    return resolve


@pytest.fixture
def alice_bob(chain):
    return chain[0], chain[1]


def history(user):
    return list(
        CustomerBinding.objects.filter(customer=user)
        .order_by("bound_at", "pk")
        .values_list("distributor__user__username", "ended_at")
    )


# --- First referrer binds for good ----------------------------------------------------


def test_first_referrer_keeps_the_customer_whoever_refers_them_later(
    shopper, alice_bob, attribute, clock, network_settings
):
    network_settings(binding_rule=Rule.FIRST_REFERRER)
    alice, bob = alice_bob
    assert attribute(shopper, alice) == alice

    clock.advance(days=400)
    assert attribute(shopper, bob) == alice
    assert attribute(shopper) == alice
    assert history(shopper) == [("alice", None)]
    assert CustomerBinding.objects.get().expires_at is None


def test_without_a_binding_or_a_link_nobody_is_credited(shopper, attribute, chain):
    assert attribute(shopper) is None
    assert not CustomerBinding.objects.exists()


def test_an_unknown_code_binds_nobody(shopper, chain):
    assert binding.resolve_attribution(shopper, "NOPE2345", allow_self_purchase=False) is None
    assert not CustomerBinding.objects.exists()


# --- Last referrer wins -------------------------------------------------------------------


def test_last_referrer_takes_over_and_the_old_binding_is_kept_as_history(
    shopper, alice_bob, attribute, clock, network_settings
):
    network_settings(binding_rule=Rule.LAST_REFERRER)
    alice, bob = alice_bob
    assert attribute(shopper, alice) == alice

    rebound_at = clock.advance(days=3)
    assert attribute(shopper, bob) == bob
    assert attribute(shopper) == bob  # no link this time: the binding still holds
    assert history(shopper) == [("alice", rebound_at), ("bob", None)]


def test_last_referrer_referring_again_makes_no_new_binding(
    shopper, alice_bob, attribute, clock, network_settings
):
    network_settings(binding_rule=Rule.LAST_REFERRER)
    alice, _bob = alice_bob
    attribute(shopper, alice)
    clock.advance(days=1)
    assert attribute(shopper, alice) == alice
    assert CustomerBinding.objects.count() == 1


# --- A binding lasts N days -----------------------------------------------------------------


def test_an_expiring_binding_holds_against_others_until_it_lapses(
    shopper, alice_bob, attribute, clock, network_settings
):
    network_settings(binding_rule=Rule.EXPIRING, binding_days=30)
    alice, bob = alice_bob
    bound_at = clock.now
    assert attribute(shopper, alice) == alice
    assert CustomerBinding.objects.get().expires_at == bound_at + timedelta(days=30)

    clock.advance(days=29)
    assert attribute(shopper, bob) == alice

    clock.advance(days=1)  # exactly 30 days: lapsed
    assert attribute(shopper) is None
    assert attribute(shopper, bob) == bob
    assert history(shopper) == [("alice", clock.now), ("bob", None)]
    assert CustomerBinding.objects.get(ended_at=None).expires_at == clock.now + timedelta(days=30)


def test_a_referral_by_the_same_distributor_renews_an_expiring_binding(
    shopper, alice_bob, attribute, clock, network_settings
):
    network_settings(binding_rule=Rule.EXPIRING, binding_days=30)
    alice, bob = alice_bob
    attribute(shopper, alice)

    renewed_at = clock.advance(days=20)
    attribute(shopper, alice)
    clock.advance(days=20)  # 40 days after binding, 20 after the renewal

    assert attribute(shopper, bob) == alice
    assert CustomerBinding.objects.get().expires_at == renewed_at + timedelta(days=30)


def test_bindings_keep_the_terms_they_were_made_with_when_the_rule_changes(
    shopper, alice_bob, attribute, clock, network_settings
):
    network_settings(binding_rule=Rule.FIRST_REFERRER)
    alice, bob = alice_bob
    attribute(shopper, alice)

    network_settings(binding_rule=Rule.EXPIRING, binding_days=7)
    clock.advance(days=100)
    assert attribute(shopper, alice) == alice
    assert attribute(shopper, bob) == alice
    assert CustomerBinding.objects.get().expires_at is None


# --- Self-purchase and suspension -------------------------------------------------------------


def test_a_distributor_buying_is_credited_to_themselves_only_with_self_purchase(chain, attribute):
    alice, bob, _carol = chain
    assert attribute(bob.user, bob, allow_self_purchase=True) == bob
    assert attribute(bob.user, alice, allow_self_purchase=True) == bob
    assert attribute(bob.user, alice, allow_self_purchase=False) is None
    assert attribute(bob.user, allow_self_purchase=False) is None
    assert not CustomerBinding.objects.exists()


def test_a_binding_to_a_suspended_distributor_credits_nobody_until_reactivated(
    shopper, chain, attribute, admin_user
):
    carol = chain[2]
    attribute(shopper, carol)
    network.suspend_distributor(carol, actor=admin_user)
    assert attribute(shopper) is None

    network.reactivate_distributor(carol, actor=admin_user)
    assert attribute(shopper) == carol
    assert CustomerBinding.objects.count() == 1


# --- Through the checkout -------------------------------------------------------------------


def test_a_bound_customer_credits_their_distributor_without_the_link(
    shopper, chain, make_variant, address
):
    from orders.services import place_order

    alice, bob, carol = chain
    variant = make_variant()
    place_order(shopper, [(variant.pk, 1)], address=address, referral_code=carol.invite_code)

    later = place_order(shopper, [(variant.pk, 1)], address=address)

    assert later.distributor == carol
    assert later.referral_chain == [carol.pk, bob.pk, alice.pk]


def test_a_distributor_buying_through_someone_elses_link_credits_their_recruiter(
    chain, make_variant, address
):
    # the default plan: no self-purchase commission, the recruiter's chain earns instead
    from orders.services import place_order

    alice, bob, carol = chain
    order = place_order(
        carol.user, [(make_variant().pk, 1)], address=address, referral_code=alice.invite_code
    )
    assert (order.distributor, order.referral_chain) == (bob, [bob.pk, alice.pk])
    assert not CustomerBinding.objects.exists()


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_customer_bound_by_a_concurrent_order_is_not_bound_twice(
    make_user, make_distributor, monkeypatch
):
    # given: a new customer who opened two distributors' links in two tabs
    shopper = make_user("shopper")
    first, second = make_distributor("first"), make_distributor("second")
    NetworkSettings.get_solo()

    # when: the checkout through `second` found no binding, and just before it
    # binds, the checkout through `first` (its own connection) binds and commits
    decide = binding._apply_binding_rule
    competing = []

    def competitor_commits_first(*args, **kwargs):
        if threading.current_thread() is threading.main_thread() and not competing:
            competing.append(
                run_in_thread(
                    lambda: binding.resolve_attribution(
                        shopper, first.invite_code, allow_self_purchase=False
                    )
                )
            )
        return decide(*args, **kwargs)

    monkeypatch.setattr(binding, "_apply_binding_rule", competitor_commits_first)
    credited = binding.resolve_attribution(shopper, second.invite_code, allow_self_purchase=False)

    # then: one binding, the first one; both orders credit it
    assert competing == [first]
    assert credited == first
    assert list(CustomerBinding.objects.values_list("distributor", "ended_at")) == [
        (first.pk, None)
    ]


def run_in_thread(work):
    """Run `work()` in a thread with its own database connection; return its result."""
    result = []

    def run():
        try:
            result.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return result[0]
