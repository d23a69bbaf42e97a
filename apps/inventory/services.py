"""Inventory writes: edits by admins and CSV imports — atomic and audited."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from apps.accounts.choices import Role
from apps.audit.services import audit_append, field_diff
from apps.core import clock

from . import importers
from .choices import ImportStatus
from .models import ImportJob


class ImportAborted(Exception):
    """A row could not be written after all (the database refused it): the whole import is rolled back."""


def _require_admin(user) -> None:
    if not user.has_role(Role.ADMIN):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only administrators change the inventory.")


def _snapshot(instance) -> dict:
    return {k: v for k, v in model_to_dict(instance).items() if k != "id"} if instance.pk else {}


def inventory_object_save(*, form, by):
    """Save a validated inventory form (create or update) and audit the field diff."""
    _require_admin(by)
    instance = form.instance
    with transaction.atomic():
        before = {}
        if instance.pk:
            before = _snapshot(type(instance).objects.select_for_update().get(pk=instance.pk))
        obj = form.save()
        after = _snapshot(obj)
        b, a = field_diff(before, after)
        action = f"{obj._meta.model_name}.{'update' if before else 'create'}"
        audit_append(action=action, actor=by, obj=obj, before=b or None, after=a)
    return obj


def inventory_object_delete(*, obj, by) -> None:
    _require_admin(by)
    from django.db.models import ProtectedError

    with transaction.atomic():
        before = _snapshot(obj)
        label, pk = str(obj), obj.pk
        try:
            obj.delete()
        except ProtectedError as exc:
            raise ValidationError(f"{label} is still in use and cannot be deleted.") from exc
        name = obj._meta.model_name
        audit_append(action=f"{name}.delete", actor=by, object_type=f"inventory.{name}", object_id=str(pk),
                     object_repr=label, before=before)


def import_preview(*, kind: str, filename: str, raw: bytes, by) -> ImportJob:
    """Read and check a CSV; the job row keeps the preview and the per-row error report."""
    _require_admin(by)
    from django.conf import settings

    if kind not in importers.SPECS:
        raise ValidationError({"kind": "Choose what the file contains."})
    if len(raw) > settings.IMPORT_MAX_BYTES:
        from django.template.defaultfilters import filesizeformat

        limit = filesizeformat(settings.IMPORT_MAX_BYTES)
        raise ValidationError({"file": f"The file is larger than {limit}; split it into smaller files."})
    try:
        rows = importers.read_csv(raw)
        importers.check_header(kind, rows)
    except importers.CsvError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    _, errors = importers.validate_rows(kind, rows)
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            filename="".join(ch for ch in filename if ch.isprintable())[:200] or "upload.csv",
            content=raw.decode("utf-8-sig"),
            total=len(rows),
            errors=errors,
            created_by=by,
            created_at=clock.now(),
        )
        audit_append(action="import.preview", actor=by, obj=job,
                     data={"kind": kind, "rows": len(rows), "rows_with_errors": len(errors)})
    return job


def import_confirm(*, job: ImportJob, by) -> ImportJob:
    _require_admin(by)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.PREVIEWED:
            raise ValidationError("This import has already been started.")
        if job.errors:
            raise ValidationError("Fix the rows with errors and upload the file again; nothing was imported.")
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["status"])
        audit_append(action="import.confirm", actor=by, obj=job, data={"rows": job.total})
        from .tasks import inventory_import_run

        transaction.on_commit(lambda: inventory_import_run.delay(job.pk))
    return job


def _import_failed(job: ImportJob, *, error: str, errors: list | None = None) -> None:
    with transaction.atomic():
        fields = {"status": ImportStatus.FAILED, "error": error[:2000], "finished_at": clock.now()}
        if errors is not None:
            fields["errors"] = errors
        ImportJob.objects.filter(pk=job.pk).update(**fields)
        audit_append(action="import.failed", actor=job.created_by, obj=job,
                     data={"kind": job.kind, "error": error[:300], "rows_with_errors": len(errors or [])})


def import_run(job_id: int) -> None:
    """Run a confirmed import: check every row again, then write all of them or none."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=clock.now(), processed=0
    )
    if not claimed:
        return  # a redelivered message: the job is already running or done
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)

    def progress(n):
        # progress counts rows checked; it is committed so the page can poll it
        ImportJob.objects.filter(pk=job_id).update(processed=min(n, job.total))

    try:
        rows = importers.read_csv(job.content.encode("utf-8"))
        forms_ok, errors = importers.validate_rows(job.kind, rows, progress=progress)
        if errors:
            _import_failed(job, errors=errors, error="The inventory changed since the preview; some rows are "
                                                     "no longer valid. Nothing was imported.")
            return
        with transaction.atomic():
            created = updated = 0
            for number, form in enumerate(forms_ok, start=1):
                existed = bool(form.instance.pk) if form.instance is not None else False
                try:
                    form.save()
                except (IntegrityError, ValidationError) as exc:
                    # raising rolls back every row saved before this one: all or nothing
                    message = f"Row {number} could not be saved ({exc}). Nothing was imported."
                    raise ImportAborted(message) from exc
                created += 0 if existed else 1
                updated += 1 if existed else 0
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportStatus.DONE, processed=job.total, created=created, updated=updated,
                finished_at=clock.now())
            audit_append(action="import.done", actor=job.created_by, obj=job,
                         data={"kind": job.kind, "created": created, "updated": updated})
    except ImportAborted as exc:
        _import_failed(job, error=str(exc))
    except Exception as exc:
        _import_failed(job, error=f"The import stopped ({type(exc).__name__}). Nothing was imported.")
        raise
