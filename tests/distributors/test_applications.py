"""Recruitment: applying, automatic and manual approval, rejection, suspension."""

import pytest
from django.urls import reverse

from distributors import applications, network
from distributors.models import (
    Distributor,
    DistributorApplication,
    DistributorStatusChange,
    NetworkSettings,
)

pytestmark = pytest.mark.django_db


def apply(user, invite_code="", **extra):
    fields = {"name": "王小明", "phone": "13800138000", "reason": "朋友都爱喝酒"} | extra
    return applications.apply_to_join(user, invite_code=invite_code, **fields)


def test_with_auto_approval_an_application_makes_a_distributor_at_once(make_user, chain):
    carol = chain[2]
    application = apply(make_user("erin"), invite_code=carol.invite_code.lower())

    assert application.status == DistributorApplication.Status.APPROVED
    assert application.reviewed_by is None and application.reviewed_at is not None
    assert application.distributor.parent == carol


def test_without_auto_approval_an_application_waits(make_user, network_settings):
    network_settings(auto_approve=False)
    application = apply(make_user("erin"))
    assert application.status == DistributorApplication.Status.PENDING
    assert not Distributor.objects.exists()


def test_a_reviewer_approves_an_application_and_is_recorded(
    make_user, chain, network_settings, admin_user, clock
):
    network_settings(auto_approve=False)
    application = apply(make_user("erin"), invite_code=chain[0].invite_code)

    approved = applications.approve_application(application, reviewer=admin_user, now=clock.now)

    assert (approved.status, approved.reviewed_by, approved.reviewed_at) == (
        DistributorApplication.Status.APPROVED,
        admin_user,
        clock.now,
    )
    assert Distributor.objects.get(user__username="erin").parent == chain[0]


def test_a_rejected_application_makes_no_distributor_and_may_be_followed_by_another(
    make_user, network_settings, admin_user
):
    network_settings(auto_approve=False)
    erin = make_user("erin")
    rejected = applications.reject_application(apply(erin), reviewer=admin_user, note="信息不全")

    assert (rejected.status, rejected.review_note) == ("rejected", "信息不全")
    assert not Distributor.objects.exists()
    assert apply(erin).status == DistributorApplication.Status.PENDING


def test_an_application_is_reviewed_once(make_user, network_settings, admin_user):
    network_settings(auto_approve=False)
    application = apply(make_user("erin"))
    applications.approve_application(application, reviewer=admin_user)
    with pytest.raises(applications.ApplicationAlreadyReviewed):
        applications.reject_application(application, reviewer=admin_user)
    with pytest.raises(applications.ApplicationAlreadyReviewed):
        applications.approve_application(application, reviewer=admin_user)
    assert Distributor.objects.count() == 1


def test_a_distributor_applying_again_is_refused_and_nothing_changes(chain):
    with pytest.raises(network.AlreadyDistributor):
        apply(chain[2].user)
    assert not DistributorApplication.objects.exists()


def test_a_second_pending_application_is_refused(make_user, network_settings):
    network_settings(auto_approve=False)
    erin = make_user("erin")
    apply(erin)
    with pytest.raises(applications.ApplicationPending):
        apply(erin, name="another")
    assert DistributorApplication.objects.filter(user=erin).count() == 1


def test_an_invite_code_that_does_not_exist_is_refused_and_nothing_changes(make_user):
    with pytest.raises(network.UnknownInviteCode):
        apply(make_user("erin"), invite_code="NOPE2345")
    assert not DistributorApplication.objects.exists()
    assert not Distributor.objects.exists()


def test_the_invite_code_of_a_suspended_distributor_is_refused(make_user, chain, admin_user):
    network.suspend_distributor(chain[2], actor=admin_user)
    with pytest.raises(network.UnknownInviteCode):
        apply(make_user("erin"), invite_code=chain[2].invite_code)


def test_approving_under_a_referrer_suspended_since_is_refused(
    make_user, chain, network_settings, admin_user
):
    network_settings(auto_approve=False)
    application = apply(make_user("erin"), invite_code=chain[2].invite_code)
    network.suspend_distributor(chain[2], actor=admin_user)

    with pytest.raises(applications.ReferrerSuspended):
        applications.approve_application(application, reviewer=admin_user)

    application.refresh_from_db()
    assert application.is_pending and not Distributor.objects.filter(user__username="erin")


