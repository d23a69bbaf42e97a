"""What the KPIs make of each upgrade, kept in a table (PostgreSQL) so that a report adds it up in SQL.

`kpis.Data` reads every row a period counts — the upgrades, their incidents, hotfixes, wave windows, owner
teams and every step event of their runs (~340,000 events for a year of a large organisation) — and classifies
them in Python each time a figure is asked for. An upgrade that has ended changes rarely after: an incident
linked within the window, a hotfix, a correction. So its classification (success category, change failure,
retried step, on time, planned and unplanned downtime, score, incident severities, hotfixes, owner teams) and
the columns of its own the KPIs read (end, outcome, risk class, lead time) are stored in
`reporting_upgradefacts`, one row per request, and counted again only when something they depend on changes:

- **Invalidation in the database.** Statement triggers on every table a fact reads (`TOUCHES`) mark the
  row of each request a write touches stale and bump its `version`, whatever wrote the row (a service, the
  admin, a bulk load, SQL by hand): nothing can forget to. A new request gets its (stale) row on insert, so
  a request that ends is always found stale or counted.
- **Recount on read.** `refresh()` counts, in one SQL statement, every stale row (and every row counted with
  another incident window) — an index lookup when nothing changed — and stores a count only where the
  `version` is still the one it read: a write committed while it counted (its snapshot did not see it)
  leaves the row stale, for the next refresh, instead of storing what was counted without it.
- **Checked where they are used.** `FactData` counts a period only if no upgrade ended in it has a stale
  row (`FactsIncomplete` otherwise: the report is then counted by `kpis.Data`). The same figures either
  way — tests/reporting/test_facts.py compares both on random organisations, figure by figure and the CSV
  byte by byte.

Only PostgreSQL keeps the table (the triggers, the SQL); elsewhere (the embedded SQLite demo), with
TOLLGATE_KPI_FACTS off or a trigger missing, reports are counted by `kpis.Data` as before.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import connection

from apps.upgrades.choices import RiskClass
from apps.upgrades.models import UpgradeRequest

from .kpis import (
    CSV_TIMES,
    INCIDENT_WEIGHTS,
    INLINE_IDS,
    OUTCOME_LABELS,
    OUTCOMES,
    SEVERITIES,
    WEIGHTS,
    AuditEventQuery,
    Period,
    UtcMinutes,
    _in,
    _ratio,
    _round,
    incident_window_days,
    scoped,
)
from .services import FORMULA_STARTS

log = logging.getLogger(__name__)

TABLE = "reporting_upgradefacts"


class FactsIncomplete(Exception):
    """An ended upgrade of the period has no fresh facts (written while the report was read)."""


def usable() -> bool:
    """Facts are used on PostgreSQL with TOLLGATE_KPI_FACTS on, and only where every trigger that keeps them
    right is in place (a database whose tables were made without the migrations has none: its facts could
    not be trusted)."""
    if connection.vendor != "postgresql" or not getattr(settings, "TOLLGATE_KPI_FACTS", True):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'",
                       [[_trigger_name(table, event) for table, event, _ in TOUCHES]])
        present = cursor.fetchone()[0]
    if present != len(TOUCHES):
        log.warning("KPI facts not used: %s of their %s triggers are in place", present, len(TOUCHES))
        return False
    return True


# --- invalidation: the triggers --------------------------------------------------------------------------

TOUCH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reporting_facts_touch(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO {TABLE} AS f (request_id, version, stale)
    SELECT DISTINCT x, 1, true FROM unnest(ids) AS x WHERE x IS NOT NULL ORDER BY x
    ON CONFLICT (request_id) DO UPDATE SET version = f.version + 1, stale = true
$$"""

_RUN = "JOIN execution_executionrun r ON r.id = {t}.run_id"
_PLAN = "JOIN rollouts_plan p ON p.id = {t}.plan_id"

