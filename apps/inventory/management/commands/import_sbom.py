"""Import a CycloneDX JSON SBOM for one component, in one transaction, as an administrator."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.inventory import sbom
from apps.inventory.models import Component


class Command(BaseCommand):
    help = "Import a CycloneDX JSON SBOM (1.2–1.5) for a component: all packages and edges, or nothing."

    def add_arguments(self, parser):
        parser.add_argument("component", type=int, help="Component id.")
        parser.add_argument("file", help="The SBOM file.")
        parser.add_argument("--as", dest="username", required=True, help="An administrator's username.")

    def handle(self, *args, component, file, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user “{username}”.")
        target = Component.objects.filter(pk=component).first()
        if target is None:
            raise CommandError(f"No component with id {component}.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"Not a file: {file}")
        with path.open("rb") as fh:
            raw = fh.read(sbom.max_bytes() + 1)
        try:
            result = sbom.sbom_import(component=target, filename=path.name, raw=raw, by=user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Imported {result.package_count} packages and {result.edge_count} edges.")
