"""Import endoflife.date lifecycle files (product .md, API v1 .json, release data .json) as an administrator."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.inventory import lifecycle


class Command(BaseCommand):
    help = "Import vendor lifecycle files into ProductRelease (all files or none). --shipped loads the demo's."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="Files to import.")
        parser.add_argument("--as", dest="username", required=True, help="An administrator's username.")
        parser.add_argument("--product", default="", help="The product the files describe (optional).")
        parser.add_argument("--shipped", action="store_true", help="Import the lifecycle data shipped with Tollgate.")

    def handle(self, *args, files, username, product, shipped, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user “{username}”.")
        paths = [Path(f) for f in files] + (lifecycle.shipped_files() if shipped else [])
        if not paths:
            raise CommandError("Name at least one file, or use --shipped.")
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(f"Not a file: {', '.join(missing)}")
        try:
            summary = lifecycle.lifecycle_import(files=[(p.name, p.read_bytes()) for p in paths], by=user,
                                                 product=product)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages) + " Nothing was imported.") from exc
        for name, counts in sorted(summary.items()):
            self.stdout.write(f"{name}: {counts['created']} created, {counts['updated']} updated, "
                              f"{counts['versions']} versions applied")