# (table, event, the ids of the requests whose facts the written rows change; `n`: the new rows, `o`: the old)
TOUCHES = [
    # a request's own end, outcome and windows; a hotfix (an emergency request `fix_of` another) counts for
    # the upgrade it fixes, by its reference and creation time
    # every request has its row from the start: one that ends is always found stale or counted
    ("upgrades_upgraderequest", "INSERT", "SELECT id FROM n UNION ALL SELECT fix_of_id FROM n"),
    ("upgrades_upgraderequest", "UPDATE",
     "SELECT n.id FROM n JOIN o ON o.id = n.id WHERE (o.outcome, o.finished_at, o.created_at, "
     "o.window_start, o.window_end, o.risk_class) IS DISTINCT FROM "
     "(n.outcome, n.finished_at, n.created_at, n.window_start, n.window_end, n.risk_class) "
     "UNION ALL SELECT v.x FROM n JOIN o ON o.id = n.id, LATERAL (VALUES (o.fix_of_id), (n.fix_of_id)) v(x) "
     "WHERE (o.fix_of_id, o.risk_class, o.created_at, o.reference) IS DISTINCT FROM "
     "(n.fix_of_id, n.risk_class, n.created_at, n.reference)"),
    ("upgrades_upgraderequest", "DELETE", "SELECT fix_of_id FROM o"),  # and its own row goes (DELETES)
    # owner teams
    ("upgrades_upgradeitem", "INSERT", "SELECT request_id FROM n"),
    ("upgrades_upgradeitem", "UPDATE", "SELECT request_id FROM n UNION ALL SELECT request_id FROM o"),
    ("upgrades_upgradeitem", "DELETE", "SELECT request_id FROM o"),
    ("inventory_system", "UPDATE",
     "SELECT i.request_id FROM n JOIN o ON o.id = n.id JOIN upgrades_upgradeitem i ON i.system_id = n.id "
     "WHERE o.owner_team_id IS DISTINCT FROM n.owner_team_id"),
    # incidents linked to the upgrade
    ("execution_incident", "INSERT", "SELECT request_id FROM n"),
    ("execution_incident", "UPDATE", "SELECT request_id FROM n UNION ALL SELECT request_id FROM o"),
    ("execution_incident", "DELETE", "SELECT request_id FROM o"),
    # the execution log: outage spans and retried steps
    ("execution_stepevent", "INSERT", f"SELECT r.request_id FROM n {_RUN.format(t='n')}"),
    ("execution_stepevent", "UPDATE", f"SELECT r.request_id FROM n {_RUN.format(t='n')} "
                                      f"UNION ALL SELECT r.request_id FROM o {_RUN.format(t='o')}"),
    ("execution_stepevent", "DELETE", f"SELECT r.request_id FROM o {_RUN.format(t='o')}"),
    ("execution_executionrun", "UPDATE",
     "SELECT v.x FROM n JOIN o ON o.id = n.id, LATERAL (VALUES (o.request_id), (n.request_id)) v(x) "
     "WHERE o.request_id IS DISTINCT FROM n.request_id"),
    ("execution_executionrun", "DELETE", "SELECT request_id FROM o"),
    ("rollouts_runbookstep", "UPDATE",
     "SELECT r.request_id FROM n JOIN o ON o.id = n.id JOIN execution_stepevent e ON e.step_id = n.id "
     "JOIN execution_executionrun r ON r.id = e.run_id WHERE o.is_outage IS DISTINCT FROM n.is_outage"),
    # wave windows (on time)
    ("rollouts_wave", "INSERT", f"SELECT p.request_id FROM n {_PLAN.format(t='n')}"),
    ("rollouts_wave", "UPDATE", f"SELECT p.request_id FROM n {_PLAN.format(t='n')} "
                                f"UNION ALL SELECT p.request_id FROM o {_PLAN.format(t='o')}"),
    ("rollouts_wave", "DELETE", f"SELECT p.request_id FROM o {_PLAN.format(t='o')}"),
    ("rollouts_plan", "UPDATE",
     "SELECT v.x FROM n JOIN o ON o.id = n.id, LATERAL (VALUES (o.request_id), (n.request_id)) v(x) "
     "WHERE o.request_id IS DISTINCT FROM n.request_id"),
]


# statements run before the touch, by table and event
DELETES = {("upgrades_upgraderequest", "DELETE"):
           f"DELETE FROM {TABLE} WHERE request_id IN (SELECT id FROM o)"}


def _trigger_name(table: str, event: str) -> str:
    return f"reporting_facts_{table}_{event.lower()}"


def trigger_sql() -> list[str]:
    """The statements that create the touch function and every trigger (idempotent)."""
    out = [TOUCH_FUNCTION]
    for table, event, select in TOUCHES:
        name = _trigger_name(table, event)
        tables = {"INSERT": "NEW TABLE AS n", "DELETE": "OLD TABLE AS o",
                  "UPDATE": "OLD TABLE AS o NEW TABLE AS n"}[event]
        before = DELETES.get((table, event), "")
        out.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"{before + '; ' if before else ''}"
                   f"PERFORM reporting_facts_touch(ARRAY({select})); RETURN NULL; END $$")
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    return out


