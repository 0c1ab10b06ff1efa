"""The demo history (reports.demo): two months of orders for the dashboard, seeded once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from reports import dashboard, demo
from reports.models import DailySummary

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_shop(default_plan):
    call_command("seed_demo", stdout=StringIO())


def test_the_demo_history_fills_two_months_once(demo_shop):
    today = timezone.localdate()
    history = Order.objects.filter(user__username__startswith="buyer")
    paid_days = {
        timezone.localdate(paid) for paid in history.values_list("paid_at", flat=True) if paid
    }
    made = history.count()

    # orders on nearly every day of the last sixty, in every state
    assert 200 <= made <= 400
    assert len(paid_days) >= 50
    assert min(paid_days) >= today - timedelta(days=demo.HISTORY_DAYS - 1)
    assert set(history.values_list("status", flat=True)) >= {
        "pending_payment",
        "paid",
        "shipped",
        "completed",
        "refunded",
        "cancelled",
    }
    # summarised, day by day
    days = DailySummary.objects.filter(day__gte=today - timedelta(days=demo.HISTORY_DAYS - 1))
    assert days.count() == demo.HISTORY_DAYS
    assert days.filter(paid_orders__gt=0).count() >= 50
    # and something waits on each of the dashboard's to-dos
    assert all(todo.count for todo in dashboard.todo_counts()), dashboard.todo_counts()

    # seeding again adds nothing
    assert demo.seed_history() == 0
    assert history.count() == made


def test_the_demo_dashboard_draws_every_chart(demo_shop, client, django_user_model):
    client.force_login(django_user_model.objects.get(username="admin"))

    response = client.get(reverse("admin:index"), {"period": "30d"})

    charts = response.context["dashboard"]["charts"]
    assert charts["trend"]["has_data"]
    for name in ("categories", "channels", "products", "distributors"):
        assert charts[name], name
    assert len(charts["channels"]) == 3
