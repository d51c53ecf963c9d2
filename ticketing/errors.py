"""The project's 404 and 500 answers (``handler404``/``handler500`` in ``ticketing.urls``): the
api.md error body (:func:`core.errors.error_body`) under ``/api/``, Django's pages elsewhere."""

from __future__ import annotations

import sys

from django.http import JsonResponse
from django.utils.translation import gettext
from django.views import defaults

from core.errors import error_body

from .overload import overload_kind, overload_response


def handler404(request, exception=None):
    """404 for URLs that match no route: the api.md error body under ``/api/``, Django's page
    elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", gettext("Not found.")), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    """500 (a bug: never expected): the api.md error body under ``/api/``, Django's page
    elsewhere. An overloaded database met outside a view (in a middleware) is still a 503
    (``ticketing.overload``; views get it from ``OverloadMiddleware``): Django calls this while
    handling the exception, so ``sys.exc_info()`` names it."""
    exc = sys.exc_info()[1]
    kind = overload_kind(exc) if exc is not None else None
    if kind:
        return overload_response(request, kind)
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", gettext("Internal error.")), status=500)
    return defaults.server_error(request)