def drop_sql() -> list[str]:
    out = []
    for table, event, _ in TOUCHES:
        name = _trigger_name(table, event)
        out += [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    return out + ["DROP FUNCTION IF EXISTS reporting_facts_touch(bigint[])"]


# --- the recount ----------------------------------------------------------------------------------------

def _case(column: str, weights: dict, default: str = "0") -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in weights.items())
    return f"CASE {column} {whens} ELSE {default} END"


OUTCOME_LIST = ", ".join(f"'{o}'" for o in OUTCOMES)
# counted with another incident window (an index range each way, not a scan of every row)
OTHER_WINDOW = "(f.window_days < %(days)s OR f.window_days > %(days)s)"

# Each fact as kpis.Data._classify makes it: the same rows, the same arithmetic (float8 like Python's float,
# round() of a float8 rounds half to even like Python's). Rows of requests that have not ended are marked
# counted with nothing in them. Every part MATERIALIZED: counted once (PostgreSQL, guessing one row to
# count, would otherwise compute a part again for each row it is joined to).
REFRESH_SQL = f"""
WITH todo AS MATERIALIZED (
    SELECT u.id, f.version, u.outcome, u.risk_class, u.created_at, u.finished_at AS e,
           -- hours, not days: a day added in a session's time zone may be 23 or 25 hours
           u.finished_at + make_interval(hours => 24 * %(days)s) AS lim,
           u.window_start AS ws, u.window_end AS we,
           u.outcome IN ({OUTCOME_LIST}) AND u.finished_at IS NOT NULL AS ended
    FROM {TABLE} f JOIN upgrades_upgraderequest u ON u.id = f.request_id
    WHERE f.stale OR {OTHER_WINDOW}
), done AS MATERIALIZED (
    SELECT * FROM todo WHERE ended
), inc AS MATERIALIZED (
    SELECT t.id, string_agg(i.severity, '; ' ORDER BY i.started_at, i.id) AS severities,
           sum(i.impact_minutes)::bigint AS unplanned,
           sum({_case('i.severity', INCIDENT_WEIGHTS)})::integer AS penalty,
           {", ".join(f"count(*) FILTER (WHERE i.severity = '{s}') AS {s.lower()}" for s in SEVERITIES)}
    FROM done t JOIN execution_incident i ON i.request_id = t.id AND i.started_at < t.lim
    GROUP BY t.id
), fix AS MATERIALIZED (
    SELECT t.id, string_agg(h.reference, '; ' ORDER BY h.created_at, h.id) AS refs
    FROM done t JOIN upgrades_upgraderequest h
      ON h.fix_of_id = t.id AND h.risk_class = '{RiskClass.EMERGENCY}' AND h.created_at < t.lim
    GROUP BY t.id
), per_step AS MATERIALIZED (
    SELECT r.request_id, e.run_id, e.step_id,
           count(*) FILTER (WHERE e.kind = 'started') AS starts,
           count(*) FILTER (WHERE e.kind = 'finished' AND e.outcome = 'failed') AS fails,
           max(e.at) FILTER (WHERE e.kind = 'finished') - min(e.at) FILTER (WHERE e.kind = 'started') AS span
    FROM done t JOIN execution_executionrun r ON r.request_id = t.id
    JOIN execution_stepevent e ON e.run_id = r.id
    GROUP BY r.request_id, e.run_id, e.step_id
), retried AS MATERIALIZED (
    SELECT DISTINCT request_id FROM (
        SELECT request_id FROM per_step GROUP BY request_id, step_id
        HAVING sum(starts) >= 2 AND sum(fails) >= 1) x
), outage AS MATERIALIZED (
    SELECT p.request_id, sum(p.span) AS total
    FROM per_step p JOIN rollouts_runbookstep s ON s.id = p.step_id AND s.is_outage
    WHERE p.span > interval '0'
    GROUP BY p.request_id
), teams AS MATERIALIZED (
    SELECT i.request_id, jsonb_agg(DISTINCT s.owner_team_id ORDER BY s.owner_team_id) AS ids
    FROM done t JOIN upgrades_upgradeitem i ON i.request_id = t.id
    JOIN inventory_system s ON s.id = i.system_id
    GROUP BY i.request_id
), waves AS MATERIALIZED (
    SELECT p.request_id, bool_or(t.e BETWEEN w.window_start AND w.window_end) AS on_time
    FROM done t JOIN rollouts_plan p ON p.request_id = t.id JOIN rollouts_wave w ON w.plan_id = p.id
    WHERE w.window_start IS NOT NULL AND w.window_end IS NOT NULL
    GROUP BY p.request_id
), counted AS (
    SELECT t.id, t.version, t.ended, t.e, t.outcome, t.risk_class,
           CASE WHEN t.outcome = 'completed'
                THEN extract(epoch FROM t.e - t.created_at)::float8 / 3600 END AS lead_hours,
           inc.id IS NOT NULL AS has_incidents, fix.id IS NOT NULL AS has_fixes,
           rt.request_id IS NOT NULL AS retried,
           CASE WHEN t.outcome <> 'completed' THEN 'unsuccessful'
                WHEN inc.id IS NOT NULL OR rt.request_id IS NOT NULL THEN 'with_issues'
                ELSE 'successful' END AS category,
           coalesce(waves.on_time, coalesce(t.e BETWEEN t.ws AND t.we, false)) AS on_time,
           coalesce(round(extract(epoch FROM outage.total)::float8 / 60)::integer, 0) AS planned,
           coalesce(inc.unplanned, 0) AS unplanned, coalesce(inc.penalty, 0) AS penalty,
           coalesce(inc.p1, 0) AS p1, coalesce(inc.p2, 0) AS p2, coalesce(inc.p3, 0) AS p3,
           coalesce(inc.p4, 0) AS p4, coalesce(inc.severities, '') AS severities,
           coalesce(fix.refs, '') AS hotfixes, coalesce(teams.ids, '[]'::jsonb) AS team_ids
    FROM todo t LEFT JOIN inc ON inc.id = t.id LEFT JOIN fix ON fix.id = t.id
    LEFT JOIN retried rt ON rt.request_id = t.id LEFT JOIN outage ON outage.request_id = t.id
    LEFT JOIN teams ON teams.request_id = t.id LEFT JOIN waves ON waves.request_id = t.id
)
UPDATE {TABLE} AS f SET
    stale = false, window_days = %(days)s,
    finished_at = CASE WHEN c.ended THEN c.e END,
    month = CASE WHEN c.ended THEN (extract(year FROM c.e AT TIME ZONE 'UTC') * 100
                                    + extract(month FROM c.e AT TIME ZONE 'UTC'))::integer END,
    outcome = CASE WHEN c.ended THEN c.outcome END, risk_class = CASE WHEN c.ended THEN c.risk_class END,
    lead_hours = CASE WHEN c.ended THEN c.lead_hours END,
    category = CASE WHEN c.ended THEN c.category END,
    failure = CASE WHEN c.ended THEN c.category = 'unsuccessful' OR c.has_incidents OR c.has_fixes END,
    retried = CASE WHEN c.ended THEN c.retried END, on_time = CASE WHEN c.ended THEN c.on_time END,
    planned_minutes = CASE WHEN c.ended THEN c.planned END,
    unplanned_minutes = CASE WHEN c.ended THEN c.unplanned END,
    score = CASE WHEN c.ended THEN {_case('c.category', WEIGHTS)} + c.penalty END,
    p1 = CASE WHEN c.ended THEN c.p1 END, p2 = CASE WHEN c.ended THEN c.p2 END,
    p3 = CASE WHEN c.ended THEN c.p3 END, p4 = CASE WHEN c.ended THEN c.p4 END,
    severities = CASE WHEN c.ended THEN c.severities END, hotfixes = CASE WHEN c.ended THEN c.hotfixes END,
    team_ids = CASE WHEN c.ended THEN c.team_ids END
FROM counted c
-- stored only if no write touched the request since this statement's snapshot: one committed meanwhile
-- (which the counting did not see) bumped the version, and the facts stay stale for the next refresh
WHERE f.request_id = c.id AND f.version = c.version
"""


