"""Days in the shop's time zone (TIME_ZONE, Asia/Shanghai), as the moments they span.

Reports, leaderboards, daily caps and evaluations all count "a day" the same way:
from local midnight to the next, an end day included.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone


def midnight(day: date) -> datetime:
    """The first moment of `day` in the shop's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first moment of `day` and of the next day."""
    return midnight(day), midnight(day + timedelta(days=1))


def span_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The days `start` to `end` (both included) as [since, until)."""
    return midnight(start), midnight(end + timedelta(days=1))


@dataclass(frozen=True)
class DayRange:
    """The days `start` to `end`, both included, in the shop's time zone."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int, *, today: date | None = None):
        """The `days` days ending today."""
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def since(self) -> datetime:
        return midnight(self.start)

    @property
    def until(self) -> datetime:
        """The first moment after the range."""
        return midnight(self.end + timedelta(days=1))
