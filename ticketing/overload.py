"""Overload: a database that cannot serve a request now is a 503, never a 500 (issue #14).

:func:`overload_kind` recognises, anywhere in an exception's chain (Django wraps the driver's
error as ``__cause__``):

=====================  =================================================================  ======
kind                   what                                                               wait
=====================  =================================================================  ======
``pool_timeout``       no connection free in the psycopg pool within                      1 s
                       ``DB_POOL_TIMEOUT_SECONDS`` (also what a refused connect looks
                       like through the pool: the pool keeps trying until the timeout)
``connection_refused`` connecting failed or the connection broke (SQLSTATE class 08,       5 s
                       53 "insufficient resources" such as a role's ``CONNECTION LIMIT``,
                       57P01–57P03 shutdown/starting up, or no SQLSTATE at all)
``lock_timeout``       PostgreSQL ``lock_timeout`` (55P03) or SQLite's busy timeout        1 s
                       ("database is locked")
``statement_timeout``  PostgreSQL ``statement_timeout`` or a cancel (57014)               1 s
=====================  =================================================================  ======

:func:`overload_response` answers 503 ``unavailable`` with ``Retry-After`` (seconds, the column
above): the api.md error body under ``/api/``, a plain text page elsewhere. Each answer is counted
in ``seatline_overload_responses_total{kind}`` (``/metrics``, per process).

Lock waits that the seat services expect are not overload: ``seats.locks.run_in_transaction``
answers those 409 ``busy`` with ``Retry-After`` (docs/concurrency.md) before they get here.
"""

from __future__ import annotations

import sqlite3

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext
from prometheus_client import Counter

from core.errors import error_body

from .i18n import request_language

RETRY_AFTER_SECONDS = {
    "pool_timeout": 1,
    "connection_refused": 5,
    "lock_timeout": 1,
    "statement_timeout": 1,
}

responses = Counter(
    "seatline_overload_responses",
    "Requests answered 503 because the database could not serve them now, by "
    "kind (pool_timeout, connection_refused, lock_timeout, statement_timeout).",
    ["kind"],
)
for _kind in RETRY_AFTER_SECONDS:
    responses.labels(_kind)  # every kind shows at /metrics from the start, at 0

try:
    import psycopg
    from psycopg_pool import PoolTimeout
except ImportError:  # SQLite-only installation
    psycopg = None  # type: ignore[assignment]  # checked before use
    PoolTimeout = None  # type: ignore[assignment,misc]  # checked before use


def _kind_of(exc: BaseException) -> str | None:
    if isinstance(exc, sqlite3.OperationalError):
        return "lock_timeout" if "database is locked" in str(exc) else None
    if psycopg is None or not isinstance(exc, psycopg.OperationalError):
        return None
    if isinstance(exc, PoolTimeout):
        return "pool_timeout"
    state = getattr(exc, "sqlstate", None)
    if state == "55P03":
        return "lock_timeout"
    if state == "57014":
        return "statement_timeout"
    if state is None or state[:2] in ("08", "53") or state in ("57P01", "57P02", "57P03"):
        return "connection_refused"
    return None


def overload_kind(exc: BaseException) -> str | None:
    """The overload kind of ``exc`` (a key of :data:`RETRY_AFTER_SECONDS`), looking through its
    ``__cause__``/``__context__`` chain; None for any other error (a bug: still a 500)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = _kind_of(current)
        if kind is not None:
            return kind
        current = current.__cause__ or current.__context__
    return None


def overload_response(request: HttpRequest, kind: str) -> HttpResponse:
    """503 for ``kind`` with ``Retry-After``; counted. JSON ``{"error": {"code": "unavailable",
    ...}}`` (api.md "Errors") under ``/api/``, plain text elsewhere."""
    responses.labels(kind).inc()
    wait = RETRY_AFTER_SECONDS[kind]
    # LanguageMiddleware may not have run (an overload met in an earlier middleware).
    language = getattr(request, "LANGUAGE_CODE", None) or request_language(request)
    with translation.override(language):
        message = gettext("The service is overloaded right now; please try again shortly.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("unavailable", message, {"kind": kind}), status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    response["Content-Language"] = language
    return response