def refresh(*, full: bool = False, connection=None) -> int:
    """Count the facts of every request whose facts are stale (or counted with another incident window);
    returns how many rows were counted. Cheap when nothing changed: an index lookup of the stale rows.
    `full`: first give every request a row and mark every row stale (the migration; after the triggers were
    disabled for a while), then count them all."""
    from django.db import connection as default

    connection = connection or default
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        if full:
            cursor.execute(f"INSERT INTO {TABLE} (request_id) SELECT id FROM upgrades_upgraderequest "
                           "ON CONFLICT (request_id) DO NOTHING")
            cursor.execute(f"UPDATE {TABLE} SET stale = true, version = version + 1")
        # rows of requests deleted while their rows were touched in the same statement: nothing to count
        cursor.execute(f"DELETE FROM {TABLE} f WHERE f.stale AND NOT EXISTS "
                       "(SELECT 1 FROM upgrades_upgraderequest u WHERE u.id = f.request_id)")
        cursor.execute(REFRESH_SQL, {"days": incident_window_days()})
        return cursor.rowcount


# --- the reads ------------------------------------------------------------------------------------------

_HOURS = "extract(epoch FROM d.decided_at - d.submitted_at)::float8 / 3600"

# the counted facts of the upgrades that ended in the period ({visible}: those the reader may see)
ENDED = ("f.category IS NOT NULL AND NOT f.stale AND f.finished_at >= %(start)s AND f.finished_at < %(end)s "
         "{visible}")

