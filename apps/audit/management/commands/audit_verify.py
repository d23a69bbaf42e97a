import sys

from django.core.management.base import BaseCommand

from apps.audit.services import audit_verify, segment_verify


class Command(BaseCommand):
    help = ("Recompute the audit chain from the latest checkpoint; print OK or the first broken link "
            "(exit status 1 when broken). With --segment FILE, verify an archived segment on its own.")

    def add_arguments(self, parser):
        parser.add_argument("--segment", metavar="FILE", help="an archived audit segment (.jsonl) to verify")

    def handle(self, *args, segment=None, **options):
        result = segment_verify(segment) if segment else audit_verify()
        if result.ok:
            message = str(result)
            if segment:
                message = f"OK: segment of {result.checked} events verified, last event #{result.head_seq}"
            self.stdout.write(self.style.SUCCESS(message))
            return
        self.stdout.write(self.style.ERROR(str(result) if result.broken_seq else f"BROKEN: {result.reason}"))
        sys.exit(1)
