"""`manage.py estate serve | status | set <service> <ok|slow|failing>` — the demo's fake estate."""

import asyncio

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.execution import estate


class Command(BaseCommand):
    help = "Serve the demo estate (fake endpoints on 127.0.0.1), show it, or make a service ok, slow or failing."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        serve = sub.add_parser("serve", help="Run the fake services until stopped (Ctrl-C).")
        serve.add_argument("--http-port", type=int, default=estate.HTTP_PORT)
        serve.add_argument("--tcp-port", type=int, default=estate.TCP_PORT)
        sub.add_parser("status", help="Show every service and how it behaves.")
        change = sub.add_parser("set", help="Make a service ok, slow or failing.")
        change.add_argument("service")
        change.add_argument("mode", choices=list(estate.MODES))

    def handle(self, *args, action, **options):
        if action == "serve":
            self.stdout.write(f"Demo estate on http://{estate.HOST}:{options['http_port']}/<system>/healthz and "
                              f"TCP {estate.HOST}:{options['tcp_port']}; state in {estate.state_path()}")
            server = estate.Estate(http_port=options["http_port"], tcp_port=options["tcp_port"])
            try:
                asyncio.run(server.serve_forever())
            except KeyboardInterrupt:
                self.stdout.write("Demo estate stopped.")
            except OSError as exc:
                raise CommandError(f"Cannot listen: {exc}") from exc
        elif action == "status":
            for s in estate.services_status():
                self.stdout.write(f"{s['name']:<16} {s['mode']:<8} {s['target']}")
        else:
            try:
                estate.estate_set(name=options["service"], mode=options["mode"], by=None)
            except ValidationError as exc:
                raise CommandError("; ".join(m for ms in exc.message_dict.values() for m in ms)) from exc
            self.stdout.write(self.style.SUCCESS(f"{options['service']} is now {options['mode']}."))