# stale rows of requests that ended in the period: the facts are not the rows' (written since the refresh)
NOT_COUNTED_SQL = f"""
SELECT count(*) FROM {TABLE} f JOIN upgrades_upgraderequest u ON u.id = f.request_id
WHERE (f.stale OR {OTHER_WINDOW}) AND u.finished_at >= %(start)s AND u.finished_at < %(end)s
  AND u.outcome IN ({OUTCOME_LIST})
"""

FIGURES_SQL = f"""
SELECT f.month, f.risk_class, count(*) AS ended,
       count(*) FILTER (WHERE f.outcome = 'completed') AS completed,
       count(*) FILTER (WHERE f.category = 'successful') AS successful,
       count(*) FILTER (WHERE f.category = 'with_issues') AS with_issues,
       count(*) FILTER (WHERE f.category = 'unsuccessful') AS unsuccessful,
       count(*) FILTER (WHERE f.failure) AS failures,
       count(*) FILTER (WHERE f.outcome = 'rolled_back') AS rollbacks,
       count(*) FILTER (WHERE f.hotfixes <> '') AS hotfixed,
       coalesce(sum(f.planned_minutes), 0)::bigint AS planned,
       coalesce(sum(f.unplanned_minutes), 0)::bigint AS unplanned,
       count(*) FILTER (WHERE f.planned_minutes > 0) AS with_planned,
       count(*) FILTER (WHERE f.unplanned_minutes > 0) AS with_unplanned,
       count(*) FILTER (WHERE f.on_time) AS on_time,
       count(*) FILTER (WHERE f.risk_class = '{RiskClass.EMERGENCY}') AS emergency,
       coalesce(sum(f.score), 0)::bigint AS score
FROM {TABLE} f
WHERE {ENDED}
GROUP BY f.month, f.risk_class
"""

# the median and 90th percentile of the lead time (nearest rank, as kpis.percentile)
LEADS_SQL = f"""
SELECT percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY f.lead_hours)
FROM {TABLE} f
WHERE {ENDED} AND f.outcome = 'completed'
"""

SUMMED = ("ended", "completed", "successful", "with_issues", "unsuccessful", "failures", "rollbacks",
          "hotfixed", "planned", "unplanned", "with_planned", "with_unplanned", "on_time", "emergency",
          "score")

TEAMS_SQL = f"""
SELECT t.name, t.slug, count(*) AS ended,
       count(*) FILTER (WHERE f.category = 'successful') AS successful,
       count(*) FILTER (WHERE f.category = 'with_issues') AS with_issues,
       count(*) FILTER (WHERE f.category = 'unsuccessful') AS unsuccessful,
       sum(f.p1)::bigint AS p1, sum(f.p2)::bigint AS p2, sum(f.p3)::bigint AS p3, sum(f.p4)::bigint AS p4,
       count(*) FILTER (WHERE f.failure) AS failures, sum(f.score)::bigint AS score
FROM {TABLE} f LEFT JOIN LATERAL jsonb_array_elements_text(f.team_ids) AS tid ON true
LEFT JOIN accounts_team t ON t.id = tid::bigint
WHERE {ENDED}
GROUP BY t.name, t.slug
"""

NOTABLE_SQL = f"""
SELECT u.reference, u.title, f.risk_class, f.outcome, f.finished_at, f.category, f.hotfixes, f.severities,
       f.team_ids::text, f.planned_minutes, f.unplanned_minutes, f.score
FROM {TABLE} f JOIN upgrades_upgraderequest u ON u.id = f.request_id
WHERE {ENDED}
  AND (f.category <> 'successful' OR f.risk_class = '{RiskClass.EMERGENCY}' OR f.hotfixes <> '')
ORDER BY f.score, f.finished_at, f.request_id
LIMIT %(limit)s
"""


