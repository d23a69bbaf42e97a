import contextvars
import zoneinfo

from django.utils import timezone

_current_request = contextvars.ContextVar("tollgate_request", default=None)


def current_request():
    return _current_request.get()


def client_ip(request) -> str | None:
    if request is None:
        return None
    # Behind the load balancer the first X-Forwarded-For hop is the client.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip()[:45] or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Keeps the current request reachable for the audit trail (IP, actor)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


class UserTimezoneMiddleware:
    """Shows every time in the reader's own time zone (stored in UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        tzname = getattr(user, "timezone", "") if user is not None and user.is_authenticated else ""
        if tzname:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tzname))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Every response says: scripts, styles, fonts and images come from our own origin only.

    No 'unsafe-inline': templates carry no inline script, event handler or style attribute (a test scans
    them), htmx is told not to inject its indicator style, and the API docs load their start-up script
    as a file. Installations are often offline, so nothing may come from a CDN either.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


DATABASE_UNAVAILABLE = "Tollgate cannot reach its database right now, so this request was not carried out."


def _database_down(exc) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


def _mark_database_down(sender, request=None, **kwargs):
    """got_request_exception: remember that a 500 was caused by the database (the exception is live here)."""
    import sys

    if request is not None and _database_down(sys.exc_info()[1]):
        request._tollgate_database_down = True


class DatabaseUnavailableMiddleware:
    """A database outage (a restart, a failover, a dropped connection) is a clean 503, not a 500 trace.

    A transaction cut off by the outage is rolled back by PostgreSQL, so the reader is told that the request
    was not carried out and to try again; `Retry-After` says when. The page is rendered without the
    request context (the navigation would query the database again). It catches the error wherever it is
    raised: in the view (process_exception), in a middleware further in (the session or the user), or in
    the 500 handler itself.
    """

    RETRY_AFTER = 30

    def __init__(self, get_response):
        from django.core.signals import got_request_exception

        self.get_response = get_response
        got_request_exception.connect(_mark_database_down, dispatch_uid="tollgate-database-down")

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except Exception as exc:
            if not _database_down(exc):
                raise
            return self.unavailable(request, exc)
        if response.status_code == 500 and getattr(request, "_tollgate_database_down", False):
            return self.unavailable(request, None)
        return response

    def process_exception(self, request, exception):
        if _database_down(exception):
            return self.unavailable(request, exception)
        return None

    def unavailable(self, request, exc):
        import logging

        from django.http import HttpResponse, JsonResponse
        from django.template.loader import render_to_string

        logging.getLogger("tollgate.unavailable").warning(
            "503 for %s %s: the database is unavailable (%s)", request.method, request.path[:200],
            f"{type(exc).__name__}: {exc}"[:300] if exc is not None else "see the error above")
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            response = JsonResponse({"detail": f"{DATABASE_UNAVAILABLE} Try again in a minute."}, status=503)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": DATABASE_UNAVAILABLE}),
                                    status=503)
        response["Retry-After"] = str(self.RETRY_AFTER)
        response["Cache-Control"] = "no-store"
        return response


NUL_MESSAGE = "The text contains a NUL character; remove it."


def _nul_field(value, path: str = "") -> str | None:
    """The first field (dotted path) whose name or text holds a NUL character, or None."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return name.replace("\x00", "\\x00")
            found = _nul_field(item, name)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_field(item, f"{path}[{i}]")
            if found:
                return found
    return None


class InputGuardMiddleware:
    """API input PostgreSQL or the size limit would otherwise turn into a 500: a NUL character in a query
    parameter, a form field or a JSON string (400 naming the field), and a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE (413). Uploaded files are bytes and may hold NULs; their names may not.
    Pages are left to their forms, which show a NUL character as an error on the field."""

    JSON_TYPES = ("application/json", "application/merge-patch+json")
    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
        from django.http.multipartparser import MultiPartParserError

        if not request.path.startswith("/api/"):
            return self.get_response(request)  # pages: their forms name a NUL character as a field error
        try:
            field = self._nul_in(request)
        except RequestDataTooBig:
            return self._refuse(request, 413, "body", "The request body is larger than this server accepts.")
        except (SuspiciousOperation, MultiPartParserError) as exc:
            return self._refuse(request, 400, "body", f"The request could not be read: {exc}"[:300])
        if field:
            return self._refuse(request, 400, field, NUL_MESSAGE)
        return self.get_response(request)

    def _nul_in(self, request) -> str | None:
        import io
        import json

        from django.http import QueryDict

        found = _nul_field({k: request.GET.getlist(k) for k in request.GET})
        if found:
            return found.split("[")[0]
        if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") and not request.META.get("CONTENT_LENGTH"):
            return None
        content_type = request.content_type or ""
        if content_type in self.JSON_TYPES:
            try:
                data = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                return None  # malformed JSON: the API's parser answers 400 with its own words
            return _nul_field(data)
        if content_type in self.FORM_TYPES and request.method in ("POST", "PUT", "PATCH"):
            if request.method == "POST":
                data, files = request.POST, request.FILES
            elif content_type == "multipart/form-data":  # Django parses the form bodies of POST only
                data, files = request.parse_file_upload(request.META, io.BytesIO(request.body))
            else:
                data, files = QueryDict(request.body, encoding=request.encoding), {}
            found = _nul_field({k: data.getlist(k) for k in data})
            if not found and files:
                found = next((f"{k}" for k, items in files.lists()
                              for f in items if "\x00" in (f.name or "")), None)
            return found.split("[")[0] if found else None
        return None

    @staticmethod
    def _refuse(request, status: int, field: str, message: str):
        from django.http import JsonResponse

        return JsonResponse({field: [message]}, status=status)
