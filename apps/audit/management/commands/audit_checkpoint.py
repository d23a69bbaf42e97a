import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_checkpoint_export


class Command(BaseCommand):
    help = "Record a signed checkpoint of the audit chain head and print it (or write it to --output)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", metavar="FILE", help="write the checkpoint JSON to FILE")

    def handle(self, *args, output=None, **options):
        if not output:
            self.stdout.write(json.dumps(audit_checkpoint_export(), indent=2, sort_keys=True))
            return
        # open first: an unwritable path must not leave a checkpoint nobody received
        try:
            with Path(output).open("w", encoding="utf-8") as handle:
                exported = audit_checkpoint_export()
                handle.write(json.dumps(exported, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Checkpoint #{exported['seq']} written to {output}"))