def test_new_distributors_start_at_rank_zero(make_user, grades):
    application = apply(make_user("erin"))
    assert application.distributor.grade == grades[0]


def test_the_settings_are_one_row():
    assert NetworkSettings.get_solo().pk == NetworkSettings.get_solo().pk == 1
    assert NetworkSettings.objects.count() == 1


# --- Suspension --------------------------------------------------------------------


def test_suspending_and_reactivating_record_who_and_when(chain, admin_user, clock):
    carol = chain[2]
    suspended_at = clock.now
    network.suspend_distributor(carol, actor=admin_user, reason="投诉", now=suspended_at)
    carol.refresh_from_db()
    assert carol.status == Distributor.Status.SUSPENDED

    reactivated_at = clock.advance(days=1)
    network.reactivate_distributor(carol, actor=admin_user, now=reactivated_at)
    carol.refresh_from_db()
    assert carol.is_active
    assert list(
        DistributorStatusChange.objects.order_by("created_at").values_list(
            "from_status", "to_status", "actor", "created_at"
        )
    ) == [
        ("active", "suspended", admin_user.pk, suspended_at),
        ("suspended", "active", admin_user.pk, reactivated_at),
    ]


def test_suspending_twice_is_refused_and_recorded_once(chain, admin_user):
    network.suspend_distributor(chain[2], actor=admin_user)
    with pytest.raises(network.InvalidStatusChange):
        network.suspend_distributor(chain[2], actor=admin_user)
    assert DistributorStatusChange.objects.count() == 1


def test_reactivating_an_active_distributor_is_refused(chain, admin_user):
    with pytest.raises(network.InvalidStatusChange):
        network.reactivate_distributor(chain[2], actor=admin_user)
    assert not DistributorStatusChange.objects.exists()


# --- The application page ------------------------------------------------------------


def form(**extra):
    return {"name": "王小明", "phone": "138 0013 8000", "reason": "", "invite_code": ""} | extra


def test_the_form_is_prefilled_with_the_referrer_from_the_cookie(client, make_user, chain):
    carol = chain[2]
    client.get(reverse("referral", args=[carol.invite_code]))
    client.force_login(make_user("erin"))
    page = client.get(reverse("distributors:join"))
    assert page.context["form"].initial["invite_code"] == carol.invite_code


def test_a_pending_application_shows_its_state_instead_of_the_form(
    client, make_user, network_settings
):
    network_settings(auto_approve=False)
    client.force_login(make_user("erin"))
    response = client.post(reverse("distributors:join"), form(), follow=True)
    assert response.context["application"].is_pending
    assert "form" not in response.context
    assert DistributorApplication.objects.get().phone == "13800138000"


@pytest.mark.parametrize("phone", ["12345", "2380013800", "138001380001"])
def test_a_phone_number_that_is_not_a_mobile_number_is_refused(client, make_user, phone):
    client.force_login(make_user("erin"))
    page = client.post(reverse("distributors:join"), form(phone=phone))
    assert page.context["form"].has_error("phone")
    assert not DistributorApplication.objects.exists()


def test_an_invite_code_that_names_nobody_is_refused_on_its_field(client, make_user):
    client.force_login(make_user("erin"))
    page = client.post(reverse("distributors:join"), form(invite_code="NOBODY00"))
    assert page.context["form"].has_error("invite_code")
    assert not DistributorApplication.objects.exists()


def test_applying_again_as_a_distributor_redirects_to_the_dashboard(client, chain):
    client.force_login(chain[2].user)
    response = client.post(reverse("distributors:join"), form())
    assert response.url == reverse("distributors:dashboard")
    assert not DistributorApplication.objects.exists()


def test_after_a_rejection_the_note_and_the_form_are_shown(
    client, make_user, network_settings, admin_user
):
    network_settings(auto_approve=False)
    erin = make_user("erin")
    application = applications.apply_to_join(erin, name="Erin", phone="13800138000")
    applications.reject_application(application, reviewer=admin_user, note="请补充真实姓名")
    client.force_login(erin)

    page = client.get(reverse("distributors:join"))

    assert "请补充真实姓名" in page.content.decode()
    assert "form" in page.context
