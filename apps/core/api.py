"""API plumbing shared by every app: refusals become clear 400/403/404/409 answers."""

import drf_spectacular.openapi
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    from apps.accounts.duties import DutyRefused
    from apps.upgrades.services import TransitionRefused

    if isinstance(exc, TransitionRefused):
        return Response({"detail": "Transition refused.", "transition": exc.transition, "reasons": exc.reasons},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DutyRefused):
        return Response({"detail": "Refused.", "reasons": exc.reasons}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        else:
            body = {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (ProtectedError, RestrictedError)):
        # still referenced (an evidence pack, a run ...): the row must stay, the client learns why
        objects = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        names = sorted({str(obj._meta.verbose_name) for obj in objects})
        return Response({"detail": "It is still referenced and cannot be deleted.", "referenced_by": names},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, PermissionDenied) and not exc.args:
        exc = PermissionDenied("You do not have permission to do this.")
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 403:
        from apps.audit.services import audit_append

        request = context.get("request")
        audit_append(action="api.denied", data={"path": request.path if request else "", "detail": str(exc)[:300]})
    return response


def query_flag(request, name: str) -> bool:
    """A yes/no query parameter: true/1/yes or false/0/no (absent or empty: no); anything else is a 400 naming
    it."""
    from rest_framework.exceptions import ValidationError

    value = request.query_params.get(name, "")
    if value in ("", "0", "false", "False", "no"):
        return False
    if value in ("1", "true", "True", "yes"):
        return True
    raise ValidationError({name: ["Use true or false."]})


def query_choice(request, name: str, choices, default: str = "") -> str:
    """A query parameter that is one of `choices` (absent or empty: `default`); anything else is a 400 naming it."""
    from rest_framework.exceptions import ValidationError

    value = request.query_params.get(name, "") or default
    if value and value not in choices:
        raise ValidationError({name: [f"Use one of: {', '.join(choices)}."]})
    return value


def not_found_json(request, exception=None):
    """A 404 under /api/ (an unknown path, a path parameter of the wrong shape) answers JSON like the API."""
    from django.http import JsonResponse

    return JsonResponse({"detail": "Not found."}, status=404)


ERROR_CODES = {
    "400": "The input was refused; the body names each field and why.",
    "401": "No valid token or session.",
    "403": "Not allowed for this account.",
    "404": "No such object, or not visible to this account (also a page number past the end).",
    "409": "Refused in the object's current state (a transition, a duty, a reference that must stay).",
    "413": "The request body is larger than this server accepts.",
    "415": "Unsupported media type.",
    "429": "Too many requests; wait and retry.",
}


def schema_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the error answers any API view can give
    (refused input, no token, denied, not found, conflict, too big, throttled) with the JSON object it sends,
    unless the view already documents that code."""
    error = {"type": "object", "additionalProperties": True,
             "description": "`detail` and/or one list of messages per refused field."}
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = error
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_CODES.items():
                if code in ("413", "415") and method in ("get", "delete"):
                    continue
                responses.setdefault(code, {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                })
    return result


def schema_blank_filters(result, generator, request, public):
    """drf-spectacular postprocessing hook: a list's optional filters of a typed value (a choice, yes/no, a
    number, a date) are documented with `allowEmptyValue`, because a blank one (`?criticality=`, as an HTML form
    sends "any") means no filter, as if it were left out. The page number is not a filter: a blank page is 404."""
    for path_item in result.get("paths", {}).values():
        operation = path_item.get("get")
        if not operation:
            continue
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            typed = "enum" in schema or schema.get("type") != "string" or "format" in schema
            if (parameter.get("in") == "query" and not parameter.get("required") and typed
                    and parameter.get("name") != "page"):
                parameter["allowEmptyValue"] = True
    return result


BLANKABLE = (serializers.URLField, serializers.EmailField)  # formatted strings a blank model field sends as ""


class AutoSchema(drf_spectacular.openapi.AutoSchema):
    """drf-spectacular's schema, true to what the serializers send back:

    - a read-only field with a dotted source (`author.username`) is null when the relation is empty;
    - a URL or e-mail field sends "" (not a URI, no address) when the model's field is blank;
    - a viewset's own actions (`/upgrades/{reference}/comments/`) answer a plain list: only `list` pages.
    """

    def _get_paginator(self):
        action = getattr(self.view, "action", None)
        if action is not None and action != "list":
            return None
        return super()._get_paginator()

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions=bypass_extensions)
        if not isinstance(schema, dict) or direction != "response":
            return schema
        source = getattr(field, "source", "") or ""
        if field.read_only and "." in source and "$ref" not in schema and schema.get("type") != "array":
            schema["nullable"] = True
        if isinstance(field, BLANKABLE) and schema.get("format"):
            schema.pop("format")  # a blank model URL or e-mail address is sent as ""
        return schema

    def _insert_field_validators(self, field, schema):
        """The URL and e-mail validators would put back the `format` dropped above for answers."""
        dropped = isinstance(field, BLANKABLE) and schema.get("type") == "string" and "format" not in schema
        super()._insert_field_validators(field, schema)
        if dropped:
            schema.pop("format", None)
