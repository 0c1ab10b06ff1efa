from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import summaries


class Command(BaseCommand):
    help = "Rebuild the daily summary rows (dashboard and reports) for a range of days."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from", dest="start", help="First day (YYYY-MM-DD); default: the first order's day."
        )
        parser.add_argument("--to", dest="end", help="Last day (YYYY-MM-DD); default: today.")

    def handle(self, *args, start=None, end=None, **options):
        try:
            first = date.fromisoformat(start) if start else summaries.first_day()
            last = date.fromisoformat(end) if end else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"not a date: {exc}") from exc
        if first is None:
            self.stdout.write("No orders yet: nothing to summarise.")
            return
        if first > last:
            raise CommandError("--from is after --to")

        def progress(number, days, day):
            if number == days or number % 10 == 0 or days <= 31:
                self.stdout.write(f"[{number}/{days}] {day.isoformat()}")

        days = summaries.rebuild_range(first, last, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"{days} days rebuilt ({first} to {last})."))