def _safe_sql(expression: str) -> str:
    """`services._safe` in SQL: a text that spreadsheets would run as a formula gets a leading quote."""
    starts = ", ".join("E'\\t'" if c == "\t" else "E'\\r'" if c == "\r" else f"'{c}'"
                       for c in sorted(FORMULA_STARTS))
    return f"CASE WHEN left({expression}, 1) IN ({starts}) THEN '''' || {expression} ELSE {expression} END"


def _yes(expression: str) -> str:
    return f"CASE WHEN {expression} THEN 'yes' ELSE 'no' END"


# the cells of services.UPGRADE_COLUMNS as services._upgrade_rows writes them, but the owner teams (their
# names are joined in Python) and the lead time (Python's own rounding of a float)
CSV_SQL = f"""
SELECT {_safe_sql("u.reference")}, {_safe_sql("u.title")}, {_safe_sql("f.risk_class")},
       {_safe_sql("f.outcome")}, {_safe_sql("f.category")}, f.team_ids::text,
       {", ".join(UtcMinutes.template % {"expressions": f"u.{f}"} for f in CSV_TIMES)},
       f.lead_hours, {_yes("f.on_time")}, {_yes("f.failure")}, {_safe_sql("f.hotfixes")},
       {_safe_sql("f.severities")}, {_yes("f.retried")}, f.planned_minutes, f.unplanned_minutes, f.score
FROM {TABLE} f JOIN upgrades_upgraderequest u ON u.id = f.request_id
WHERE {ENDED}
ORDER BY f.finished_at, f.request_id
"""


def _split(text: str) -> list[str]:
    return text.split("; ") if text else []


def _team_names() -> dict[int, str]:
    from apps.accounts.models import Team

    return dict(Team.objects.values_list("id", "name"))


def _names(team_ids: str, names: dict[int, str]) -> list[str]:
    import json

    return sorted(names[i] for i in json.loads(team_ids) if i in names)


class _Ended:
    """The SQL and parameters selecting the counted facts of the upgrades a reader sees ended in a period."""

    def __init__(self, user, period: Period):
        self.base = scoped(user, period)
        self.params = {"start": period.start_dt, "end": period.end_dt, "days": incident_window_days()}
        ended = self.base.filter(_in(period, "finished_at"), outcome__in=OUTCOMES)
        if not self.base.query.where:  # every request (a reader who sees all, no filter): no visibility test
            self.visible = ""
        elif len(ids := list(ended.values_list("pk", flat=True)[:INLINE_IDS + 1])) <= INLINE_IDS:
            # a few thousand: the visibility rule evaluated once, not in every query
            self.visible = "AND f.request_id = ANY(%(ids)s)"
            self.params["ids"] = ids
        else:
            sql, params = self.base.order_by().values("pk").query.sql_with_params()
            parts = sql.split("%s")  # Django's positional parameters, named like the rest of the query's
            for n, value in enumerate(params):
                parts[n + 1] = f"%(v{n})s" + parts[n + 1]
                self.params[f"v{n}"] = value
            self.visible = "AND f.request_id IN (" + "".join(parts) + ")"

    def sql(self, template: str) -> str:
        return template.replace("{visible}", self.visible)

    def read(self, template: str, **extra) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql(template), {**self.params, **extra})
            return cursor.fetchall()

    def read_dicts(self, template: str) -> list[dict]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql(template), self.params)
            columns = [c.name for c in cursor.description]
            return [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]


