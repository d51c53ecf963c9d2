"""OpenAPI helpers: the api.md error body and the documented error responses of each endpoint.

Every 4xx answer of the API has the body ``{"error": {"code", "message", "details"}}``
(:mod:`core.errors`). Views declare which statuses and codes they may answer with::

    @extend_schema(
        responses={201: HoldSerializer, **errors(
            (400, "validation_error", "unknown_seats", "too_many_seats", "malformed_json"),
            AUTH, CSRF, 404, (409, "seat_unavailable", "sales_closed", "busy"), 413, 415, 429)},
        parameters=[retry_after(409, 429)],
    )

A bare status takes the codes of :data:`DEFAULT_CODES`; a tuple ``(status, code, ...)`` names the
codes of that endpoint. The description of each response lists its codes, for people and clients.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

# The codes a status stands for when a view names the status alone (api.md "Errors").
DEFAULT_CODES: dict[int, tuple[str, ...]] = {
    400: ("validation_error", "malformed_json"),
    401: ("not_authenticated", "token_invalid"),
    403: ("permission_denied",),
    404: ("not_found",),
    409: ("busy",),
    413: ("payload_too_large",),
    415: ("unsupported_media_type",),
    422: ("idempotency_key_reuse",),
    429: ("rate_limited",),
}

# Notes added to a code in the descriptions.
CODE_NOTES: dict[str, str] = {
    "validation_error": "details: field → messages; a seat listed twice, in any spelling of its "
    "GUID, is one (details.seats)",
    "seat_unavailable": "details.seats: the seats that were taken",
    "buyer_limit": "a per-buyer cap of the showtime; details: cap (max_seats_per_buyer or "
    "max_pending_orders_per_buyer), limit, current, requested",
    "busy": "lock contention; retry after Retry-After seconds",
    "extension_limit": "the hold was extended max_hold_extensions times or reached "
    "max_expires_at; details: extensions, max_extensions, max_expires_at",
    "idempotency_in_progress": "retry after Retry-After seconds",
    "rate_limited": "retry after Retry-After seconds",
    "permission_denied": "a session-authenticated request without a valid CSRF token",
}

# Shorthands for the usual sets.
AUTH = (401, "not_authenticated", "token_invalid")
# Endpoints open to everybody still refuse a forged or expired Bearer token.
BAD_TOKEN = (401, "token_invalid")
# The API accepts a Django session too; an unsafe request on a session needs the CSRF token.
CSRF = (403, "permission_denied")
# The writes that take seats, on a showtime whose waiting room is on (docs/waiting-room.md).
CSRF_QUEUE = (403, "permission_denied", "queue_required")


class ErrorBodySerializer(serializers.Serializer):
    """The inside of an error answer."""

    code = serializers.CharField(
        help_text="Machine-readable code; each response lists the codes it may carry."
    )
    message = serializers.CharField(help_text="A sentence for people.")
    details = serializers.DictField(
        help_text='Extra data, e.g. {"seats": ["B-12"]} or field → messages; may be empty.'
    )


class ErrorSerializer(serializers.Serializer):
    """Every 4xx/5xx answer: ``{"error": {"code", "message", "details"}}`` (api.md "Errors")."""

    error = ErrorBodySerializer()


def _describe(codes: tuple[str, ...]) -> str:
    return ", ".join(
        f"{code} ({CODE_NOTES[code]})" if code in CODE_NOTES else code for code in codes
    )


def errors(*specs: int | tuple) -> dict[int, OpenApiResponse]:
    """Error responses for ``extend_schema(responses=...)``.

    Each spec is a status (its :data:`DEFAULT_CODES`) or a tuple ``(status, code, ...)``. The
    response body is :class:`ErrorSerializer`; the description lists the possible codes.
    """
    responses: dict[int, OpenApiResponse] = {}
    for spec in specs:
        if isinstance(spec, int):
            status, codes = spec, DEFAULT_CODES[spec]
        else:
            status, codes = spec[0], tuple(spec[1:])
        if status in responses:
            raise ValueError(f"status {status} given twice")
        responses[status] = OpenApiResponse(response=ErrorSerializer, description=_describe(codes))
    return responses


def retry_after(*statuses: int) -> OpenApiParameter:
    """The ``Retry-After`` response header (seconds) of the given statuses."""
    return OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=list(statuses),
        description="Seconds to wait before trying again (409 busy/idempotency_in_progress, 429).",
    )


def path_id(kind: OpenApiTypes, description: str) -> OpenApiParameter:
    """The ``{id}`` path parameter of a viewset's detail routes, typed (the routes accept any one
    path segment, so that a malformed id is answered with the API's 404 body)."""
    return OpenApiParameter("id", kind, OpenApiParameter.PATH, description=description)


