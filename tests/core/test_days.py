"""A day is the shop's day (Asia/Shanghai): from local midnight to the next, end day included."""

from datetime import UTC, date, datetime

from core.days import DayRange, day_bounds, span_bounds
from core.models import localized


def test_a_day_runs_from_shanghai_midnight_to_the_next():
    since, until = day_bounds(date(2026, 12, 1))

    assert since.astimezone(UTC) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert (until - since).total_seconds() == 24 * 3600


def test_a_range_includes_its_last_day():
    assert span_bounds(date(2026, 11, 1), date(2026, 11, 30)) == (
        day_bounds(date(2026, 11, 1))[0],
        day_bounds(date(2026, 11, 30))[1],
    )
    week = DayRange.last_days(7, today=date(2026, 12, 1))
    assert (week.start, week.end) == (date(2026, 11, 25), date(2026, 12, 1))
    assert (week.since, week.until) == span_bounds(week.start, week.end)


def test_bilingual_text_reads_english_only_for_english_readers_with_an_english_version():
    from django.utils import translation

    with translation.override("en"):
        assert localized("白酒", "Baijiu") == "Baijiu"
        assert localized("白酒", "") == "白酒"
    with translation.override("zh-hans"):
        assert localized("白酒", "Baijiu") == "白酒"
    assert localized(None, None) == ""
