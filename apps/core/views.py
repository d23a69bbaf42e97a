from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import inbox


def home(request):
    if request.user.is_authenticated:
        return redirect("core:my-work")
    return redirect("login")


# a group shows its first items on the overview; "Show all" opens that kind alone, a page at a time
GROUP_PREVIEW = 10
KIND_PAGE_SIZE = 50


@login_required
def my_work(request):
    items = inbox.items_for_request(request)
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    kind = request.GET.get("kind", "").replace("\x00", "")[:100]
    if kind:
        chosen = groups.get(kind, [])
        page = Paginator(chosen, KIND_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "core/my_work_kind.html", {"kind": kind, "page": page, "total": len(items)})
    shown = [{"kind": k, "items": v[:GROUP_PREVIEW], "count": len(v), "more": len(v) - GROUP_PREVIEW}
             for k, v in groups.items()]
    return render(request, "core/my_work.html", {"groups": shown, "total": len(items)})


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def _broker_ok() -> tuple[bool, str]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # any failure means not ready
        return False, f"{type(exc).__name__}: {exc}"[:200]


@never_cache
@require_GET
def readyz(request):
    """Readiness: the database and the broker answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"{type(exc).__name__}: {exc}"[:200]
    ok, detail = _broker_ok()
    checks["broker"] = detail
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def permission_denied(request, exception=None):
    """Every refused page is audited with what was refused, then explained to the reader."""
    from apps.audit.services import audit_append

    reason = str(exception) if exception and str(exception) else "You do not have permission to open this page."
    audit_append(action="access.denied", data={"path": request.path[:300], "method": request.method,
                                               "reason": reason[:300]})
    return render(request, "403.html", {"reason": reason}, status=403)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        from .api import not_found_json

        return not_found_json(request, exception)
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
