"""The artifact kinds Tollgate keeps for a limited time.

The audit app is a lower layer and imports no higher app: the other apps' models are
looked up by name (`apps.get_model`) when a query runs, so nothing here imports them.
"""

from django.apps import apps

from .retention import AUDIT_EVENTS, register_kind


def _model(label: str):
    app_label, model_name = label.split(".")
    return apps.get_model(app_label, model_name)


def _installed(label: str) -> bool:
    try:
        _model(label)
    except LookupError:
        return False
    return True


def register_default_kinds() -> None:
    from .models import AuditEvent

    register_kind(AUDIT_EVENTS, "Audit events", queryset_fn=lambda: AuditEvent.objects.all(),
                  age_field="created_at")
    if _installed("upgrades.Attachment"):
        register_kind(
            "attachments", "Attachments",
            queryset_fn=lambda: _model("upgrades.Attachment").objects.select_related("request"),
            age_field="uploaded_at", region_field="request__items__system__region",
            request_field="request_id",
            file_fields=("file",), hash_fields={"file": "sha256"},
            label_fn=lambda a: f"{a.filename} ({a.request.reference})",
        )
    if _installed("configuration.Snapshot"):
        register_kind(
            "snapshots", "Configuration snapshots",
            queryset_fn=lambda: _model("configuration.Snapshot").objects.select_related(
                "system", "environment"),
            age_field="taken_at", region_field="system__region", request_field="request_id",
            label_fn=lambda s: f"{s.system.name} / {s.environment.name}: {s.tag}",
        )
    if _installed("reporting.Report"):
        register_kind(
            "reports", "Reports",
            queryset_fn=lambda: _model("reporting.Report").objects.all(),
            age_field="created_at", file_fields=("pdf", "csv"),
            hash_fields={"pdf": "pdf_sha256", "csv": "csv_sha256"},
            label_fn=lambda r: f"Report #{r.pk} of {r.created_at:%Y-%m-%d}",
        )
    if _installed("execution.CheckResult"):
        register_kind(
            "health_results", "Health-check results",
            queryset_fn=lambda: _model("execution.CheckResult").objects.select_related(
                "run", "health_check__endpoint__system"),
            age_field="checked_at", region_field="health_check__endpoint__system__region",
            request_field="run__request_id",
            label_fn=lambda r: f"{r.health_check.endpoint.system.name}: {r.health_check.name} ({r.status})",
        )
