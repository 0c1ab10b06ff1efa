"""manage.py verify_ledger: recompute every balance two ways and list what disagrees.

Covers every source of money in the ledger: commissions, bonuses (recruitment
rewards and contest prizes) and withdrawals (commissions.verification).

Exit status 0 and one line when the ledger is consistent; otherwise a table of
the differences and exit status 1, for cron and monitoring. The output is
plain English on purpose: operators grep it, and alerts match its words.
"""

from dataclasses import astuple

from django.core.management.base import BaseCommand, CommandError

from commissions.verification import BATCH_SIZE, Problem, verify_ledger

HEADER = Problem("subject", "check", "found", "expected")


class Command(BaseCommand):
    help = (
        "Check that the commission ledger agrees with itself and with its source records "
        "(commissions, bonuses, withdrawals)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help="distributors (and rows) read at a time, and how often progress is shown",
        )

    def handle(self, *args, batch_size, **options):
        def show_progress(step: str, done: int, total: int) -> None:
            # Only a ledger larger than one batch takes long enough to want it.
            if total > batch_size:
                self.stderr.write(f"checked {done}/{total} {step}")

        report = verify_ledger(batch_size=batch_size, progress=show_progress)
        if report.is_consistent:
            self.stdout.write(
                f"ledger consistent: {report.distributors} distributors, {report.entries} entries"
            )
            return
        self.stdout.write(self.table([HEADER, *report.problems]))
        raise CommandError(
            f"ledger inconsistent: {len(report.problems)} difference(s) "
            f"({report.distributors} distributors, {report.entries} entries)",
            returncode=1,
        )

    @staticmethod
    def table(rows: list[Problem]) -> str:
        cells = [astuple(row) for row in rows]
        widths = [max(len(cell) for cell in column) for column in zip(*cells, strict=True)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)
