from django.core.management.base import BaseCommand

from apps.audit.retention import retention_plan, retention_run


class Command(BaseCommand):
    help = ("Archive, then delete, what is past its retention period and under no legal hold "
            "(--dry-run: only list it).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="only list what would be archived and deleted")

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            plan = retention_plan()
            for item in plan.go:
                self.stdout.write(
                    f"would go\t{item.kind}\t{item.object_type}\t{item.object_id}\t{item.label}")
            for item in plan.held:
                self.stdout.write(f"held\t{item.kind}\t{item.object_type}\t{item.object_id}\t{item.label}")
            self.stdout.write(f"{len(plan.go)} would go, {len(plan.held)} kept by a legal hold")
            return
        result = retention_run()
        for entry in result.kept:
            self.stdout.write(f"kept\t{entry['kind']}\t{entry['object']}\t{entry['reason']}")
        self.stdout.write(self.style.SUCCESS(result.summary()))
