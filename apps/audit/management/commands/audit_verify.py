import sys

from django.core.management.base import BaseCommand

from apps.audit.services import audit_verify


class Command(BaseCommand):
    help = "Recompute the audit chain; print OK or the first broken link (exit status 1 when broken)."

    def handle(self, *args, **options):
        result = audit_verify()
        if result.ok:
            self.stdout.write(self.style.SUCCESS(str(result)))
            return
        self.stdout.write(self.style.ERROR(str(result)))
        sys.exit(1)
