"""CycloneDX SBOM import: the three real SBOMs of tests/data/sbom (juice-shop: 1,115 components, 1.9 MB).

Each import checks the whole document, then writes the Sbom, its packages and edges with bulk inserts in one
transaction, through the service a page or the worker uses.
"""

from pathlib import Path

from benchmarks import django_db, measure

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "sbom"
FILES = ["dropwizard-1.3.15.cdx.json", "laravel-7.12.0.cdx.json", "juice-shop-11.1.2-npm.cdx-1.4.json"]
RUNS = 5


def run() -> list[dict]:
    connection = django_db()
    from django.db import transaction

    from apps.accounts.models import Team, User
    from apps.inventory import sbom
    from apps.inventory.models import Component, Environment, Sbom, System

    with transaction.atomic():
        admin = User.objects.create(username="bench-sbom-admin")
        from django.contrib.auth.models import Group

        admin.groups.add(Group.objects.get_or_create(name="admin")[0])
        team = Team.objects.create(name="Bench SBOM team", slug="bench-sbom-team")
        env = Environment.objects.get_or_create(slug="bench-sbom-env", defaults={
            "name": "Bench SBOM env", "kind": "production"})[0]
        system = System.objects.create(name="Bench SBOM system", slug="bench-sbom-system", owner_team=team,
                                       region="eu-central")
        component = Component.objects.create(system=system, environment=env, name="app", product="app",
                                             version="1")
    rows = []
    for name in FILES:
        raw = (DATA / name).read_bytes()
        median, queries = measure(
            lambda r=raw, n=name: sbom.sbom_import(component=component, filename=n, raw=r, by=admin), RUNS)
        parse_median, _ = measure(lambda r=raw: sbom.sbom_parse(r), RUNS)
        last = Sbom.objects.filter(component=component).order_by("-pk").first()
        rows.append({
            "name": f"sbom import, {name} ({round(len(raw) / 1024)} KB)",
            "n": f"{last.package_count} packages / {last.edge_count} edges",
            "runs": RUNS,
            "median ms": round(median, 1),
            "parse only ms": round(parse_median, 1),
            "queries": queries,
            "database": connection.vendor,
        })
    return rows
