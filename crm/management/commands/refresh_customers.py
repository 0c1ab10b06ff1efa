"""Refresh every customer's figures and segment now, in this process (no worker needed)."""

from django.core.management.base import BaseCommand

from crm import segments


class Command(BaseCommand):
    help = "Recompute each customer's order figures and segment (the nightly refresh, now)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=segments.BATCH_SIZE,
            help=f"Customers per batch (default {segments.BATCH_SIZE}).",
        )

    def handle(self, *args, **options):
        def report(batch: segments.BatchDone) -> None:
            self.stdout.write(
                f"[{batch.number}/{batch.batches}] users {batch.first_pk}-{batch.last_pk}: "
                f"{batch.customers} customers, {batch.created} new, {batch.changed} changed"
            )
            self.stdout.flush()

        written = segments.refresh_profiles(batch_size=options["batch_size"], progress=report)
        self.stdout.write(self.style.SUCCESS(f"{written} profiles created or changed"))
