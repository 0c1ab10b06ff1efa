import pytest
from django.urls import reverse

from distributors import network
from distributors.models import Distributor
from distributors.selectors import referral_chain_ids

pytestmark = pytest.mark.django_db


def test_joining_with_an_invite_code_puts_you_under_its_owner(make_user, chain):
    alice, bob, carol = chain
    assert carol.parent == bob and bob.parent == alice
    alice.refresh_from_db()  # the joins renumbered the nested set under her
    assert list(alice.get_descendants()) == [bob, carol]


def test_an_invite_code_that_does_not_exist_is_refused(make_user):
    with pytest.raises(network.UnknownInviteCode):
        network.join_network(make_user("x"), invite_code="NOPE2345")
    assert not Distributor.objects.exists()


def test_a_distributor_cannot_join_twice(chain):
    with pytest.raises(network.AlreadyDistributor):
        network.join_network(chain[2].user)
    assert Distributor.objects.count() == 3


def test_referral_chain_is_nearest_first_and_bounded(chain, make_distributor):
    alice, bob, carol = chain
    dan = make_distributor("dan", parent=carol)
    assert referral_chain_ids(dan.pk) == [dan.pk, carol.pk, bob.pk]
    assert referral_chain_ids(bob.pk) == [bob.pk, alice.pk]


def test_a_referral_link_sets_the_cookie_only_for_a_real_code(client, chain):
    carol = chain[2]
    client.get(reverse("referral", args=["BOGUS234"]))
    assert "ref" not in client.cookies
    client.get(reverse("catalog:home") + f"?ref={carol.invite_code.lower()}")
    assert client.cookies["ref"].value == carol.invite_code


def test_a_shopper_joins_under_the_distributor_who_referred_them(client, make_user, chain):
    carol = chain[2]
    client.get(reverse("referral", args=[carol.invite_code]))
    client.force_login(make_user("erin"))
    page = client.get(reverse("distributors:join"))
    assert page.context["referrer"] == carol
    client.post(
        reverse("distributors:join"),
        {"name": "Erin", "phone": "13800138000", "invite_code": carol.invite_code},
    )
    assert Distributor.objects.get(user__username="erin").parent == carol


def test_joining_with_a_wrong_code_shows_an_error(client, make_user, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(make_user("erin"))
    page = client.post(
        reverse("distributors:join"),
        {"name": "Erin", "phone": "13800138000", "invite_code": "WRONG234"},
    )
    assert "does not exist" in page.content.decode()
    assert not Distributor.objects.exists()
