"""Request guards that answer before any view runs, and the overload answer (issue #14)."""

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.errors import error_body

from .bodylimit import body_limit, too_large_body
from .i18n import request_language
from .overload import overload_kind, overload_response


class BodySizeLimitMiddleware:
    """Refuse a request whose declared ``Content-Length`` is over its path's limit
    (:func:`ticketing.bodylimit.body_limit`: 64 KiB for the API, 10 MiB for the admin, 256 KiB
    elsewhere) with 413 ``payload_too_large`` (api.md "Errors"), before the body is read.

    Under the ASGI servers :class:`ticketing.bodylimit.BodyLimitMiddleware` has already done this
    (and counts streamed bodies); this is the same rule for in-process clients (the test client).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request.path)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            # Before LanguageMiddleware: the answer is in the request's language all the same.
            language = request_language(request)
            with translation.override(language):
                body = too_large_body(limit)
            response = HttpResponse(body, status=413, content_type="application/json")
            response["Content-Language"] = language
            return response
        return self.get_response(request)


def _path_bytes(request: HttpRequest) -> bytes:
    """The request path as the client sent it, percent-decoded to bytes (ASGI ``raw_path``, WSGI
    ``PATH_INFO``, whose characters are the path's bytes: PEP 3333)."""
    scope = getattr(request, "scope", None)
    if scope is not None:
        raw = scope.get("raw_path")
        if raw:
            return unquote_to_bytes(raw.split(b"?", 1)[0])
        return scope.get("path", "").encode("utf-8", "surrogateescape")
    return request.META.get("PATH_INFO", "").encode("latin-1", "replace")


def _malformed(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def malformed_part(request: HttpRequest) -> str | None:
    """Which part of ``request`` is malformed, or None: ``"path"`` or ``"query"`` when, once
    percent-decoded, it holds a NUL byte or is not UTF-8 (RFC 3986 §2.5); ``"cookie"`` when a
    cookie other than the session cookie holds a NUL (after Django's unquoting of ``"\\000"``);
    ``"header"`` when a header value holds a NUL (RFC 9110 §5.5; the servers refuse raw ones).

    The session cookie is left to the session engine, which treats a value that is not a session
    key as no session (``ticketing/sessions.py``), so a browser with a broken cookie recovers by
    signing in again."""
    if _malformed(_path_bytes(request)):
        return "path"
    if _malformed(unquote_to_bytes(request.META.get("QUERY_STRING", ""))):
        return "query"
    for name, value in request.COOKIES.items():
        if name != settings.SESSION_COOKIE_NAME and ("\x00" in name or "\x00" in value):
            return "cookie"
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return "header"
    return None


# The 400 sentence for each part :func:`malformed_part` names.
_MALFORMED = {
    "path": _("The request's path holds a NUL byte or bytes that are not UTF-8."),
    "query": _("The request's query holds a NUL byte or bytes that are not UTF-8."),
    "cookie": _("The request's cookie holds a NUL byte or bytes that are not UTF-8."),
    "header": _("The request's header holds a NUL byte or bytes that are not UTF-8."),
}


class MalformedRequestMiddleware:
    """Answer 400 to a request with a NUL byte or undecodable bytes in its path or query string, or
    a NUL in a cookie or header (:func:`malformed_part`), before any view or database query sees
    it (PostgreSQL refuses NUL in text: a ``DataError``, a 500, was the answer). Under ``/api/``
    the api.md error body ``{"error": {"code": "malformed_request", "details": {"part": ...}}}``;
    a plain text 400 elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        part = malformed_part(request)
        if part is None:
            return self.get_response(request)
        # Before LanguageMiddleware: the answer is in the request's language all the same.
        language = request_language(request)
        with translation.override(language):
            message = str(_MALFORMED[part])
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(
                error_body("malformed_request", message, {"part": part}), status=400
            )
        else:
            response = HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        response["Content-Language"] = language
        return response


class OverloadMiddleware:
    """A view (DRF's included: its exception handler passes these on) that failed because the
    database could not serve it now (pool timeout, refused connection, lock or statement timeout:
    :func:`ticketing.overload.overload_kind`) is answered 503 ``unavailable`` with
    ``Retry-After`` instead of a 500 (api.md "Errors"). Last in ``MIDDLEWARE``, so it is asked
    first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        kind = overload_kind(exception)
        return overload_response(request, kind) if kind else None
