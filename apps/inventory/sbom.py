"""CycloneDX SBOM import (JSON, spec 1.2–1.5): check the whole document, then write it in one transaction.

The document is checked completely before anything is written; any problem is a ValidationError on the
`file` field naming what is wrong, and nothing is stored. Packages are the BOM's components (nested ones
included) plus the BOM's subject (`metadata.component`), because the dependency graph usually starts there.
Small files import in the request; larger ones run on a worker as an ImportJob of kind "sbom" whose
progress the page polls.
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.accounts.choices import Role
from apps.audit.services import audit_append
from apps.core import clock

from .choices import ImportStatus
from .models import Component, ImportJob, Sbom, SbomEdge, SbomPackage

SUPPORTED_SPECS = ("1.2", "1.3", "1.4", "1.5")
JOB_KIND = "sbom"  # not one of ImportKind's choices: adding it needs a migration the lead owns
_LIMITS = {"bom_ref": 500, "name": 300, "group": 300, "version": 100, "purl": 1000, "kind": 40}
_BATCH = 2000


def max_bytes() -> int:
    return getattr(settings, "SBOM_MAX_BYTES", 20 * 1024 * 1024)


def sync_bytes() -> int:
    """Files up to this size import in the request; larger ones go to the worker."""
    return getattr(settings, "SBOM_SYNC_BYTES", 1024 * 1024)


@dataclass
class ParsedSbom:
    spec_version: str
    serial_number: str
    packages: list[dict] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)


def _bad(message: str) -> ValidationError:
    return ValidationError({"file": message})


def _text(value, what: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(f"{what} must be a string.")
    if "\x00" in value:
        raise _bad(f"{what} contains a NUL character.")
    if len(value) > limit:
        raise _bad(f"{what} is longer than {limit} characters.")
    return value


def _walk(components, path: str):
    if not isinstance(components, list):
        raise _bad(f"{path} must be a list of components.")
    for i, comp in enumerate(components):
        where = f"{path}[{i}]"
        if not isinstance(comp, dict):
            raise _bad(f"{where} must be an object.")
        yield where, comp
        if "components" in comp:
            yield from _walk(comp["components"], f"{where}.components")


def _package(where: str, comp: dict) -> dict:
    name = _text(comp.get("name"), f"{where}.name", _LIMITS["name"]).strip()
    if not name:
        raise _bad(f"The component at {where} has no name.")
    group = _text(comp.get("group"), f"{where}.group", _LIMITS["group"])
    label = f"{group}/{name}" if group else name
    version = _text(comp.get("version"), f"Version of “{label}”", _LIMITS["version"]).strip()
    if not version:
        raise _bad(f"The component “{label}” ({where}) has no version; every package needs one.")
    purl = _text(comp.get("purl"), f"purl of “{label}”", _LIMITS["purl"])
    ref = _text(comp.get("bom-ref"), f"bom-ref of “{label}”", _LIMITS["bom_ref"])
    if not ref:
        # bom-ref is optional before 1.3 and in practice: the purl, else group/name@version, names it
        ref = purl or f"{label}@{version}"
        if len(ref) > _LIMITS["bom_ref"]:
            raise _bad(f"The component “{label}” has no bom-ref and its name is too long to stand for one.")
    kind = _text(comp.get("type"), f"type of “{label}”", _LIMITS["kind"])
    return {"bom_ref": ref, "name": name, "group": group, "version": version, "purl": purl, "kind": kind}


def sbom_parse(raw: bytes, *, progress=None) -> ParsedSbom:
    """Read and check a CycloneDX JSON document; raise ValidationError({"file": ...}) on the first problem."""
    limit = max_bytes()
    if len(raw) > limit:
        from django.template.defaultfilters import filesizeformat

        raise _bad(f"The file is larger than {filesizeformat(limit)}; nothing was imported.")
    if not raw.strip():
        raise _bad("The file is empty.")
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _bad("The file is not UTF-8 text; a CycloneDX JSON SBOM is expected.") from exc
    except json.JSONDecodeError as exc:
        raise _bad(f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from exc
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise _bad("This is not a CycloneDX SBOM: bomFormat must be “CycloneDX”.")
    spec = doc.get("specVersion")
    if spec not in SUPPORTED_SPECS:
        raise _bad(f"CycloneDX specVersion “{spec}” is not supported; use one of {', '.join(SUPPORTED_SPECS)}.")
    serial = _text(doc.get("serialNumber"), "serialNumber", 200)
    parsed = ParsedSbom(spec_version=spec, serial_number=serial)
    seen: dict[str, str] = {}

    def add(where, comp):
        pkg = _package(where, comp)
        if pkg["bom_ref"] in seen:
            raise _bad(f"The bom-ref “{pkg['bom_ref']}” is used twice ({seen[pkg['bom_ref']]} and {where}).")
        seen[pkg["bom_ref"]] = where
        parsed.packages.append(pkg)

    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _bad("metadata must be an object.")
    if isinstance(metadata.get("component"), dict):
        add("metadata.component", metadata["component"])
    for n, (where, comp) in enumerate(_walk(doc.get("components") or [], "components"), start=1):
        add(where, comp)
        if progress and n % 200 == 0:
            progress(n)
    dependencies = doc.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise _bad("dependencies must be a list.")
    pairs: set[tuple[str, str]] = set()
    for i, dep in enumerate(dependencies):
        if not isinstance(dep, dict) or not isinstance(dep.get("ref"), str):
            raise _bad(f"dependencies[{i}] must be an object with a “ref”.")
        depends_on = dep.get("dependsOn") or []
        if not isinstance(depends_on, list):
            raise _bad(f"dependencies[{i}].dependsOn must be a list of refs.")
        for ref in [dep["ref"], *depends_on]:
            if not isinstance(ref, str) or ref not in seen:
                raise _bad(f"dependencies[{i}] names “{ref}”, which is not a component of this SBOM.")
        for target in depends_on:
            if (dep["ref"], target) not in pairs:
                pairs.add((dep["ref"], target))
                parsed.edges.append((dep["ref"], target))
    return parsed


def _require_admin(user) -> None:
    if not user.has_role(Role.ADMIN):
        raise PermissionDenied("Only administrators import SBOMs.")


def _clean_filename(filename: str) -> str:
    return "".join(ch for ch in filename if ch.isprintable())[:200] or "sbom.json"


def sbom_import(*, component: Component, filename: str, raw: bytes, by, progress=None) -> Sbom:
    """Check the document, then store the SBOM, its packages and edges in one transaction (audited)."""
    _require_admin(by)
    parsed = sbom_parse(raw, progress=progress)
    digest = hashlib.sha256(raw).hexdigest()
    with transaction.atomic():
        component = Component.objects.select_for_update().get(pk=component.pk)
        sbom = Sbom.objects.create(
            component=component, spec_version=parsed.spec_version, serial_number=parsed.serial_number,
            filename=_clean_filename(filename), sha256=digest, package_count=len(parsed.packages),
            edge_count=len(parsed.edges), imported_by=by, imported_at=clock.now(),
        )
        SbomPackage.objects.bulk_create([SbomPackage(sbom=sbom, **pkg) for pkg in parsed.packages],
                                        batch_size=_BATCH)
        ids = dict(SbomPackage.objects.filter(sbom=sbom).values_list("bom_ref", "pk"))
        SbomEdge.objects.bulk_create(
            [SbomEdge(sbom=sbom, source_id=ids[s], target_id=ids[t]) for s, t in parsed.edges], batch_size=_BATCH
        )
        audit_append(action="sbom.import", actor=by, obj=sbom, data={
            "component": component.pk, "filename": sbom.filename, "spec_version": sbom.spec_version,
            "sha256": digest, "packages": sbom.package_count, "edges": sbom.edge_count})
    return sbom


def sbom_submit(*, component: Component, filename: str, raw: bytes, by) -> Sbom | ImportJob:
    """Check the file now (errors come back at once); import small files now and large ones on the worker."""
    _require_admin(by)
    if len(raw) <= sync_bytes():
        return sbom_import(component=component, filename=filename, raw=raw, by=by)
    parsed = sbom_parse(raw)
    envelope = json.dumps({"component": component.pk, "document": raw.decode("utf-8-sig")})
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=JOB_KIND, filename=_clean_filename(filename), content=envelope, status=ImportStatus.QUEUED,
            total=len(parsed.packages), created_by=by, created_at=clock.now(),
        )
        audit_append(action="sbom.queue", actor=by, obj=job, data={
            "component": component.pk, "filename": job.filename, "packages": len(parsed.packages)})
        from .tasks import sbom_import_run

        transaction.on_commit(lambda: sbom_import_run.delay(job.pk))
    return job


def job_component_id(job: ImportJob) -> int | None:
    try:
        return int(json.loads(job.content)["component"])
    except (ValueError, KeyError, TypeError):
        return None


def sbom_job_run(job_id: int) -> None:
    """Worker side of sbom_submit: claim the job, import, record the outcome (audited either way)."""
    claimed = ImportJob.objects.filter(pk=job_id, kind=JOB_KIND, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=clock.now(), processed=0)
    if not claimed:
        return  # redelivered: already running or done
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)

    def progress(n):
        ImportJob.objects.filter(pk=job_id).update(processed=min(n, job.total))

    try:
        envelope = json.loads(job.content)
        component = Component.objects.get(pk=envelope["component"])
        raw = envelope["document"].encode("utf-8")
        sbom = sbom_import(component=component, filename=job.filename, raw=raw, by=job.created_by,
                           progress=progress)
    except (ValidationError, Component.DoesNotExist, PermissionDenied, KeyError, ValueError) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else (
            "The component no longer exists." if isinstance(exc, Component.DoesNotExist) else str(exc))
        with transaction.atomic():
            ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.FAILED, error=message[:2000],
                                                       finished_at=clock.now())
            audit_append(action="sbom.failed", actor=job.created_by, obj=job, data={"error": message[:300]})
        return
    with transaction.atomic():
        ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.DONE, processed=job.total,
                                                   created=sbom.package_count, finished_at=clock.now())
        audit_append(action="sbom.done", actor=job.created_by, obj=job, data={"sbom": sbom.pk})


def package_queryset(*, component: Component):
    """Packages of the component's latest SBOM, ordered for a stable page."""
    latest = component.sboms.order_by("-imported_at", "-pk").first()
    if latest is None:
        return SbomPackage.objects.none(), None
    return latest.packages.order_by("name", "group", "version", "pk"), latest
