"""Grades (分销等级): rules, promotion (never demotion), and when it runs."""

import pytest

from distributors.models import Distributor, Grade

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
