"""Pages of the evidence packs: one page per upgrade request, its progress (htmx) and the audited download."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import evidence
from .choices import ReportStatus


def _context(request, upgrade, **extra):
    packs = evidence.evidence_packs_of(upgrade)
    return {"upgrade": upgrade, "packs": packs, "latest": packs[0] if packs else None, **extra}


@login_required
def evidence_page(request, reference):
    upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
    return render(request, "reporting/evidence.html", _context(request, upgrade))


@require_POST
@login_required
def evidence_request(request, reference):
    upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
    try:
        pack, created = evidence.evidence_pack_request(request=upgrade, by=request.user)
    except ValidationError as exc:
        return render(request, "reporting/evidence.html",
                      _context(request, upgrade, errors=[m for ms in exc.message_dict.values() for m in ms]),
                      status=400)
    if created:
        messages.success(request, "The evidence pack is being built. This page shows its progress.")
    else:
        messages.info(request, "An evidence pack of this request is already being built: here is its "
                               "progress.")
    return redirect("reporting:evidence", upgrade.reference)


@login_required
def evidence_status(request, reference, pk):
    upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
    pack = evidence.evidence_pack_get(request=upgrade, pk=pk)
    response = render(request, "reporting/evidence_status.html", {"pack": pack, "upgrade": upgrade})
    if pack.status in (ReportStatus.DONE, ReportStatus.FAILED):
        response["HX-Trigger"] = "evidence-finished"
    return response


@login_required
def evidence_download(request, reference, pk):
    upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
    pack = evidence.evidence_pack_get(request=upgrade, pk=pk)
    try:
        handle = evidence.evidence_pack_download(pack=pack, by=request.user)
    except ValidationError:
        raise Http404("The evidence pack is not ready.") from None
    return FileResponse(handle, as_attachment=True, filename=pack.file.name.rsplit("/", 1)[-1],
                        content_type="application/zip")
