"""Vendor advisories: record one, or import CSAF 2.0 / CSV; match them to the inventory; raise findings.

An advisory that affects a version running somewhere raises a system-level finding (an `apps.assessments`
Finding with the system set and no assessment, DESIGN.md "Findings and exceptions"): apps/assessments has no
service for those, so this module writes them, in the import's transaction, with an audit event each.
"""

import csv
import functools
import io
import operator
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q

from apps.accounts.choices import Role
from apps.assessments.choices import Category, Severity, Source
from apps.assessments.models import Finding
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.validation import clean_text
from apps.inventory.models import Component

from . import csaf
from .models import Advisory, AdvisoryMatch, AdvisoryProduct, AdvisorySeverity, AdvisorySource, ProductStatus

CSV_COLUMNS = ("product", "affected_versions", "severity", "title", "id", "url")
MAX_CSV_BYTES = 1024 * 1024
MAX_CSV_ROWS = 2000
FINDING_SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH,
                    "critical": Severity.HIGH}
RANGE_START = re.compile(r"^\s*(>=|<=|>|<|=|\^|~)")


def _actor(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def can_import(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(Role.CHANGE_MANAGER, Role.ADMIN))


def _require(by, what: str) -> None:
    if not can_import(by):
        audit_append(action="reviews.denied", actor=_actor(by),
                     data={"what": what, "rule": "change manager or administrator role"})
        raise PermissionDenied("Only change managers and administrators record vendor advisories.")


# --- matching ----------------------------------------------------------------------------------------

def _segments(version: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.findall(r"\d+|[a-zA-Z]+", version)]


def version_below(running: str, fixed: str) -> bool:
    """rpm-like comparison: numeric segments as numbers, letters as text; `running` older than `fixed`."""
    a, b = _segments(running), _segments(fixed)
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        if isinstance(x, int) != isinstance(y, int):
            return isinstance(y, int)  # a number is newer than letters
        return x < y
    return len(a) < len(b)


def affects(entry: dict, version: str) -> bool:
    from apps.inventory.versions import ConstraintError, satisfies

    given, spread = entry["version"].strip(), entry["version_range"].strip()
    if entry["status"] == ProductStatus.FIXED:
        return bool(given) and version_below(version, given)
    if spread:
        try:
            return satisfies(spread, "semver", version)
        except (ConstraintError, ValueError):
            return False
    return not given or given.lower() == version.strip().lower()


def _affected_components(entries: list[dict]) -> dict[int, tuple[Component, dict]]:
    names = {e["product"].lower() for e in entries}
    if not names:
        return {}
    # a product the advisory lists affected versions of is judged by those alone; "fixed in" versions are
    # compared only for products it names no affected version of (Red Hat errata list fixed packages only)
    listed = {e["product"].lower() for e in entries if e["status"] == ProductStatus.AFFECTED}
    usable = [e for e in entries if e["status"] == ProductStatus.AFFECTED or e["product"].lower() not in listed]
    hits: dict[int, tuple[Component, dict]] = {}
    q = Component.objects.select_related("system", "environment")
    for component in q.filter(functools.reduce(operator.or_, (Q(product__iexact=n) for n in sorted(names)))):
        for entry in usable:
            if entry["product"].lower() == component.product.lower() and affects(entry, component.version):
                hits.setdefault(component.pk, (component, entry))
                break
    return hits


def _raise_findings(advisory: Advisory, entries: list[dict], by) -> list[AdvisoryMatch]:
    now, matches = clock.now(), []
    for component, entry in _affected_components(entries).values():
        key = f"reviews:advisory:{advisory.pk}:{component.pk}"
        why = (f"fixed in {entry['version']}" if entry["status"] == ProductStatus.FIXED
               else f"affected: {entry['version'] or entry['version_range'] or 'all versions'}")
        finding = Finding.objects.create(
            system=component.system, key=key, category=Category.SECURITY, source=Source.COMPUTED,
            severity=FINDING_SEVERITY[advisory.severity], created_at=now, updated_at=now,
            title=f"{advisory.identifier}: {component.name} runs {component.product} {component.version}, "
                  f"named in “{advisory.title}”"[:300],
            evidence=(f"Vendor advisory {advisory.identifier} ({advisory.publisher or advisory.get_source_display()}"
                      f", severity {advisory.get_severity_display()}) — {entry['product']} {why}. "
                      f"{component.system.name}, {component.environment.name}: {component.product} "
                      f"{component.version}. Upgrade to a fixed version, or record why the risk is accepted."
                      + (f"\n{advisory.url}" if advisory.url else "")))
        match = AdvisoryMatch.objects.create(advisory=advisory, component=component, version=component.version,
                                             finding=finding)
        audit_append(action="reviews.advisory_finding_raise", actor=by, obj=component.system,
                     after={"finding": finding.pk, "key": key, "advisory": advisory.identifier,
                            "component": component.pk, "version": component.version, "severity": finding.severity})
        matches.append(match)
    return matches


def _store(*, by, summary: dict, entries: list[dict], source: str, document: dict | None = None) -> Advisory:
    try:
        return _store_once(by=by, summary=summary, entries=entries, source=source, document=document)
    except IntegrityError:  # the same advisory imported at the same moment by someone else
        raise ValidationError({"identifier": f"Advisory {summary['identifier']} is recorded already."}) from None


def _store_once(*, by, summary: dict, entries: list[dict], source: str, document: dict | None) -> Advisory:
    with transaction.atomic():
        if Advisory.objects.select_for_update().filter(identifier__iexact=summary["identifier"]).exists():
            raise ValidationError({"identifier": f"Advisory {summary['identifier']} is recorded already."})
        advisory = Advisory.objects.create(
            identifier=summary["identifier"], title=summary["title"][:300], publisher=summary.get("publisher", "")[:200],
            severity=summary["severity"], url=summary.get("url", "")[:500], source=source,
            cves=summary.get("cves", []), document=document or {}, imported_by=by, imported_at=clock.now())
        AdvisoryProduct.objects.bulk_create(AdvisoryProduct(advisory=advisory, **e) for e in entries)
        matches = _raise_findings(advisory, entries, by)
        audit_append(action="reviews.advisory_import", actor=by, obj=advisory,
                     after={"identifier": advisory.identifier, "source": source, "severity": advisory.severity,
                            "products": len(entries), "affected_components": [m.component_id for m in matches]})
    return advisory


# --- CSAF ------------------------------------------------------------------------------------------

def advisory_import_csaf(*, raw: bytes | str, by) -> Advisory:
    _require(by, "import a CSAF advisory")
    document = csaf.parse(raw)
    entries = csaf.products(document)
    summary = csaf.summary(document)
    errors: dict = {}
    clean_text(errors, "document", summary["identifier"], required=True, max_length=120)
    if errors:
        raise ValidationError({"document": "The tracking id is unusable: " + errors["document"]})
    return _store(by=by, summary=summary, entries=entries, source=AdvisorySource.CSAF, document=document)


# --- CSV and by hand -----------------------------------------------------------------------------------

def _versions(text: str) -> list[dict]:
    """`1.0; 1.1` → two versions; `>=1.0,<1.4` → a range; empty → every version."""
    text = text.strip()
    if not text:
        return [{"version": "", "version_range": ""}]
    if RANGE_START.match(text):
        return [{"version": "", "version_range": text}]
    return [{"version": v.strip(), "version_range": ""} for v in re.split(r"[;|]", text) if v.strip()]


def _row(errors: list, where: str, data: dict, problems: dict | None = None) -> dict | None:
    problems = {} if problems is None else problems
    out = {
        "identifier": clean_text(problems, "id", data.get("id"), required=True, max_length=120),
        "title": clean_text(problems, "title", data.get("title"), required=True, max_length=300),
        "product": clean_text(problems, "product", data.get("product"), required=True, max_length=200),
        "affected_versions": clean_text(problems, "affected_versions", data.get("affected_versions"),
                                        required=False, max_length=500),
        "url": clean_text(problems, "url", data.get("url"), required=False, max_length=500),
    }
    severity = str(data.get("severity") or "").strip().lower()
    out["severity"] = csaf.SEVERITY_WORDS.get(severity, "")
    if not out["severity"]:
        problems["severity"] = f"Use one of: {', '.join(AdvisorySeverity.values)}."
    if out["url"] and "url" not in problems:
        try:
            URLValidator(schemes=["https", "http"])(out["url"])
        except ValidationError:
            problems["url"] = "Enter a web address starting with https:// or http://."
    if problems:
        errors.append(f"{where}: " + " ".join(f"{k}: {v}" for k, v in problems.items()))
        return None
    return out


def advisory_import_csv(*, raw: bytes | str, by) -> list[Advisory]:
    """Columns product, affected_versions, severity, title, id, url; rows with the same id are one advisory."""
    _require(by, "import advisories from CSV")
    if isinstance(raw, bytes):
        if len(raw) > MAX_CSV_BYTES:
            raise ValidationError({"file": "The file is larger than 1 MB."})
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": "The file is not UTF-8 text."}) from None
    if "\x00" in raw:
        raise ValidationError({"file": "The file contains NUL characters; it is not a CSV text file."})
    reader = csv.DictReader(io.StringIO(raw))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValidationError({"file": f"The first line must name the columns {', '.join(CSV_COLUMNS)}; "
                                       f"missing: {', '.join(missing)}."})
    reader.fieldnames = header
    grouped: dict[str, dict] = {}
    errors: list[str] = []
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ValidationError({"file": f"The file is not valid CSV: {exc}."}) from None
    if not rows:
        raise ValidationError({"file": "The file has a header but no advisories."})
    if len(rows) > MAX_CSV_ROWS:
        raise ValidationError({"file": f"At most {MAX_CSV_ROWS} rows per file."})
    for number, data in enumerate(rows, start=2):
        row = _row(errors, f"Line {number}", data)
        if row is None:
            continue
        adv = grouped.setdefault(row["identifier"].lower(), {"summary": {
            "identifier": row["identifier"], "title": row["title"], "severity": row["severity"], "url": row["url"]},
            "entries": []})
        adv["entries"].extend({"product": row["product"], "status": ProductStatus.AFFECTED, **v}
                              for v in _versions(row["affected_versions"]))
    if errors:
        raise ValidationError({"file": errors})
    existing = set(Advisory.objects.filter(identifier__in=[g["summary"]["identifier"] for g in grouped.values()])
                   .values_list("identifier", flat=True))
    if existing:
        raise ValidationError({"file": f"Recorded already: {', '.join(sorted(existing))}."})
    with transaction.atomic():
        return [_store(by=by, summary=g["summary"], entries=g["entries"], source=AdvisorySource.CSV)
                for g in grouped.values()]


def advisory_record(*, by, identifier, title, severity, product, affected_versions="", url="") -> Advisory:
    """One advisory entered by hand (the same fields as a CSV line)."""
    _require(by, "record an advisory")
    problems: dict = {}
    row = _row([], "Advisory", {"id": identifier, "title": title, "severity": severity, "product": product,
                                "affected_versions": affected_versions, "url": url}, problems)
    if row is None:
        raise ValidationError({"identifier" if k == "id" else k: v for k, v in problems.items()})
    entries = [{"product": row["product"], "status": ProductStatus.AFFECTED, **v}
               for v in _versions(row["affected_versions"])]
    return _store(by=by, summary={k: row[k] for k in ("identifier", "title", "severity", "url")}, entries=entries,
                  source=AdvisorySource.MANUAL)


# --- open an upgrade request ------------------------------------------------------------------------------

def advisory_open_request(*, match: AdvisoryMatch, target_version, by):
    """Raise an upgrade request for the affected component, to the version the user gives."""
    from apps.upgrades.services import upgrade_create

    if by is None or not by.is_authenticated or not by.has_role(Role.CHANGE_MANAGER):
        audit_append(action="reviews.denied", actor=_actor(by), obj=match.advisory,
                     data={"what": "open an upgrade request from an advisory", "rule": "change manager role"})
        raise PermissionDenied("Only change managers raise upgrade requests.")
    errors: dict = {}
    target_version = clean_text(errors, "target_version", target_version, required=True, max_length=40)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        match = (AdvisoryMatch.objects.select_for_update(of=("self",))
                 .select_related("advisory", "component__system").get(pk=match.pk))
        if match.request_id is not None:
            raise ValidationError({"target_version": f"Upgrade request {match.request.reference} is open for this "
                                                     f"already."})
        component, advisory = match.component, match.advisory
        if target_version.lower() == component.version.lower():
            raise ValidationError({"target_version": f"{component.name} runs {component.version} already; give "
                                                     f"the fixed version to upgrade to."})
        request = upgrade_create(
            by=by, items=[{"system": component.system_id, "component": component.pk, "target_version": target_version}],
            title=f"{advisory.identifier}: upgrade {component.product} on {component.system.name} to {target_version}",
            justification=(f"Vendor advisory {advisory.identifier} “{advisory.title}” (severity "
                           f"{advisory.get_severity_display()}) affects {component.product} {component.version} "
                           f"on {component.system.name}."),
            external_ref=advisory.identifier[:80], external_url=advisory.url)
        match.request = request
        match.save(update_fields=["request"])
        audit_append(action="reviews.advisory_open_request", actor=by, obj=advisory,
                     after={"component": component.pk, "request": request.reference, "target_version": target_version})
    return request


# --- reads ---------------------------------------------------------------------------------------------

def advisory_list():
    from django.db.models import Count

    return (Advisory.objects.select_related("imported_by")
            .annotate(affected=Count("matches", distinct=True)).order_by("-imported_at", "-pk"))


def advisory_get(pk) -> Advisory | None:
    return Advisory.objects.select_related("imported_by").filter(pk=pk).first()


def advisory_matches(advisory: Advisory):
    return (advisory.matches.select_related("component__system", "component__environment", "finding", "request")
            .order_by("component__system__name", "component__name", "pk"))