# Answers any API operation may give, whatever its view (issue #14): added to every operation by
# :func:`add_common_errors` (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``).
COMMON_400 = "malformed_request (a NUL byte or bytes that are not UTF-8 in the path, query, a cookie or a header)"
COMMON_503 = (
    "unavailable (the database cannot serve the request now: details.kind; retry after "
    "Retry-After seconds)"
)


def add_common_errors(result, generator, request, public):  # noqa: ARG001 (a spectacular hook)
    """drf-spectacular post-processing hook: every operation lists 400 ``malformed_request``
    (``ticketing.middleware.MalformedRequestMiddleware``) and 503 ``unavailable`` with
    ``Retry-After`` (``ticketing.overload``), in the api.md error body."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    retry = {
        "Retry-After": {
            "schema": {"type": "integer"},
            "description": "Seconds to wait before trying again.",
        }
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses")
            if not isinstance(responses, dict):
                continue
            if "400" in responses:
                responses["400"]["description"] += ", " + COMMON_400
            else:
                responses["400"] = {"content": error, "description": COMMON_400}
            if "503" not in responses:  # health/ documents its own 503
                responses["503"] = {"content": error, "description": COMMON_503, "headers": retry}
    return result


# The language of the answers (issue #17; ticketing/i18n.py, docs/api.md "Languages").
LANGUAGE_PARAMETERS = [
    {
        "in": "header",
        "name": "Accept-Language",
        "required": False,
        "schema": {"type": "string"},
        "example": "th-TH,th;q=0.9,en;q=0.5",
        "description": "The language of the human-readable texts of the answer (error.message and "
        "the messages in error.details): `th` (Thai, `th-TH` too) or `en`. A signed-in buyer's "
        "saved language and `lang` come first. Codes and field names never change.",
    },
    {
        "in": "query",
        "name": "lang",
        "required": False,
        "schema": {"type": "string", "enum": ["en", "th"]},
        "description": "The language of the answer, before `Accept-Language` (it also sets the "
        "language cookie for later requests).",
    },
]
CONTENT_LANGUAGE = {
    "schema": {"type": "string", "enum": ["en", "th"]},
    "required": True,
    "description": "The language of the answer's human-readable texts (RFC 9110 §8.5).",
}


def add_language(result, generator, request, public):  # noqa: ARG001 (a spectacular hook)
    """drf-spectacular post-processing hook: every operation takes ``Accept-Language`` and
    ``?lang=`` (``ticketing.i18n``), and every answer says its language in ``Content-Language``."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.setdefault("parameters", [])
            named = {(p.get("in"), p.get("name")) for p in parameters}
            parameters.extend(
                dict(p) for p in LANGUAGE_PARAMETERS if (p["in"], p["name"]) not in named
            )
            for response in operation["responses"].values():
                response.setdefault("headers", {}).setdefault(
                    "Content-Language", dict(CONTENT_LANGUAGE)
                )
    return result


QUEUE_PASS = OpenApiParameter(
    "X-Queue-Pass",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The buyer's waiting-room pass (`pass` of `GET showtimes/{id}/queue/`), needed "
    "while the showtime's waiting room is on; without a valid one: 403 `queue_required`.",
)
