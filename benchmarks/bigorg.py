"""The large organisation the page, load and audit benchmarks run against, seeded once into PostgreSQL.

`ensure(scale)` returns the DATABASE_URL of a database (BENCH_DATABASE_URL, default tollgate_bench) that
holds, at scale 1.0: ~100 teams, 5,000 systems in four regions, 20,000 components, 100,000 upgrade requests
over 3 years (old ones ended with their milestones, recent ones open), 1-3 items each, windows, 10,000 duty
grants and 1,000,000 audit events that form a valid chain (hashed exactly as `audit_append` does, with the
chain head set). Seeding runs in a child process (`python -m benchmarks.bigorg --seed SCALE`) so the caller's
own Django setup is untouched; bulk rows go in with COPY. A marker table records the scale: a database seeded
at another scale is dropped and seeded again.

Users (password "tollgate-demo"): bench-admin (superuser), bench-manager (change manager of a team owning
~1 % of the systems, holding many duty grants), bench-cab, bench-exec, bench-auditor, bench-impl,
bench-validator.
"""

import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_URL = "postgres://tollgate:tollgate@127.0.0.1:5432/tollgate_bench"
MARKER = "bench_bigorg_marker"
PASSWORD = "tollgate-demo"
FULL = {"teams": 100, "systems": 5000, "components": 20000, "requests": 100_000, "grants": 10_000,
        "events": 1_000_000, "people": 400}
REGIONS = [("eu-central", "Europe/Berlin"), ("eu-west", "Europe/Dublin"), ("us-east", "America/New_York"),
           ("ap-southeast", "Asia/Singapore")]
PRODUCTS = [("postgresql", ["12.18", "13.14", "14.11", "15.6", "16.2"]), ("nginx", ["1.22.1", "1.24.0"]),
            ("redis", ["6.2.14", "7.0.15", "7.2.4"]), ("openjdk", ["11.0.22", "17.0.10", "21.0.2"]),
            ("python", ["3.9.18", "3.10.13", "3.11.8"]), ("kafka", ["3.5.2", "3.6.1"]),
            ("ubuntu", ["20.04", "22.04"]), ("kubernetes", ["1.27.11", "1.28.7", "1.29.2"])]
TARGETS = {"postgresql": "16.4", "nginx": "1.26.2", "redis": "7.4.1", "openjdk": "21.0.5", "python": "3.12.7",
           "kafka": "3.8.1", "ubuntu": "24.04", "kubernetes": "1.31.2"}
BENCH_USERS = [  # username, group (role), superuser
    ("bench-admin", "admin", True), ("bench-manager", "change_manager", False), ("bench-cab", "cab_member", False),
    ("bench-exec", "executive", False), ("bench-auditor", "auditor", False), ("bench-impl", "implementer", False),
    ("bench-validator", "validator", False),
]
ENDED = (["completed", "rolled_back", "failed", "rejected", "cancelled"], [84, 5, 3, 3, 5])
OPEN = (["draft", "assessing", "planning", "cab_review", "approved", "scheduled", "in_progress", "validating"],
        [14, 14, 14, 14, 10, 24, 5, 5])
RISKS = (["standard", "normal", "emergency"], [30, 62, 8])
PATH = ["draft", "assessing", "planning", "cab_review", "approved", "scheduled", "in_progress", "validating"]
EXTRA_ACTIONS = ["upgrade.comment", "upgrade.updated", "upgrade.attachment", "assessment.updated",
                 "plan.updated", "upgrade.duty_assigned", "calendar.refreshed"]
HOUR = dt.timedelta(hours=1)


def _log(text: str) -> None:
    print(f"  bigorg: {text}", file=sys.stderr, flush=True)


def counts(scale: float) -> dict:
    return {k: max(int(v * scale), 10 if k != "teams" else 5) for k, v in FULL.items()}


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def _connect(url: str, dbname: str | None = None):
    import psycopg

    u = urlparse(url)
    return psycopg.connect(host=u.hostname or "127.0.0.1", port=u.port or 5432, user=u.username,
                           password=u.password, dbname=dbname or u.path.lstrip("/"), autocommit=True)


