"""The request body limit inside daphne (adapter: the one module that touches daphne's and
Twisted's request internals; ``ticketing/tests/test_body_limit.py`` has its contract test).

daphne hands a request to the application only once Twisted has read its whole body: into memory
when a ``Content-Length`` under 100,000 bytes is declared, else into a temporary file on disk
(every chunked body, RFC 9112 §7.1). An ASGI middleware therefore comes too late under daphne: a
1 GB chunked upload was written to disk before the application saw the request. Here the limit
of :func:`ticketing.bodylimit.body_limit` is applied by Twisted's request object as the body
arrives: a declared ``Content-Length`` over it is answered 413 before any byte of the body is
read; a chunked body is kept in memory (it can be at most the limit) and answered 413 as soon as
the bytes received pass the limit. The connection is closed after the 413 (RFC 9110 §15.5.14),
so nothing more is read.

:func:`install` is called by ``ticketing/asgi.py`` when daphne is the running server.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote, urlsplit

from django.utils import translation

from .bodylimit import body_limit, scope_language, too_large_body


def _largest_limit() -> int:
    from django.conf import settings

    return max(
        settings.API_MAX_BODY_BYTES,
        settings.ADMIN_UPLOAD_MAX_BYTES,
        settings.MAX_REQUEST_BODY_BYTES,
    )


def _request_path(channel: Any) -> str | None:
    """The decoded path of the request line being read on a Twisted ``HTTPChannel``.

    Twisted sets ``Request.path`` only once the body has been read; the request line's target is
    kept on the channel meanwhile (``HTTPChannel._path``, Twisted 22–26)."""
    target = getattr(channel, "_path", None)
    if not isinstance(target, bytes):
        return None
    return unquote(urlsplit(target.decode("latin-1")).path)


def limited_request_class():
    """A subclass of daphne's ``WebRequest`` that enforces the body limit (module docstring)."""
    from daphne.http_protocol import WebRequest

    class LimitedWebRequest(WebRequest):
        _refused = False
        _limit: int | None = None
        _received = 0

        def gotLength(self, length):
            """Twisted: the headers are in; ``length`` is the declared length, or None for a
            chunked body."""
            path = _request_path(self.channel)
            self._limit = body_limit(path) if path is not None else _largest_limit()
            if length is not None and length > self._limit:
                self.requestHeaders.removeHeader(b"Expect")  # no "100 Continue" after the 413
                self._refuse()
            elif length is None:
                self.content = io.BytesIO()  # at most the limit: no temporary file
            else:
                super().gotLength(length)

        def handleContentChunk(self, data):
            """Twisted: the next piece of the body (after chunked decoding)."""
            if self._refused:
                return
            self._received += len(data)
            if self._limit is not None and self._received > self._limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def requestReceived(self, command, path, version):
            """Twisted: the whole body is in; a refused request goes no further."""
            if self._refused:
                return
            super().requestReceived(command, path, version)

        def _refuse(self):
            self._refused = True
            self.content = io.BytesIO()
            # In the language the request asks for (its headers are in: gotLength has run).
            headers = [
                (name, value)
                for name, values in self.requestHeaders.getAllRawHeaders()
                for value in values
            ]
            language = scope_language({"headers": headers})
            with translation.override(language):
                body = too_large_body(self._limit or 0)  # set by gotLength before any refusal
            transport = self.channel.transport
            transport.write(
                b"HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
                b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nContent-Language: "
                + language.encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            transport.loseConnection()  # stops reading at once, closes once the 413 is sent

    return LimitedWebRequest


def install() -> None:
    """Make daphne build :func:`limited_request_class` requests for every HTTP/1.1 connection
    (daphne's ``HTTPFactory.buildProtocol`` reads the module's ``WebRequest`` at each connection)."""
    from daphne import http_protocol

    if not getattr(http_protocol.WebRequest, "limits_body", False):
        cls = limited_request_class()
        cls.limits_body = True
        http_protocol.WebRequest = cls
