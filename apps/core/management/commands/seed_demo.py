"""`manage.py seed_demo`: people, inventory and a year of upgrade history for trying Tollgate out."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.audit.models import AuditEvent
from apps.audit.services import audit_verify

FLAG = "--i-know-this-is-not-production"


class Command(BaseCommand):
    help = ("Create the demo bank: ten users with the password “tollgate-demo”, three environments, systems, "
            "and upgrade requests with twelve months of history. Running it again changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument(FLAG, action="store_true", dest="not_production",
                            help="Seed even though TOLLGATE_SEED_ALLOWED is off (DEBUG off).")

    def handle(self, *args, **options):
        from apps.core.seed import already_seeded, demo_users_present, seed
        from apps.core.seed.data import PASSWORD, URL, USERS

        if not getattr(settings, "TOLLGATE_SEED_ALLOWED", False) and not options["not_production"]:
            raise CommandError(
                "Refusing to seed demo data: TOLLGATE_SEED_ALLOWED is off (DEBUG is off, so this may be "
                f"production). The seed creates ten users who all share the published password “{PASSWORD}”. "
                f"If this database is not production, run it again with {FLAG}."
            )
        if already_seeded():
            self.stdout.write("The demo data is already there; nothing was changed.")
        else:
            present = demo_users_present()
            if present:
                raise CommandError(
                    f"Some demo users already exist ({', '.join(present)}) but the demo data is not "
                    "complete. Seed an empty database instead (for the embedded demo: delete the SQLite file "
                    "and migrate)."
                )
            existing = AuditEvent.objects.count()
            if existing:
                self.stderr.write(f"Note: the audit trail already holds {existing} events; the replayed "
                                  "history is appended after them.")
            started = time.monotonic()
            summary = seed()
            result = audit_verify()
            if not result.ok:
                raise CommandError(f"The audit chain does not verify after seeding: {result}")
            self.stdout.write(self.style.SUCCESS(
                f"Seeded {summary['users']} users, {summary['systems']} systems, {summary['components']} "
                f"components and {summary['requests']} upgrade requests with history since "
                f"{summary['first']:%Y-%m-%d} in {time.monotonic() - started:.1f} s. Audit chain: {result}."
            ))
        self._logins(USERS, PASSWORD, URL)

    def _logins(self, users, password, url):
        from apps.accounts.models import User

        usernames = [u[0] for u in users]
        present = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
        rows = [("username", "name", "roles", "password")]
        rows += [(u[0], f"{u[1]} {u[2]}", ", ".join(u[3]), password) for u in users if u[0] in present]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        self.stdout.write(f"\nSign in at {url} with:\n")
        for index, row in enumerate(rows):
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(("  " + line).rstrip())
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