class FactData:
    """The figures of one period from the stored facts, with the interface of `kpis.Data` that the dashboard,
    the report and the API use (not `ended`: the rows stay in the database; the CSV is `upgrades_csv`)."""

    def __init__(self, user, period: Period, *, teams: bool = True, beside=None):
        """`beside` (`apps.core.snapshot.one_snapshot`): the owner teams and the notable upgrades are read on
        another connection in the same snapshot meanwhile."""
        from django.db.models import Count

        from apps.execution.models import Incident, TriggerFiring
        from apps.rollouts.models import TriggerAction

        self.user, self.period, self.with_teams = user, period, teams
        self.days = incident_window_days()
        self._ended = ended = _Ended(user, period)
        self._beside = None
        if teams and beside is not None:
            self._beside = beside(lambda: (self._read_teams(), self._read_notable(40), self._read_leads()))
        with connection.cursor() as cursor:
            cursor.execute(NOT_COUNTED_SQL, ended.params)
            not_counted = cursor.fetchone()[0]
        if not_counted:
            raise FactsIncomplete(f"{not_counted} upgrade(s) ended in {period.label()} with stale facts")
        groups = ended.read_dicts(FIGURES_SQL)  # per month and risk class: added up here
        total, self._months, self._risks = dict.fromkeys(SUMMED, 0), {}, {}
        for g in groups:
            for into in (total, self._months.setdefault(g["month"], dict.fromkeys(SUMMED, 0)),
                         self._risks.setdefault(g["risk_class"], dict.fromkeys(SUMMED, 0))):
                for key in SUMMED:
                    into[key] += g[key]
        total["lead50"], total["lead90"] = self._beside.result()[2] if self._beside else self._read_leads()
        self._total = total
        base = ended.base
        decided = base.filter(_in(period, "decided_at"), submitted_at__isnull=False).order_by().values(
            "decided_at", "submitted_at")
        sql, params = decided.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), percentile_disc(ARRAY[0.5, 0.9]) "
                           f"WITHIN GROUP (ORDER BY {_HOURS}) "
                           f"FROM ({sql}) d", params)
            n, cab = cursor.fetchone()
            self._cab = (n, *(cab or (None, None)))
        # every incident and firing belongs to a request: with every request visible, no test of which
        everything = not ended.visible
        incidents = Incident.objects.filter(_in(period, "started_at"))
        if not everything:
            incidents = incidents.filter(request__in=base.values("pk"))
        self._severity = dict(incidents.order_by().values_list("severity").annotate(n=Count("pk")))
        if everything:  # the refusals of requests that still exist (not of deleted drafts), as Data counts
            found = AuditEventQuery.refusals(period, None)
            ids = {int(r["object_id"]) for r in found
                   if r["object_id"].isascii() and r["object_id"].isdigit()}
            kept = {str(pk) for pk in UpgradeRequest.objects.filter(pk__in=ids).values_list("pk", flat=True)}
            found = [r for r in found if r["object_id"] in kept]
        else:
            found = AuditEventQuery.refusals(period, base.annotate(sid=_text_pk()).values("sid"))
        self.refusals = [r for r in found if "freeze" in str(r["data"]).lower()]
        firings = TriggerFiring.objects.filter(_in(period, "at"), action=TriggerAction.ROLL_BACK)
        if not everything:
            firings = firings.filter(run__request__in=base.values("pk"))
        self._firings = firings.count()

    def of_period(self, period: Period) -> "FactData":
        return FactData(self.user, period, teams=self.with_teams)

    @property
    def figures(self) -> dict:
        t = self._total
        n = t["ended"]
        planned, unplanned = t["planned"], t["unplanned"]
        cab_n, cab50, cab90 = self._cab
        return {
            "ended": n,
            "completed": t["completed"],
            "successful": t["successful"],
            "with_issues": t["with_issues"],
            "unsuccessful": t["unsuccessful"],
            "success_rate": _ratio(t["successful"], n),
            "change_failures": t["failures"],
            "change_failure_rate": _ratio(t["failures"], n),
            "rollbacks": t["rollbacks"],
            "rollback_rate": _ratio(t["rollbacks"], n),
            "hotfixed": t["hotfixed"],
            "downtime_minutes": planned + unplanned,
            "downtime_per_upgrade": round((planned + unplanned) / n, 1) if n else None,
            "planned_downtime_minutes": planned,
            "unplanned_downtime_minutes": unplanned,
            "incidents": sum(self._severity.values()),
            "incidents_by_severity": {s: self._severity.get(s, 0) for s in SEVERITIES},
            "lead_time_median_hours": _round(t["lead50"]),
            "lead_time_p90_hours": _round(t["lead90"]),
            "cab_decisions": cab_n,
            "cab_cycle_median_hours": _round(cab50),
            "cab_cycle_p90_hours": _round(cab90),
            "on_time": t["on_time"],
            "on_time_rate": _ratio(t["on_time"], n),
            "emergency": t["emergency"],
            "emergency_share": _ratio(t["emergency"], n),
            "freeze_violations_prevented": len(self.refusals),
            "automatic_rollbacks": self._firings,
            "score": t["score"],
        }

    def count(self, kpi: str) -> int:
        from .kpis import COUNTED_AS

        if kpi in COUNTED_AS:
            return self.figures[COUNTED_AS[kpi]]
        if kpi == "planned_downtime":
            return self._total["with_planned"]
        if kpi == "unplanned_downtime":
            return self._total["with_unplanned"]
        raise KeyError(kpi)

    def teams(self) -> list[dict]:
        if not self.with_teams:
            raise RuntimeError("These figures were read without their owner teams "
                               "(FactData(..., teams=False)).")
        if self._beside is not None:
            return self._beside.result()[0]
        return self._read_teams()

    def _read_teams(self) -> list[dict]:
        found = self._ended.read_dicts(TEAMS_SQL)
        table = []
        for r in found:
            t = {"team": r["name"] if r["name"] is not None else "(no team)", "slug": r["slug"] or "",
                 "ended": r["ended"], "successful": r["successful"], "with_issues": r["with_issues"],
                 "unsuccessful": r["unsuccessful"], **{s: int(r[s.lower()]) for s in SEVERITIES},
                 "failures": r["failures"], "score": int(r["score"])}
            t["change_failure_rate"] = _ratio(t["failures"], t["ended"])
            table.append(t)
        return sorted(table, key=lambda t: (-t["score"], t["team"]))

    def by_risk(self) -> list[dict]:
        out = []
        for risk in RiskClass:
            r = self._risks.get(risk.value, {})
            ended, failures = r.get("ended", 0), r.get("failures", 0)
            out.append({"risk_class": risk.label, "ended": ended, "failures": failures,
                        "change_failure_rate": _ratio(failures, ended)})
        return out

    def monthly(self) -> list[dict]:
        months = []
        day = self.period.start.replace(day=1)
        while day <= self.period.end:
            r = self._months.get(day.year * 100 + day.month, {})
            m = {"month": f"{day:%Y-%m}", "label": f"{day:%b %y}", "ended": r.get("ended", 0),
                 "successful": r.get("successful", 0), "with_issues": r.get("with_issues", 0),
                 "unsuccessful": r.get("unsuccessful", 0), "failures": r.get("failures", 0),
                 "downtime_minutes": r.get("planned", 0) + r.get("unplanned", 0)}
            m["change_failure_rate"] = _ratio(m["failures"], m["ended"])
            months.append(m)
            day = (day + dt.timedelta(days=32)).replace(day=1)
        return months

    def notable(self, limit: int = 40) -> list[dict]:
        if self._beside is not None and limit == 40:
            return self._beside.result()[1]
        return self._read_notable(limit)

    def _read_leads(self) -> tuple:
        return tuple(self._ended.read(LEADS_SQL)[0][0] or (None, None))

    def _read_notable(self, limit: int) -> list[dict]:
        found = self._ended.read(NOTABLE_SQL, limit=limit)
        names = _team_names() if found else {}
        out = []
        for ref, title, risk, outcome, end, category, fixes, severities, team_ids, planned, unplanned, score \
                in found:
            out.append({
                "reference": ref, "title": title, "risk_class": risk, "outcome": outcome,
                "outcome_label": OUTCOME_LABELS[outcome], "category": category, "finished_at": end,
                "hotfixes": [{"reference": h} for h in _split(fixes)],
                "severities": sorted(set(_split(severities))), "teams": _names(team_ids, names),
                "planned_minutes": planned, "unplanned_minutes": unplanned, "score": score})
        return out




