"""The project's URLs plus `bench/floor/?rows=N`: a bare Django view rendering a table of N upgrade requests.

The floor is what Django itself costs for a page of that size (middleware, sessions, one values() query, a
minimal template): page times are reported as a ratio to it. `ServerTimingMiddleware` adds
`Server-Timing: app;dur=<ms>` to every response, so clients read server time without network noise.
"""

import time

from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.urls import path

from config.urls import handler403, handler404, handler500, urlpatterns as project_urls  # noqa: F401

FLOOR = Template("""<!doctype html><html><head><title>Floor</title></head><body><table>
<thead><tr><th>Reference</th><th>Title</th><th>State</th><th>Risk</th><th>Requester</th><th>Window</th>
<th>Created</th></tr></thead><tbody>{% for r in rows %}
<tr><td><a href="/upgrades/{{ r.reference }}/">{{ r.reference }}</a></td><td>{{ r.title }}</td>
<td>{{ r.state }}</td><td>{{ r.risk_class }}</td><td>{{ r.requester__username }}</td>
<td>{{ r.window_start|date:"Y-m-d H:i" }}</td><td>{{ r.created_at|date:"Y-m-d H:i" }}</td></tr>{% endfor %}
</tbody></table></body></html>""")


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.2f}"
        return response


def floor(request: HttpRequest) -> HttpResponse:
    from apps.upgrades.models import UpgradeRequest

    try:
        rows = max(0, min(int(request.GET.get("rows", "50")), 10_000))
    except ValueError:
        rows = 50
    values = UpgradeRequest.objects.order_by("-created_at").values(
        "reference", "title", "state", "risk_class", "requester__username", "window_start", "created_at")[:rows]
    return HttpResponse(FLOOR.render(Context({"rows": list(values)})))


urlpatterns = [path("bench/floor/", floor, name="bench-floor"), *project_urls]