def marker(url: str | None = None) -> dict | None:
    """The marker of a complete seeding ({scale, seconds, ...}), or None when the database lacks one."""
    import psycopg

    try:
        with _connect(url or database_url()) as conn:
            row = conn.execute(f"SELECT to_regclass('{MARKER}')").fetchone()
            if row[0] is None:
                return None
            row = conn.execute(f"SELECT info FROM {MARKER} ORDER BY id DESC LIMIT 1").fetchone()
            return row[0] if row else None
    except psycopg.OperationalError:
        return None


def ensure(scale: float = 1.0) -> str:
    """A database holding the large organisation at `scale`; its DATABASE_URL. Seeds only when needed."""
    url = database_url()
    found = marker(url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.setdefault("TOLLGATE_VAR_DIR", str(Path(tempfile.gettempdir()) / "tollgate-bigorg-var"))
    root = Path(__file__).resolve().parent.parent
    if found is not None and float(found.get("scale", -1)) == float(scale):
        # kept from an earlier run: bring its schema up to this code's migrations, as a deployment would
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, check=True,
                       cwd=root)
        return url
    name = urlparse(url).path.lstrip("/")
    _log(f"{name}: {'re-seeding (scale ' + str(found.get('scale')) + ')' if found else 'seeding'} at scale {scale}")
    with _connect(url, dbname="postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "-m", "benchmarks.bigorg", "--seed", str(scale)], env=env, check=True,
                   cwd=root)
    return url


# --- seeding (child process) ------------------------------------------------------------------------------


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    n = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _table(model) -> str:
    return model._meta.db_table


