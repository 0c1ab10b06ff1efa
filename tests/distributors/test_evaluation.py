"""Periodic evaluation (考核): periods, period figures, the run, staff decisions, admin, page."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from celery.schedules import crontab
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from distributors import evaluation, selectors, tasks
from distributors.demo_evaluation import seed_keep_conditions
from distributors.evaluation import (
    AlreadyDecided,
    GradeChangedSince,
    confirm_demotions,
    current_period,
    last_period,
    run_evaluation,
    waive,
)
from distributors.models import (
    Distributor,
    Evaluation,
    EvaluationResult,
    EvaluationSettings,
    Grade,
    GradeChange,
)
from orders.models import Order

pytestmark = pytest.mark.django_db

Outcome, Decision = EvaluationResult.Outcome, EvaluationResult.Decision
FEB = (date(2026, 2, 1), date(2026, 2, 28))
IN_FEB = datetime(2026, 2, 10, 4, 0, tzinfo=UTC)
BEFORE_FEB = datetime(2026, 1, 10, 4, 0, tzinfo=UTC)
AFTER_FEB = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # when the evaluation runs


def settings_of(period):
    return EvaluationSettings(period=period)


def grade_of(distributor):
    return Distributor.objects.select_related("grade").get(pk=distributor.pk).grade


@pytest.fixture
def ladder(grades):
    """Ordinary (0); Silver rises at ¥500 personal, keeps with ¥100 a period;
    Gold is out of reach, keeps with ¥300 personal and one new recruit a period."""
    ordinary, silver, gold = grades
    Grade.objects.filter(pk=silver.pk).update(
        min_personal_sales=500, min_team_sales=0, min_direct_recruits=0, keep_personal_sales=100
    )
    Grade.objects.filter(pk=gold.pk).update(
        min_personal_sales=10**9,
        min_team_sales=0,
        min_direct_recruits=0,
        keep_personal_sales=300,
        keep_direct_recruits=1,
    )
    return [Grade.objects.get(pk=g.pk) for g in (ordinary, silver, gold)]


@pytest.fixture
def sell_at(sell):
    """sell_at(distributor, amount, paid_at, status=PAID): a paid order at a given time."""

    def make(distributor, amount, paid_at, status=Order.Status.PAID, refunded="0"):
        order = sell(distributor, amount, status)
        Order.objects.filter(pk=order.pk).update(paid_at=paid_at, refunded_total=Decimal(refunded))
        return order

    return make


def joined(distributor, at):
    Distributor.objects.filter(pk=distributor.pk).update(joined_at=at)


def put_at(distributor, grade):
    Distributor.objects.filter(pk=distributor.pk).update(grade=grade)


# --- Periods ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "period"),
    [
        (date(2026, 3, 1), FEB),
        (date(2026, 3, 31), FEB),
        (date(2026, 1, 1), (date(2025, 12, 1), date(2025, 12, 31))),
        (date(2024, 3, 15), (date(2024, 2, 1), date(2024, 2, 29))),
    ],
)
def test_the_last_monthly_period_is_the_previous_calendar_month(today, period):
    assert last_period(settings_of("monthly"), today) == period


@pytest.mark.parametrize(
    ("today", "period"),
    [
        (date(2026, 4, 1), (date(2026, 1, 1), date(2026, 3, 31))),
        (date(2026, 6, 30), (date(2026, 1, 1), date(2026, 3, 31))),
        (date(2026, 1, 1), (date(2025, 10, 1), date(2025, 12, 31))),
        (date(2026, 12, 31), (date(2026, 7, 1), date(2026, 9, 30))),
    ],
)
def test_the_last_quarterly_period_is_the_previous_calendar_quarter(today, period):
    assert last_period(settings_of("quarterly"), today) == period


def test_the_current_period_runs_to_the_end_of_the_month_or_quarter():
    assert current_period(settings_of("monthly"), date(2026, 2, 14)) == FEB
    assert current_period(settings_of("quarterly"), date(2026, 11, 2)) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )


# --- Period figures ---------------------------------------------------------------------


def test_period_sales_count_goods_kept_of_orders_paid_within_the_days_in_shop_time(chain, sell_at):
    carol = chain[2]
    # Shanghai is UTC+8: 16:30 UTC on 31 January is already 1 February there.
    sell_at(carol, "100.00", datetime(2026, 1, 31, 16, 30, tzinfo=UTC))
    sell_at(carol, "200.00", datetime(2026, 2, 28, 15, 59, tzinfo=UTC))  # 23:59 on the 28th
    sell_at(carol, "400.00", datetime(2026, 2, 28, 16, 0, tzinfo=UTC))  # 1 March 00:00
    sell_at(carol, "800.00", datetime(2026, 1, 31, 15, 59, tzinfo=UTC))  # 31 January
    sell_at(carol, "50.00", IN_FEB, Order.Status.PARTIALLY_REFUNDED, refunded="20.00")
    sell_at(carol, "1000.00", IN_FEB, Order.Status.REFUNDED)
    sell_at(carol, "2000.00", IN_FEB, Order.Status.CANCELLED)

    assert selectors.period_figures(carol, *FEB).personal_sales == Decimal("330.00")


def test_period_team_sales_and_new_recruits_are_those_of_the_period(
    chain, make_distributor, sell_at
):
    alice, bob, carol = chain
    dan = make_distributor("dan", parent=bob)
    for member in (bob, carol):
        joined(member, BEFORE_FEB)
    joined(dan, IN_FEB)
    sell_at(carol, "70.00", IN_FEB)
    sell_at(carol, "700.00", BEFORE_FEB)
    sell_at(dan, "5.00", IN_FEB)
    sell_at(bob, "9.00", IN_FEB)

    bob.refresh_from_db()
    assert selectors.period_figures(bob, *FEB) == selectors.GradeFigures(
        personal_sales=Decimal("9.00"), team_sales=Decimal("75.00"), direct_recruits=1
    )


def test_figures_of_the_whole_network_equal_each_distributors_own(chain, make_distributor, sell_at):
    alice, bob, carol = chain
    dan = make_distributor("dan", parent=carol)
    erin = make_distributor("erin", parent=alice)
    loner = make_distributor("loner")
    joined(erin, BEFORE_FEB)
    for seller, amount, when in [
        (alice, "1.00", IN_FEB),
        (bob, "10.00", BEFORE_FEB),
        (carol, "100.00", IN_FEB),
        (dan, "1000.00", IN_FEB),
        (dan, "3.00", BEFORE_FEB),
        (erin, "7.00", IN_FEB),
        (loner, "2.00", IN_FEB),
    ]:
        sell_at(seller, amount, when)

    members = Distributor.objects.all()
    lifetime, period = selectors.network_figures(), selectors.network_figures(*FEB)
    assert {m.pk: lifetime[m.pk] for m in members} == {
        m.pk: selectors.grade_figures(m) for m in members
    }
    assert {m.pk: period[m.pk] for m in members} == {
        m.pk: selectors.period_figures(m, *FEB) for m in members
    }
    assert lifetime[alice.pk].team_sales == Decimal("1120.00")


def test_team_sales_roll_up_every_level_by_parent_links():
    # 1 > 2 > 3 > 4, and 1 > 5; 6 alone
    parents = {1: None, 2: 1, 3: 2, 4: 3, 5: 1, 6: None}
    personal = {2: Decimal("1"), 3: Decimal("10"), 4: Decimal("100"), 5: Decimal("1000")}
    assert selectors.roll_up_team_sales(parents, personal) == {
        1: Decimal("1111"),
        2: Decimal("110"),
        3: Decimal("100"),
        4: Decimal("0"),
        5: Decimal("0"),
        6: Decimal("0"),
    }


# --- Running an evaluation -----------------------------------------------------------------


@pytest.fixture
def evaluated_network(chain, make_distributor, ladder, sell_at):
    """alice Gold with ¥350 in February but no new recruit (falls short, Silver kept);
    bob Silver with ¥150 (keeps); carol Ordinary with ¥600 in January (rises to Silver);
    dan Silver, suspended (not evaluated); erin Gold with nothing (falls short to Ordinary)."""
    alice, bob, carol = chain
    ordinary, silver, gold = ladder
    dan = make_distributor("dan", parent=alice)
    erin = make_distributor("erin", parent=alice)
    for member in (alice, bob, carol, dan, erin):
        joined(member, BEFORE_FEB)
    put_at(alice, gold)
    put_at(bob, silver)
    put_at(dan, silver)
    put_at(erin, gold)
    Distributor.objects.filter(pk=dan.pk).update(status=Distributor.Status.SUSPENDED)
    sell_at(alice, "350.00", IN_FEB)
    sell_at(bob, "150.00", IN_FEB)
    sell_at(carol, "600.00", BEFORE_FEB)
    done = run_evaluation(*FEB, now=AFTER_FEB)
    return {"alice": alice, "bob": bob, "carol": carol, "dan": dan, "erin": erin, "run": done}


def result_of(distributor):
    return EvaluationResult.objects.select_related("grade", "proposed_grade").get(
        distributor=distributor
    )


def test_each_active_distributor_keeps_rises_or_falls_short(evaluated_network, ladder):
    ordinary, silver, gold = ladder
    rows = {
        r.distributor.user.username: (r.grade, r.outcome, r.proposed_grade, r.decision)
        for r in EvaluationResult.objects.select_related("distributor__user")
    }
    assert rows == {
        "alice": (gold, Outcome.FALLS_SHORT, silver, Decision.PENDING),
        "bob": (silver, Outcome.KEEPS, None, Decision.NONE),
        "carol": (ordinary, Outcome.RISES, silver, Decision.NONE),
        "erin": (gold, Outcome.FALLS_SHORT, ordinary, Decision.PENDING),
    }


def test_a_result_records_the_period_figures(evaluated_network):
    alice = result_of(evaluated_network["alice"])
    assert (alice.personal_sales, alice.team_sales, alice.direct_recruits) == (
        Decimal("350.00"),
        Decimal("150.00"),
        0,
    )


def test_a_rise_is_promoted_at_once_as_a_scheduled_review_and_nobody_is_demoted(
    evaluated_network, ladder
):
    ordinary, silver, gold = ladder
    change = GradeChange.objects.get()
    assert (change.distributor_id, change.to_grade, change.reason) == (
        evaluated_network["carol"].pk,
        silver,
        GradeChange.Reason.REVIEW,
    )
    assert "2026-02-01" in change.note
    assert grade_of(evaluated_network["alice"]) == gold


def test_a_second_run_of_a_period_returns_the_first_and_changes_nothing(evaluated_network):
    again = run_evaluation(*FEB, now=AFTER_FEB + timedelta(days=1))
    assert again == evaluated_network["run"]
    assert (Evaluation.objects.count(), EvaluationResult.objects.count()) == (1, 4)
    assert GradeChange.objects.count() == 1


def test_a_run_that_lost_the_race_for_the_period_returns_the_winners_evaluation(
    evaluated_network, monkeypatch
):
    # A concurrent run committed the period between our look and our insert.
    monkeypatch.setattr(evaluation, "_evaluation_of", lambda start, end: None)
    assert run_evaluation(*FEB, now=AFTER_FEB) == evaluated_network["run"]
    assert EvaluationResult.objects.count() == 4


def test_the_starting_grade_never_falls_short(chain, ladder):
    Grade.objects.filter(rank=0).update(keep_personal_sales=1000)
    run_evaluation(*FEB, now=AFTER_FEB)
    assert set(EvaluationResult.objects.values_list("outcome", flat=True)) == {Outcome.KEEPS}


def test_a_period_that_has_not_ended_is_not_evaluated(chain, ladder):
    with pytest.raises(ValueError, match="not ended"):
        run_evaluation(*FEB, now=datetime(2026, 2, 28, 15, 0, tzinfo=UTC))
    assert not Evaluation.objects.exists()


def test_the_scheduled_task_evaluates_the_period_that_ended_once(chain, ladder):
    made = tasks.evaluate_ended_period()
    start, end = last_period(EvaluationSettings.get_solo(), timezone.localdate())
    assert Evaluation.objects.get(pk=made).period_start == start
    assert Evaluation.objects.get(pk=made).period_end == end
    assert tasks.evaluate_ended_period() is None
    assert Evaluation.objects.count() == 1


def test_the_scheduled_task_does_nothing_when_evaluation_is_off(chain, ladder):
    EvaluationSettings.objects.update_or_create(pk=1, defaults={"is_enabled": False})
    assert tasks.evaluate_ended_period() is None
    assert not Evaluation.objects.exists()


def test_evaluation_by_quarter_takes_the_last_quarter(chain, ladder):
    EvaluationSettings.objects.update_or_create(pk=1, defaults={"period": "quarterly"})
    made = evaluation.evaluate_last_period(today=date(2026, 4, 1), now=AFTER_FEB + timedelta(30))
    assert (made.period_start, made.period_end) == (date(2026, 1, 1), date(2026, 3, 31))


def test_beat_runs_the_evaluation_daily_at_one_twenty():
    entry = celery_app.conf.beat_schedule["evaluate-distributors"]
    assert entry["task"] == tasks.evaluate_ended_period.name
    assert entry["schedule"] == crontab(hour=1, minute=20)


# --- Staff decisions ----------------------------------------------------------------------


def test_confirming_a_demotion_moves_the_grade_once_and_records_why(
    evaluated_network, ladder, admin_user
):
    ordinary, silver, gold = ladder
    alice = result_of(evaluated_network["alice"])

    first = confirm_demotions([alice], actor=admin_user)
    second = confirm_demotions([alice], actor=admin_user)

    assert len(first.done) == 1 and len(second.done) == 0 and len(second.refused) == 1
    assert grade_of(evaluated_network["alice"]) == silver
    change = GradeChange.objects.get(reason=GradeChange.Reason.EVALUATION)
    assert (change.from_grade, change.to_grade, change.actor) == (gold, silver, admin_user)
    assert (change.personal_sales, change.direct_recruits) == (Decimal("350.00"), 0)
    assert "2026-02-01" in change.note and "2026-02-28" in change.note
    alice.refresh_from_db()
    assert (alice.decision, alice.decided_by) == (Decision.DEMOTED, admin_user)


def test_waiving_keeps_the_grade_and_a_later_confirm_is_refused(
    evaluated_network, ladder, admin_user
):
    gold = ladder[2]
    erin = result_of(evaluated_network["erin"])

    waived = waive([erin], actor=admin_user)
    assert waive([erin], actor=admin_user).done == []
    with pytest.raises(AlreadyDecided):
        evaluation.confirm_demotion(erin, actor=admin_user)

    assert [r.decision for r in waived.done] == [Decision.WAIVED]
    assert grade_of(evaluated_network["erin"]) == gold
    assert not GradeChange.objects.filter(reason=GradeChange.Reason.EVALUATION).exists()
    erin.refresh_from_db()
    assert (erin.decision, erin.decided_by) == (Decision.WAIVED, admin_user)


def test_a_result_whose_grade_changed_since_is_refused_and_stays_pending(
    evaluated_network, ladder, admin_user
):
    silver = ladder[1]
    put_at(evaluated_network["erin"], silver)  # staff set it by hand meanwhile
    erin = result_of(evaluated_network["erin"])

    with pytest.raises(GradeChangedSince):
        evaluation.confirm_demotion(erin, actor=admin_user)
    decisions = waive([erin], actor=admin_user)

    assert decisions.done == [] and "erin" in decisions.refused[0]
    assert grade_of(evaluated_network["erin"]) == silver
    erin.refresh_from_db()
    assert erin.decision == Decision.PENDING


def test_results_without_a_pending_demotion_cannot_be_decided(evaluated_network, admin_user):
    bob = result_of(evaluated_network["bob"])
    assert confirm_demotions([bob], actor=admin_user).done == []
    assert not GradeChange.objects.filter(reason=GradeChange.Reason.EVALUATION).exists()


# --- Admin -------------------------------------------------------------------------------


@pytest.fixture
def admin_en(admin_client, settings):
    settings.LANGUAGE_CODE = "en"
    return admin_client


def results_list():
    return reverse("admin:distributors_evaluationresult_changelist")


def test_the_evaluation_list_counts_each_outcome_and_links_to_the_results(
    evaluated_network, admin_client
):
    page = admin_client.get(reverse("admin:distributors_evaluation_changelist"))
    run = page.context["cl"].result_list[0]
    assert (run.n_keeps, run.n_rises, run.n_falls_short, run.n_pending) == (1, 1, 2, 2)
    assert f"evaluation__id__exact={run.pk}&amp;decision__exact=pending" in page.content.decode()


def test_the_results_list_shows_figures_keep_conditions_and_badges(evaluated_network, admin_en):
    run = evaluated_network["run"]
    page = admin_en.get(
        results_list(), {"evaluation__id__exact": run.pk, "outcome__exact": "falls_short"}
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert {r.distributor.user.username for r in page.context["cl"].result_list} == {
        "alice",
        "erin",
    }
    # alice: ¥350.00 of the ¥300.00 asked (met), 0 of the 1 new recruit asked (missed)
    assert (
        '¥350.00</span><br><span class="keep keep-met" title="to keep the grade">/ ¥300.00' in body
    )
    assert '0</span><br><span class="keep keep-missed" title="to keep the grade">/ 1' in body
    assert 'class="badge badge-warning">Falls short' in body
    assert "→ Silver" in body  # the proposed grade


def test_the_results_list_takes_the_same_queries_for_few_and_many_results(
    evaluated_network, admin_client, make_distributor, ladder, django_assert_max_num_queries
):
    def results_page():
        return admin_client.get(results_list(), {"evaluation__id__exact": run.pk})

    run = evaluated_network["run"]
    with django_assert_max_num_queries(20) as few:
        results_page()
    for n in range(10):
        member = make_distributor(f"m{n}", parent=evaluated_network["alice"])
        put_at(member, ladder[2])
        EvaluationResult.objects.create(
            evaluation=run,
            distributor=member,
            grade=ladder[2],
            personal_sales=Decimal("10.00"),
            team_sales=Decimal("0.00"),
            direct_recruits=0,
            outcome=Outcome.FALLS_SHORT,
            proposed_grade=ladder[0],
            decision=Decision.PENDING,
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = results_page()

    assert len(page.context["cl"].result_list) == 14


def test_the_starting_grade_shows_no_keeping_condition_in_the_results(chain, ladder, admin_en):
    Grade.objects.filter(rank=0).update(keep_personal_sales=1000)
    run_evaluation(*FEB, now=AFTER_FEB)

    body = admin_en.get(results_list()).content.decode()

    assert "to keep the grade" not in body


def run_results_action(client, action, results):
    return client.post(
        results_list(),
        {"action": action, ACTION_CHECKBOX_NAME: [r.pk for r in results]},
        follow=True,
    )


def test_the_confirm_action_demotes_the_pending_and_leaves_the_others(
    evaluated_network, admin_en, ladder, admin_user
):
    selected = EvaluationResult.objects.filter(
        distributor__in=[evaluated_network["alice"], evaluated_network["bob"]]
    )
    page = run_results_action(admin_en, "confirm_demotion", selected)

    body = page.content.decode()
    assert "1 distributor demoted." in body and "no demotion waiting" in body
    assert grade_of(evaluated_network["alice"]) == ladder[1]
    assert grade_of(evaluated_network["bob"]) == ladder[1]
    assert GradeChange.objects.get(reason=GradeChange.Reason.EVALUATION).actor == admin_user


def test_the_waive_action_keeps_the_grade(evaluated_network, admin_en, ladder):
    page = run_results_action(admin_en, "waive_demotion", [result_of(evaluated_network["erin"])])
    assert "1 distributor keeps the grade." in page.content.decode()
    assert result_of(evaluated_network["erin"]).decision == Decision.WAIVED
    assert grade_of(evaluated_network["erin"]) == ladder[2]


def test_staff_who_may_only_view_results_get_no_decision_actions(
    evaluated_network, client, make_user
):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_evaluationresult"))
    client.force_login(viewer)
    page = client.get(results_list())
    assert page.status_code == 200
    assert "confirm_demotion" not in page.content.decode()


def test_evaluate_last_period_now_runs_once_and_opens_its_results(chain, ladder, admin_en):
    url = reverse("admin:distributors_evaluation_run")
    assert admin_en.get(url).status_code == 405

    first = admin_en.post(url)
    again = admin_en.post(url, follow=True)

    made = Evaluation.objects.get()
    assert first.url == f"{results_list()}?evaluation__id__exact={made.pk}"
    assert made.actor.username == "admin"
    assert "already evaluated" in again.content.decode()
    assert EvaluationResult.objects.count() == 3


def test_staff_without_permission_cannot_run_an_evaluation(chain, ladder, client, make_user):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_evaluation"))
    client.force_login(viewer)
    page = client.get(reverse("admin:distributors_evaluation_changelist"))
    assert reverse("admin:distributors_evaluation_run") not in page.content.decode()
    assert client.post(reverse("admin:distributors_evaluation_run")).status_code == 403
    assert not Evaluation.objects.exists()


def test_the_grade_form_has_rise_and_keep_conditions(ladder, admin_en):
    page = admin_en.get(reverse("admin:distributors_grade_change", args=[ladder[1].pk]))
    body = page.content.decode()
    assert "Conditions to rise" in body and "Conditions to keep" in body
    assert 'name="keep_personal_sales"' in body and 'name="keep_direct_recruits"' in body


def test_evaluation_settings_open_straight_from_the_list(admin_client):
    page = admin_client.get(reverse("admin:distributors_evaluationsettings_changelist"))
    assert page.url == reverse("admin:distributors_evaluationsettings_change", args=[1])


# --- Demo and the distributor's page -----------------------------------------------------


def test_the_demo_gives_the_grades_above_rank_zero_keep_conditions_once(grades):
    assert seed_keep_conditions() == 2
    assert seed_keep_conditions() == 0
    assert [g.has_keep_conditions for g in Grade.objects.order_by("rank")] == [False, True, True]


def test_the_dashboard_shows_the_current_period_against_the_keep_conditions(
    client, chain, ladder, sell_at
):
    alice, bob, _carol = chain
    joined(bob, BEFORE_FEB)  # no new recruit this period
    put_at(alice, ladder[2])
    sell_at(alice, "120.00", timezone.now())
    client.force_login(alice.user)

    page = client.get(reverse("distributors:dashboard"))

    keeping = page.context["keeping"]
    start, end = current_period(EvaluationSettings.get_solo(), timezone.localdate())
    assert (keeping.start, keeping.end) == (start, end)
    assert [(c.reached, c.required, c.missing, c.percent) for c in keeping.conditions] == [
        (Decimal("120.00"), Decimal("300.00"), Decimal("180.00"), 40),
        (0, 1, 1, 0),
    ]
    body = page.content.decode()
    assert body.count("<progress") == 2 and "¥180.00" in body


def test_the_starting_grade_has_no_keeping_section(client, chain, ladder):
    client.force_login(chain[0].user)
    assert client.get(reverse("distributors:dashboard")).context["keeping"] is None
