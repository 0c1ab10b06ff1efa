"""Run the nightly grade review now, in this process (no worker needed)."""

from django.core.management.base import BaseCommand

from distributors import grades, selectors


class Command(BaseCommand):
    help = "Promote every distributor whose sales and recruits meet a higher grade's rules."

    def handle(self, *args, **options):
        ids = selectors.ids_below_top_grade()
        promoted = grades.evaluate_grades(ids)
        self.stdout.write(f"{len(ids)} distributors reviewed, {promoted} promoted")