def _reset_sequence(cursor, model) -> None:
    table = _table(model)
    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def seed(scale: float) -> dict:
    """Seed the migrated, empty database Django is set up on; return what was made."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, Permission
    from django.db import connection, transaction

    from apps.accounts.models import Team, User
    from apps.audit.models import AuditEvent, ChainHead
    from apps.audit.services import GENESIS, canonical, link_hash
    from apps.core import clock
    from apps.inventory.models import Component, Environment, System
    from apps.upgrades.models import ReferenceCounter, UpgradeItem, UpgradeRequest
    from apps.upgrades.models import UpgradeRequestUserObjectPermission as Grant

    n = counts(scale)
    rng = random.Random(10)
    now = clock.now().astimezone(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=3 * 365)
    span = (now - start).total_seconds()
    t0 = time.perf_counter()
    password = make_password(PASSWORD)

    with transaction.atomic(), connection.cursor() as django_cursor:
        cur = django_cursor.cursor  # psycopg's own cursor: COPY
        # teams, people --------------------------------------------------------------------------------
        teams = Team.objects.bulk_create(Team(name=f"Bench team {i:03d}", slug=f"bench-team-{i:03d}",
                                              email=f"team{i}@example.test") for i in range(n["teams"]))
        groups = {g.name: g for g in Group.objects.all()}
        people = User.objects.bulk_create(
            User(username=f"bench-user-{i:04d}", email=f"user{i}@example.test", password=password,
                 first_name="Bench", last_name=f"User {i}", date_joined=start) for i in range(n["people"]))
        for i, person in enumerate(people):
            person.teams.add(teams[i % len(teams)])
        for i, person in enumerate(people):
            if i % 3 == 0:
                person.groups.add(groups["change_manager"])
            elif i % 3 == 1:
                person.groups.add(groups["implementer"])
        bench = {}
        for username, role, superuser in BENCH_USERS:
            user = User.objects.create(username=username, email=f"{username}@example.test", password=password,
                                       is_superuser=superuser, is_staff=superuser, date_joined=start)
            user.groups.add(groups[role])
            bench[username] = user
        bench["bench-manager"].teams.add(teams[0])
        bench["bench-impl"].teams.add(teams[1])
        _log(f"{len(teams)} teams, {len(people) + len(bench)} people")

        # inventory ------------------------------------------------------------------------------------
        envs = [Environment.objects.create(name=f"Bench {k}", slug=f"bench-{k}", kind=k, order=o)
                for o, k in enumerate(["production", "staging", "development"])]
        systems = System.objects.bulk_create(
            (System(name=f"Bench system {i:05d}", slug=f"bench-system-{i:05d}", owner_team=teams[i % len(teams)],
                    criticality=rng.choices(["low", "medium", "high", "critical"], [20, 45, 25, 10])[0],
                    region=REGIONS[i % len(REGIONS)][0], timezone=REGIONS[i % len(REGIONS)][1],
                    description=f"System {i} of the benchmark organisation")
             for i in range(n["systems"])), batch_size=5000)
        per_system = max(1, n["components"] // len(systems))
        components = Component.objects.bulk_create(
            (Component(system=s, environment=envs[j % 3], name=f"{product} {j}", product=product,
                       version=rng.choice(versions))
             for s in systems for j, (product, versions) in enumerate(rng.sample(PRODUCTS, per_system))),
            batch_size=5000)
        _log(f"{len(systems)} systems, {len(components)} components ({time.perf_counter() - t0:.0f} s)")

        # requests -------------------------------------------------------------------------------------
        users = list(people) + [bench["bench-manager"], bench["bench-impl"]]
        request_cols = ["id", "reference", "title", "justification", "risk_class", "state", "requester_id",
                        "window_start", "window_end", "external_ref", "external_url", "state_reason",
                        "created_at", "updated_at", "state_changed_at", "submitted_at", "decided_at",
                        "started_at", "finished_at", "outcome"]
        created_list = sorted(start + dt.timedelta(seconds=rng.randrange(int(span) - 3600))
                              for _ in range(n["requests"]))
        per_year: dict[int, int] = {}
        requests = []  # (id, created, state, finished, requester) for the items, grants and events
        rows = []
        for pk, created in enumerate(created_list, start=1):
            year = created.year
            per_year[year] = per_year.get(year, 0) + 1
            age_days = (now - created).days
            ended_p = 0.97 if age_days > 90 else (0.6 if age_days > 21 else 0.15)
            submitted = decided = started = finished = window_start = window_end = None
            outcome = ""
            if rng.random() < ended_p:
                state = rng.choices(*ENDED)[0]
                submitted = created + rng.randrange(1, 72) * HOUR
                decided = submitted + rng.randrange(1, 96) * HOUR
                if state in ("completed", "rolled_back", "failed"):
                    finished = decided + rng.randrange(24, 24 * 30) * HOUR
                    started = finished - rng.randrange(1, 6) * HOUR
                    outcome = state
                    window_start, window_end = started - HOUR, finished + rng.choice([0, 1, 2]) * HOUR
                if state == "cancelled":
                    decided = None
                if finished and finished >= now:
                    state, outcome, finished = "in_progress", "", None
                    started, window_start, window_end = now - 2 * HOUR, now - 3 * HOUR, now + 4 * HOUR
            else:
                state = rng.choices(*OPEN)[0]
                if PATH.index(state) >= PATH.index("cab_review"):
                    submitted = created + rng.randrange(1, 72) * HOUR
                if PATH.index(state) >= PATH.index("approved"):
                    decided = submitted + rng.randrange(1, 48) * HOUR
                if state in ("approved", "scheduled", "in_progress", "validating"):
                    base = now if state in ("approved", "scheduled") else now - 3 * HOUR
                    window_start = base + dt.timedelta(hours=rng.randrange(1, 24 * 45)) if state != "in_progress" \
                        else base
                    window_end = window_start + rng.randrange(1, 8) * HOUR
                    if state in ("in_progress", "validating"):
                        started = window_start
            last = finished or decided or submitted or created
            requester = rng.choice(users)
            rows.append((pk, f"UPG-{year}-{per_year[year]:05d}", f"Upgrade batch {pk}: {rng.choice(PRODUCTS)[0]}",
                         "Routine lifecycle upgrade generated for the benchmark.", rng.choices(*RISKS)[0], state,
                         requester.pk, window_start, window_end, "", "", "", created, last, last, submitted,
                         decided, started, finished, outcome))
            requests.append((pk, created, state, finished, requester))
        _copy(cur, _table(UpgradeRequest), request_cols, rows)
        del rows
        _reset_sequence(cur, UpgradeRequest)
        ReferenceCounter.objects.bulk_create(ReferenceCounter(year=y, last=c) for y, c in per_year.items())
        _log(f"{len(requests)} requests ({time.perf_counter() - t0:.0f} s)")

        def items():
            for pk, *_ in requests:
                for c in rng.sample(components, rng.choices([1, 2, 3], [60, 30, 10])[0]):
                    yield (pk, c.system_id, c.pk, c.product, c.version, TARGETS[c.product])

        n_items = _copy(cur, _table(UpgradeItem), ["request_id", "system_id", "component_id", "product",
                                                   "current_version", "target_version"], items())
        _log(f"{n_items} items ({time.perf_counter() - t0:.0f} s)")

        # duty grants (guardian rows) -----------------------------------------------------------------
        perms = {p.codename: p.pk for p in Permission.objects.filter(content_type__app_label="upgrades",
                                                                     codename__startswith="duty_")}
        shares = [(bench["bench-manager"], ["duty_requester", "duty_assessor", "duty_approver"], 0.3),
                  (bench["bench-impl"], ["duty_implementer"], 0.1), (bench["bench-validator"], ["duty_validator"], 0.1)]
        grants: set = set()
        for user, codenames, share in shares:
            target = len(grants) + int(n["grants"] * share)
            while len(grants) < target:
                grants.add((user.pk, perms[rng.choice(codenames)], rng.randrange(1, len(requests) + 1)))
        while len(grants) < n["grants"]:
            grants.add((rng.choice(people).pk, perms[rng.choice(sorted(perms))], rng.randrange(1, len(requests) + 1)))
        _copy(cur, _table(Grant), ["user_id", "permission_id", "content_object_id"], sorted(grants))
        _log(f"{len(grants)} duty grants ({time.perf_counter() - t0:.0f} s)")

        # audit events: a valid chain ------------------------------------------------------------------
        actors = [(u.pk, u.username) for u in users] + [(bench["bench-admin"].pk, "bench-admin")]
        plan = []  # (created_at, request index, action)
        for idx, (pk, created, state, finished, _requester) in enumerate(requests):
            plan.append((created, idx, "upgrade.created"))
            steps = PATH[1:PATH.index(state) + 1] if state in PATH else PATH[1:] + [state]
            end = finished or now
            for k, to in enumerate(steps):
                at = created + (end - created) * (k + 1) / (len(steps) + 1)
                plan.append((at, idx, f"upgrade.transition.{to}"))
        while len(plan) < n["events"]:
            idx = rng.randrange(len(requests))
            created, finished = requests[idx][1], requests[idx][3] or now
            plan.append((created + (finished - created) * rng.random(), idx, rng.choice(EXTRA_ACTIONS)))
        plan = plan[:n["events"]]
        plan.sort(key=lambda p: p[0])
        _log(f"{len(plan)} audit events planned ({time.perf_counter() - t0:.0f} s)")
        head = {"seq": 0, "hash": GENESIS}
        event_cols = ["seq", "created_at", "actor_id", "actor_username", "action", "object_type", "object_id",
                      "object_repr", "ip", "before", "after", "data", "prev_hash", "hash"]
        references = {}

        def events():
            prev = GENESIS
            for seq, (at, idx, action) in enumerate(plan, start=1):
                pk = requests[idx][0]
                actor_id, username = actors[(idx * 7 + seq) % len(actors)]
                before = after = None
                data = {"via": "web"}
                if action.startswith("upgrade.transition."):
                    to = action.rsplit(".", 1)[1]
                    action = "upgrade.transition"
                    after = {"state": to}
                    data = {"transition": to}
                elif action == "upgrade.updated":
                    before, after = {"title": f"Upgrade batch {pk}"}, {"title": f"Upgrade batch {pk} (revised)"}
                repr_ = references.get(pk) or f"request {pk}"
                at = at.replace(microsecond=(seq * 7919) % 1_000_000)
                text = canonical(seq=seq, created_at=at, actor_id=actor_id, actor_username=username, action=action,
                                 object_type="upgrades.upgraderequest", object_id=str(pk), object_repr=repr_,
                                 ip="10.20.30.40", before=before, after=after, data=data)
                digest = link_hash(prev, text)
                yield (seq, at, actor_id, username, action, "upgrades.upgraderequest", str(pk), repr_,
                       "10.20.30.40", None if before is None else json.dumps(before),
                       None if after is None else json.dumps(after), json.dumps(data), prev, digest)
                prev = digest
                head["seq"], head["hash"] = seq, digest
                if seq % 200_000 == 0:
                    _log(f"  {seq} events ({time.perf_counter() - t0:.0f} s)")

        references.update(UpgradeRequest.objects.values_list("pk", "reference"))
        references = {pk: f"{ref} Upgrade batch {pk}" for pk, ref in references.items()}
        # the chain's link order is created_at order, so a plan sorted by time gives increasing timestamps
        _copy(cur, _table(AuditEvent), event_cols, events())
        ChainHead.objects.update_or_create(pk=1, defaults={"seq": head["seq"], "hash": head["hash"],
                                                            "shown_seq": head["seq"]})
        _reset_sequence(cur, AuditEvent)
        _log(f"{head['seq']} audit events ({time.perf_counter() - t0:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    info = {"scale": scale, "seconds": round(seconds, 1), "db_bytes": size, "requests": len(requests),
            "items": n_items, "systems": len(systems), "components": len(components), "grants": len(grants),
            "events": head["seq"], "seeded_at": now.isoformat()}
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (id serial PRIMARY KEY, info jsonb NOT NULL)")
        cursor.execute(f"INSERT INTO {MARKER} (info) VALUES (%s::jsonb)", [json.dumps(info)])
    _log(f"done in {seconds:.0f} s, database {size / 2**20:.0f} MB")
    return info


def _seed_main(scale: float) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    _log(f"migrated in {time.perf_counter() - t0:.0f} s")
    info = seed(scale)
    with _connect(database_url()) as conn:  # the migrations count into the seeding time
        info["seconds"] = round(time.perf_counter() - t0, 1)
        conn.execute(f"UPDATE {MARKER} SET info = %s::jsonb WHERE id = (SELECT max(id) FROM {MARKER})",
                     [json.dumps(info)])


def run() -> list[dict]:
    """Rows: seeding wall time (when this run seeded) and database size, also per 100k requests."""
    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    ensure(scale)
    info = marker()
    mb = info["db_bytes"] / 2**20
    n = (f"{info['requests']} requests / {info['items']} items / {info['systems']} systems / "
         f"{info['components']} components / {info['grants']} grants / {info['events']} audit events")
    return [
        {"name": "bigorg: seed (migrate + COPY + VACUUM ANALYZE)", "n": n, "seconds": info["seconds"],
         "DB MB": round(mb)},
        {"name": "bigorg: DB size per 100k requests", "n": f"scale {scale}",
         "DB MB": round(mb / info["requests"] * 100_000)},
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seed"]:
        os.environ.setdefault("BENCH_DATABASE_URL", os.environ["DATABASE_URL"])
        _seed_main(float(sys.argv[2]))
    else:
        from benchmarks.run import table

        print(table(run()))
