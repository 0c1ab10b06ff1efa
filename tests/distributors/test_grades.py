"""Grades (分销等级): rules, promotion (never demotion), and when it runs."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from config.celery import app as celery_app
from distributors import network, tasks
from distributors.grades import evaluate_grade, set_grade
from distributors.models import Distributor, Grade, GradeChange
from distributors.selectors import grade_figures
from orders import services as order_services
from orders.models import Order

pytestmark = pytest.mark.django_db


def grade_of(distributor):
    return Distributor.objects.get(pk=distributor.pk).grade


def test_the_migration_made_three_default_grades():
    assert list(Grade.objects.values_list("rank", "name", "name_en")) == [
        (0, "普通", "Ordinary"),
        (1, "银牌", "Silver"),
        (2, "金牌", "Gold"),
    ]


def test_a_new_distributor_starts_at_rank_zero(make_distributor, grades):
    assert make_distributor("erin").grade == grades[0]


def test_personal_sales_count_only_orders_paid_and_kept(chain, sell):
    carol = chain[2]
    sell(carol, "100.00", Order.Status.PAID)
    sell(carol, "200.00", Order.Status.SHIPPED)
    sell(carol, "300.00", Order.Status.COMPLETED)
    sell(carol, "1000.00", Order.Status.PENDING_PAYMENT)
    sell(carol, "2000.00", Order.Status.CANCELLED)
    sell(carol, "4000.00", Order.Status.REFUNDED)

    assert grade_figures(carol).personal_sales == Decimal("600.00")


def test_sales_count_what_a_partial_refund_left(chain, sell):
    carol = chain[2]
    kept = sell(carol, "500.00", Order.Status.PARTIALLY_REFUNDED)
    Order.objects.filter(pk=kept.pk).update(refunded_total=Decimal("120.00"))
    completed = sell(carol, "300.00", Order.Status.COMPLETED)
    Order.objects.filter(pk=completed.pk).update(refunded_total=Decimal("100.00"))

    assert grade_figures(carol).personal_sales == Decimal("580.00")


def test_team_sales_are_every_descendants_sales_and_not_ones_own(chain, make_distributor, sell):
    alice, bob, carol = chain
    dan = make_distributor("dan", parent=carol)
    eve = make_distributor("eve", parent=dan)  # four levels below alice
    outsider = make_distributor("outsider", parent=alice)
    for seller, amount in ((alice, "1"), (bob, "10"), (carol, "100"), (eve, "1000")):
        sell(seller, amount)
    sell(outsider, "5")

    bob.refresh_from_db()
    figures = grade_figures(bob)
    assert (figures.personal_sales, figures.team_sales, figures.direct_recruits) == (
        Decimal("10.00"),
        Decimal("1100.00"),
        1,
    )


def test_a_distributor_is_promoted_to_the_highest_grade_whose_rules_they_meet(
    chain, make_distributor, sell, grades, clock
):
    _alice, bob, carol = chain
    make_distributor("dan", parent=bob)  # bob: 2 direct recruits
    sell(bob, "2500.00")
    sell(carol, "5000.00")

    change = evaluate_grade(bob, now=clock.now)

    gold = grades[2]
    assert grade_of(bob) == gold
    assert (change.from_grade, change.to_grade, change.reason, change.created_at) == (
        grades[0],
        gold,
        GradeChange.Reason.REVIEW,
        clock.now,
    )
    assert (change.personal_sales, change.team_sales, change.direct_recruits) == (
        Decimal("2500.00"),
        Decimal("5000.00"),
        2,
    )


def test_every_rule_of_a_grade_must_be_met(chain, sell, grades):
    _alice, bob, carol = chain
    sell(bob, "100000.00")  # far above every sales rule, but team sales are 0
    assert evaluate_grade(bob) is None
    sell(carol, "1000.00")
    evaluate_grade(bob)
    assert grade_of(bob) == grades[1]  # silver: gold wants 2 recruits and 5000 of team sales


def test_a_rule_of_zero_asks_for_nothing(make_distributor, grades):
    lone = make_distributor("lone")
    Distributor.objects.filter(pk=lone.pk).update(grade=None)  # joined before grades existed
    evaluate_grade(lone)
    assert grade_of(lone) == grades[0]


def test_grades_are_never_lowered_automatically(chain, grades, admin_user):
    carol = chain[2]
    set_grade(carol, grades[2], actor=admin_user)  # no sales at all
    assert evaluate_grade(carol) is None
    assert grade_of(carol) == grades[2]


def test_evaluating_again_promotes_once(chain, sell, grades):
    _alice, bob, carol = chain
    sell(bob, "600.00")
    sell(carol, "1000.00")
    evaluate_grade(bob)
    assert evaluate_grade(bob) is None
    assert GradeChange.objects.filter(distributor=bob).count() == 1


def test_a_suspended_distributor_is_not_promoted(chain, sell, grades, admin_user):
    _alice, bob, carol = chain
    sell(bob, "600.00")
    sell(carol, "1000.00")
    network.suspend_distributor(bob, actor=admin_user)
    assert evaluate_grade(bob) is None
    assert grade_of(bob) == grades[0]


def test_staff_may_set_any_grade_and_are_recorded(chain, grades, admin_user):
    carol = chain[2]
    set_grade(carol, grades[2], actor=admin_user)
    change = set_grade(carol, grades[1], actor=admin_user)
    assert (change.from_grade, change.to_grade, change.reason, change.actor) == (
        grades[2],
        grades[1],
        GradeChange.Reason.STAFF,
        admin_user,
    )


def test_completing_an_order_promotes_its_distributor_and_those_above(
    chain, sell, grades, admin_user, django_capture_on_commit_callbacks
):
    alice, bob, carol = chain
    Grade.objects.filter(rank=1).update(
        min_personal_sales=0, min_team_sales=Decimal("1000"), min_direct_recruits=1
    )
    order = sell(carol, "1000.00")  # paid
    order_services.ship_order(order, carrier="顺丰", tracking_number="SF1", actor=admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        order_services.complete_order(order, actor=admin_user)

    assert [grade_of(d).rank for d in (alice, bob, carol)] == [1, 1, 0]
    assert set(GradeChange.objects.values_list("reason", "note")) == {
        ("order_completed", order.number)
    }


def test_completing_an_order_nobody_referred_enqueues_no_evaluation(
    shopper, variant, address, admin_user, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tasks.evaluate_grades_after_order, "delay", enqueued.append)
    order = order_services.place_order(shopper, [(variant.pk, 1)], address=address)
    order_services.mark_paid(order)
    order_services.ship_order(order, carrier="顺丰", tracking_number="SF1", actor=admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        order_services.complete_order(order, actor=admin_user)

    assert enqueued == []


def test_the_nightly_review_promotes_everyone_who_qualifies(chain, sell, grades):
    alice, bob, carol = chain
    sell(alice, "500.00")
    sell(bob, "600.00")
    sell(carol, "1000.00")

    scheduled = tasks.evaluate_all_grades.delay().get()

    assert scheduled == 3
    assert [grade_of(d).rank for d in (alice, bob, carol)] == [1, 1, 0]


def test_the_nightly_review_is_on_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert "distributors.tasks.evaluate_all_grades" in tasks_scheduled


def test_the_command_runs_the_review_by_hand(chain, sell, grades, capsys):
    _alice, bob, carol = chain
    sell(bob, "600.00")
    sell(carol, "1000.00")
    call_command("evaluate_grades")
    assert "3 distributors reviewed, 1 promoted" in capsys.readouterr().out


def test_the_dashboard_shows_the_grade_and_what_the_next_one_asks_for(client, chain, grades):
    client.force_login(chain[1].user)
    page = client.get(reverse("distributors:dashboard"))
    assert (page.context["distributor"].grade, page.context["next_grade"]) == tuple(grades[:2])
    assert page.context["figures"].direct_recruits == 1
