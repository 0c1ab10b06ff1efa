"""Check both MPTT trees (the distributor network and the categories) against
their parent links; with --fix, renumber the broken trees under their locks.

Exits 1 when a problem was found and not fixed, so it can run from cron or CI.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import Category
from core.locks import lock_tree
from distributors import tree
from distributors.models import Distributor


class Command(BaseCommand):
    help = "Check the distributor and category trees; --fix repairs what is broken."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="renumber broken trees")

    def handle(self, *args, fix=False, **options):
        broken = 0
        for model, label in ((Distributor, "distributor"), (Category, "category")):
            tree_ids = list(model.objects.values_list("tree_id", flat=True).distinct().order_by())
            for number, tree_id in enumerate(sorted(tree_ids), start=1):
                problems, unplaced = tree.check_tree(tree_id, model)
                if number % 100 == 0 or number == len(tree_ids):
                    self.stderr.write(f"{label} trees checked: {number}/{len(tree_ids)}")
                if unplaced:
                    self.stdout.write(
                        f"{label} tree {tree_id}: {unplaced} member(s) awaiting placement"
                    )
                if not problems:
                    continue
                for problem in problems[:20]:
                    self.stdout.write(
                        f"{label} tree {tree_id}: {label} {problem.node_id} has (lft, rght, level) "
                        f"{problem.found}, expected {problem.expected}"
                    )
                if len(problems) > 20:
                    self.stdout.write(f"... and {len(problems) - 20} more in tree {tree_id}")
                if fix:
                    self._fix(model, tree_id)
                    self.stdout.write(self.style.SUCCESS(f"{label} tree {tree_id}: renumbered"))
                else:
                    broken += 1
        if broken:
            self.stdout.write(self.style.ERROR(f"{broken} broken tree(s); run with --fix"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("trees valid"))

    def _fix(self, model, tree_id):
        if model is Distributor:
            tree.place_nodes(tree_id)
            return
        with transaction.atomic():
            lock_tree("categories")
            Category.objects.partial_rebuild(tree_id)
