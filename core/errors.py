"""One error type and one DRF exception handler (shared/spec/api.md, "Errors").

Every 4xx/5xx answer of the API has the body::

    {"error": {"code": "seat_unavailable", "message": "...", "details": {...}}}

Services raise :class:`ApplicationError`; DRF's own exceptions (validation, authentication,
throttling, parsing, 404) are converted to the same shape here.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A business-rule failure that the API answers with a 4xx.

    Args:
        code: the machine-readable code of api.md ("seat_unavailable", "hold_expired", ...); the
            same in every language.
        message: a sentence for people, in the request's language (``gettext`` at the raise,
            named placeholders; ``ticketing/tests/test_api_errors_th.py`` asserts every code
            answers in Thai).
        details: extra data (e.g. ``{"seats": ["B-12"]}``).
        status: the HTTP status (default 409 Conflict).
        headers: extra response headers (e.g. ``{"Retry-After": "1"}``).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        status: int = 409,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status
        self.headers = headers or {}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the api.md error body."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(err: ApplicationError) -> Response:
    """Render an :class:`ApplicationError` as a DRF response."""
    return Response(
        error_body(err.code, err.message, err.details), status=err.status, headers=err.headers
    )


def _flatten(detail: Any) -> Any:
    """Turn DRF's ErrorDetail trees into plain strings, lists and dicts."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(value) for value in detail]
    return str(detail)


# DRF's exceptions → (code, message); a message of None keeps the exception's own text (DRF's and
# simplejwt's, translated by their catalogs and ours: ticketing/thirdparty_messages.py).
_DRF_CODES: dict[type[exceptions.APIException], tuple[str, Any]] = {
    exceptions.ParseError: ("malformed_json", _("The request body is not valid JSON.")),
    exceptions.NotAuthenticated: ("not_authenticated", None),
    exceptions.AuthenticationFailed: ("token_invalid", None),
    exceptions.PermissionDenied: ("permission_denied", None),
    exceptions.NotFound: ("not_found", _("Not found.")),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.Throttled: ("rate_limited", None),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: render every error with the api.md body.

    ``ApplicationError`` keeps its code and status. DRF's ``ValidationError`` becomes 400
    ``validation_error`` with ``details`` = field → messages. JWT failures (simplejwt's
    ``InvalidToken``) become 401 ``token_invalid``. Anything else is left to Django (a 500).
    """
    if isinstance(exc, ApplicationError):
        return error_response(exc)
    if isinstance(exc, Ratelimited):
        return Response(
            error_body("rate_limited", gettext("Too many requests; slow down.")),
            status=429,
            headers={"Retry-After": "60"},
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", gettext("The request body is too large.")), status=413
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        if not isinstance(details, dict):
            details = {"non_field_errors": details}
        response.data = error_body(
            "validation_error", gettext("The request is not valid."), details
        )
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code, message = "error", None
    for klass, (known_code, known_message) in _DRF_CODES.items():
        if isinstance(exc, klass):
            code, message = known_code, (str(known_message) if known_message else None)
            break
    if getattr(exc, "default_code", None) == "token_not_valid":
        code = "token_invalid"
    if isinstance(exc, exceptions.APIException) and message is None:
        detail = exc.detail
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        if code == "permission_denied" and message.startswith("CSRF Failed"):
            # DRF's SessionAuthentication: "CSRF Failed: <Django's reason>", not translatable.
            message = gettext("The CSRF token is missing or wrong; reload the page and try again.")
    response.data = error_body(code, message or gettext("Request failed."))
    return response