def _text_pk():
    from django.db.models import CharField
    from django.db.models.functions import Cast

    return Cast("pk", CharField())


def upgrades_csv(user, period: Period) -> bytes:
    """The per-upgrade CSV of a period from the stored facts: byte for byte what `services.upgrades_csv`
    writes from `kpis.Data`, with the cells made by PostgreSQL but the owner teams' names (one join per
    distinct set of teams) and the lead time (formatted as Python formats a float)."""
    import csv
    import io

    from .kpis import gc_paused
    from .services import UPGRADE_COLUMNS

    names = _team_names()
    teams_of: dict[str, str] = {}

    def teams(team_ids: str) -> str:
        text = teams_of.get(team_ids)
        if text is None:
            text = teams_of[team_ids] = _safe("; ".join(_names(team_ids, names)))
        return text

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in UPGRADE_COLUMNS])
    with gc_paused():
        writer.writerows(
            (ref, title, risk, outcome, category, teams(team_ids), t1, t2, t3, t4, t5,
             "" if lead is None else _safe(f"{lead:.1f}"), on_time, failure, fixes, severities, retried,
             planned, unplanned, score)
            for ref, title, risk, outcome, category, team_ids, t1, t2, t3, t4, t5, lead, on_time, failure,
            fixes, severities, retried, planned, unplanned, score in _Ended(user, period).read(CSV_SQL))
    return out.getvalue().encode("utf-8-sig")


def _safe(text: str) -> str:
    return "'" + text if text[:1] in FORMULA_STARTS else text
