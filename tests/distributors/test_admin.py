"""The back office: search, filters, actions and read-only history."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from distributors import applications, network
from distributors.models import (
    Distributor,
    DistributorApplication,
    DistributorStatusChange,
    GradeChange,
    NetworkSettings,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_en(admin_client, settings):
    settings.LANGUAGE_CODE = "en"
    return admin_client


def changelist(model):
    return reverse(f"admin:distributors_{model}_changelist")


def run_action(client, model, action, objects):
    return client.post(
        changelist(model),
        {"action": action, ACTION_CHECKBOX_NAME: [obj.pk for obj in objects]},
        follow=True,
    )


@pytest.mark.parametrize("query", ["bob", "13900139000", "code"])
def test_distributors_are_found_by_username_phone_or_invite_code(admin_client, chain, query):
    bob = chain[1]
    bob.user.phone = "13900139000"
    bob.user.save()
    query = bob.invite_code if query == "code" else query
    page = admin_client.get(changelist("distributor"), {"q": query})
    assert [d.pk for d in page.context["cl"].result_list] == [bob.pk]


def test_distributors_filter_by_status_and_grade(admin_client, chain, grades, admin_user):
    network.suspend_distributor(chain[2], actor=admin_user)
    page = admin_client.get(
        changelist("distributor"), {"status__exact": "suspended", "grade__id__exact": grades[0].pk}
    )
    assert [d.pk for d in page.context["cl"].result_list] == [chain[2].pk]


def test_the_suspend_and_reactivate_actions_record_the_reviewer(admin_client, chain, admin_user):
    carol = chain[2]
    run_action(admin_client, "distributor", "suspend", [carol])
    carol.refresh_from_db()
    assert carol.status == Distributor.Status.SUSPENDED

    run_action(admin_client, "distributor", "reactivate", [carol])
    carol.refresh_from_db()
    assert carol.is_active
    assert list(DistributorStatusChange.objects.values_list("actor", flat=True)) == [
        admin_user.pk,
        admin_user.pk,
    ]


def test_suspending_an_already_suspended_distributor_warns(admin_client_en, chain, admin_user):
    network.suspend_distributor(chain[2], actor=admin_user)
    page = run_action(admin_client_en, "distributor", "suspend", [chain[2]])
    assert "already suspended" in page.content.decode()
    assert DistributorStatusChange.objects.count() == 1


def test_changing_a_grade_in_the_admin_is_recorded_and_keeps_a_join_made_meanwhile(
    admin_client, chain, grades, admin_user, make_distributor, monkeypatch
):
    from distributors.admin import DistributorAdmin

    bob = chain[1]
    save_form = DistributorAdmin.save_form

    def someone_joins_under_bob_meanwhile(self, request, form, change):
        # The admin loaded bob's row; a join renumbers his nested set now.
        make_distributor("dan", parent=bob)
        return save_form(self, request, form, change)

    monkeypatch.setattr(DistributorAdmin, "save_form", someone_joins_under_bob_meanwhile)
    data = {"grade": grades[2].pk}
    for inline in ("status_changes", "grade_changes"):
        data |= {f"{inline}-TOTAL_FORMS": 0, f"{inline}-INITIAL_FORMS": 0}

    response = admin_client.post(
        reverse("admin:distributors_distributor_change", args=[bob.pk]), data
    )

    assert response.status_code == 302
    change = GradeChange.objects.get(distributor=bob)
    assert (change.to_grade, change.actor, change.reason) == (grades[2], admin_user, "staff")
    bob.refresh_from_db()
    assert [d.user.username for d in bob.get_descendants()] == ["carol", "dan"]


def test_the_grade_is_chosen_by_autocomplete(admin_client, grades):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "distributors",
            "model_name": "distributor",
            "field_name": "grade",
            "term": "银",
        },
    )
    assert [row["text"] for row in response.json()["results"]] == ["银牌"]


@pytest.mark.parametrize(
    ("action", "status", "distributors"), [("approve", "approved", 1), ("reject", "rejected", 0)]
)
def test_the_review_actions_record_the_reviewer(
    admin_client, make_user, network_settings, admin_user, action, status, distributors
):
    network_settings(auto_approve=False)
    application = applications.apply_to_join(make_user("erin"), name="Erin", phone="13800138000")

    run_action(admin_client, "distributorapplication", action, [application])

    application.refresh_from_db()
    assert (application.status, application.reviewed_by) == (status, admin_user)
    assert Distributor.objects.filter(user__username="erin").count() == distributors


def test_reviewing_an_application_twice_warns_and_changes_nothing(
    admin_client_en, make_user, admin_user
):
    application = applications.apply_to_join(make_user("erin"), name="Erin", phone="13800138000")
    page = run_action(admin_client_en, "distributorapplication", "reject", [application])
    assert "already reviewed" in page.content.decode()
    assert DistributorApplication.objects.get().status == "approved"


def test_the_network_settings_list_opens_the_one_row(admin_client):
    response = admin_client.get(changelist("networksettings"))
    assert response.url == reverse("admin:distributors_networksettings_change", args=[1])


def test_the_network_settings_are_edited_in_the_admin(admin_client):
    url = reverse("admin:distributors_networksettings_change", args=[1])
    admin_client.post(url, {"auto_approve": "", "binding_rule": "expiring", "binding_days": 15})
    settings = NetworkSettings.get_solo()
    assert (settings.auto_approve, settings.binding_rule, settings.binding_days) == (
        False,
        "expiring",
        15,
    )


@pytest.mark.parametrize(
    "model",
    [
        "distributor",
        "distributorapplication",
        "grade",
        "trainingresource",
        "gradechange",
        "distributorstatuschange",
        "customerbinding",
    ],
)
def test_every_network_admin_page_opens(admin_client, chain, model):
    assert admin_client.get(changelist(model)).status_code == 200


def test_the_training_resource_form_opens(admin_client):
    assert admin_client.get(reverse("admin:distributors_trainingresource_add")).status_code == 200


@pytest.mark.parametrize("model", ["gradechange", "distributorstatuschange", "customerbinding"])
def test_history_cannot_be_added_in_the_admin(admin_client, model):
    assert admin_client.get(reverse(f"admin:distributors_{model}_add")).status_code == 403


def test_saving_a_review_note_keeps_a_status_changed_meanwhile(
    admin_client, make_user, network_settings, admin_user, monkeypatch
):
    from distributors.admin import DistributorApplicationAdmin

    network_settings(auto_approve=False)
    application = applications.apply_to_join(make_user("erin"), name="Erin", phone="13800138000")
    save_form = DistributorApplicationAdmin.save_form

    def approved_elsewhere_meanwhile(self, request, form, change):
        # The admin loaded the pending row; another reviewer approves it now.
        applications.approve_application(application, reviewer=admin_user)
        return save_form(self, request, form, change)

    monkeypatch.setattr(DistributorApplicationAdmin, "save_form", approved_elsewhere_meanwhile)
    url = reverse("admin:distributors_distributorapplication_change", args=[application.pk])

    admin_client.post(url, {"review_note": "电话核实过"})

    application.refresh_from_db()
    assert (application.status, application.review_note) == ("approved", "电话核实过")
