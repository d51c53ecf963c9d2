"""Request body limits, enforced while the body streams in (issue #14, api.md "Errors": 413).

One rule, :func:`body_limit`, gives the largest body (bytes) a path accepts:

- ``/api/``: ``API_MAX_BODY_BYTES`` (64 KiB): the largest real API body (an order with ten seats and
  a customer) is about 2 KiB;
- ``/admin/``: ``ADMIN_UPLOAD_MAX_BYTES`` (10 MiB): a seating-plan upload (the largest real plan is
  about 0.5 MB);
- anything else (sign-in, sign-up, the staff pages): ``MAX_REQUEST_BODY_BYTES`` (256 KiB).

Three places apply it, so that no body over the limit is ever read to its end, let alone spooled to
disk:

- :class:`BodyLimitMiddleware`, the outermost ASGI layer for HTTP (``ticketing/asgi.py``), under
  every ASGI server: a declared ``Content-Length`` over the limit is answered 413 before a byte of
  the body is read; a streamed body (``Transfer-Encoding: chunked``, RFC 9112 §7.1, or one whose
  length was not declared) is counted message by message and answered 413 as soon as the running
  total passes the limit. The application is told the client went away (``http.disconnect``), so
  Django stops reading (``RequestAborted``) before its spool file (``FILE_UPLOAD_MAX_MEMORY_SIZE``)
  would reach the disk, and the server stops reading from the socket (uvicorn pauses a connection
  whose unread body passes 64 KiB).
- :mod:`ticketing.daphne_limits` does the same inside daphne, which reads a whole request body
  (into a temporary file for a chunked one) before it calls the application.
- :class:`ticketing.middleware.BodySizeLimitMiddleware` checks ``Content-Length`` once more inside
  Django, for in-process clients (the test client) that bypass the ASGI layer.

The 413 answer (RFC 9110 §15.5.14 "Content Too Large") has the api.md error body
``{"error": {"code": "payload_too_large", "message", "details": {"limit_bytes": N}}}`` and
``Connection: close``: the rest of the body is never read, so the connection cannot carry another
request (RFC 9112 §9.6).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext

from core.errors import error_body

from .i18n import request_language


def body_limit(path: str) -> int:
    """The largest request body, in bytes, that ``path`` (the decoded URL path, without the query)
    accepts: ``API_MAX_BODY_BYTES`` under ``/api/``, ``ADMIN_UPLOAD_MAX_BYTES`` under ``/admin/``,
    ``MAX_REQUEST_BODY_BYTES`` elsewhere (settings, read at each request)."""
    if path.startswith("/api/"):
        return settings.API_MAX_BODY_BYTES
    if path.startswith("/admin/"):
        return settings.ADMIN_UPLOAD_MAX_BYTES
    return settings.MAX_REQUEST_BODY_BYTES


def too_large_body(limit: int) -> bytes:
    """The JSON body of the 413 answer (api.md error body) for a limit of ``limit`` bytes."""
    return json.dumps(
        error_body(
            "payload_too_large",
            gettext("The request body is over the limit of %(limit)s bytes.") % {"limit": limit},
            {"limit_bytes": limit},
        )
    ).encode()


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """``Content-Length`` of ASGI ``headers`` (a list of ``(name, value)`` byte pairs), or None when
    absent or not a number (the server has already refused a malformed one)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def scope_language(scope: dict[str, Any]) -> str:
    """The language of an ASGI HTTP ``scope`` by :func:`ticketing.i18n.request_language`
    (``?lang=``, the language cookie, ``Accept-Language``): this answer is given before Django
    has made a request of it."""
    request = HttpRequest()
    for name, value in scope.get("headers", ()):
        if name.lower() == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
        elif name.lower() == b"cookie":
            request.COOKIES.update(parse_cookie(value.decode("latin-1")))
    request.GET = QueryDict(scope.get("query_string", b"").decode("latin-1"))
    return request_language(request)


async def _send_too_large(
    send: Callable[[dict[str, Any]], Awaitable[None]], limit: int, scope: dict[str, Any]
) -> None:
    language = scope_language(scope)
    with translation.override(language):
        body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"content-language", language.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """ASGI middleware for HTTP: refuse a body over :func:`body_limit` with 413
    ``payload_too_large`` (see the module's docstring), before it is read (a declared
    ``Content-Length`` over the limit) or as soon as the bytes received pass the limit (a streamed
    body). Other scopes (WebSocket, lifespan) pass through untouched.

    Over the limit, the wrapped application's ``receive`` returns ``{"type": "http.disconnect"}``
    (ASGI HTTP spec: the client went away), whatever it sends afterwards is dropped, and this
    middleware answers 413 once the application has returned.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _declared_length(scope.get("headers", ()))
        if declared is not None and declared > limit:
            await _send_too_large(send, limit, scope)
            return
        received = 0
        refused = False
        started = False

        async def limited_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused and not started:
                return  # the 413 below answers instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if refused and not started:
            await _send_too_large(send, limit, scope)
