"""Django's HTTP handler for the ASGI server, with one thread hand-off per request.

Every view of this project is sync (DRF), and most of Django's middleware is ``MiddlewareMixin``.
Django's own ``ASGIHandler`` runs the middleware chain in async mode, where each ``MiddlewareMixin``
calls its ``process_request``/``process_response`` through ``sync_to_async`` and the view through
another, all on the process's one thread-sensitive worker thread: about a dozen hand-offs between
the event loop and that thread per request, and one request at a time per process (the CPU this
costs is in bench/README.md, "Issue #15: the HTTP handler").

:class:`ThreadedASGIHandler` loads the middleware in sync mode, the way a WSGI server runs Django,
and runs the whole chain and the view in one call on a worker thread: one hand-off per request.
The threads form a pool of ``HTTP_THREADS`` (default 4), so requests of one process overlap their
database waits, each with its own connection from the psycopg pool (``DB_POOL_MAX`` must be at
least ``HTTP_THREADS``). Django's sync request handling is thread-safe (it is how threaded WSGI
servers run it). WebSockets are untouched: they go to the consumers on the loop.

A client that goes away is handled as ``ASGIHandler`` handles it: while the body is read, the
request is dropped (no view runs); after the body, ``http.disconnect`` is watched for while the
view runs and while the response is sent. A response whose client is gone is not sent, a
streamed one stops at the next chunk, and either is closed (``request_finished``, the database
connection back to the pool). A sync view cannot be cancelled (nor can it under ``ASGIHandler``):
it runs to its end, so a change it commits stays committed. Async views would run through
``async_to_sync`` (this project has none).

This module is the project's one adapter to Django's handler internals; what it relies on
(``BaseHandler.__init__``, ``load_middleware(is_async=False)``, ``get_response``,
``ASGIHandler.read_body``, ``create_request``, ``send_response``, ``listen_for_disconnect``,
``chunk_size``, ``django.core.handlers.asgi.get_script_prefix``, ``HttpResponseBase._handler_class``)
is checked by ``ticketing/tests/test_handlers.py``, which also runs it under uvicorn and daphne.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

_executor: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS, thread_name_prefix="http")
    return _executor


def _on_thread(func: Any) -> Any:
    """``func`` as a coroutine function run on the ``HTTP_THREADS`` pool (contextvars copied)."""
    return sync_to_async(func, thread_sensitive=False, executor=_threads())


class ThreadedASGIHandler(ASGIHandler):
    """An ASGI application for HTTP: Django's sync middleware chain and view, run on one worker
    thread per request (see the module's docstring). Same requests and responses as
    ``django.core.asgi.get_asgi_application()``, same handling of a client that goes away."""

    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def handle(self, scope, receive, send):
        """Serve one HTTP request (ASGI ``http`` scope): read the body, build the response on a
        worker thread, send it unless the client sent ``http.disconnect`` meanwhile."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:  # the client went away while sending the body
            return
        gone = asyncio.ensure_future(self.listen_for_disconnect(receive))
        response = None
        try:
            response = await _on_thread(self._respond)(scope, body_file)
            if gone.done():
                return  # the client went away while the view ran: nothing to write to
            if not response.streaming:
                await self.send_response(response, send)
                return
            sending = asyncio.ensure_future(self.send_response(response, send))
            await asyncio.wait((sending, gone), return_when=asyncio.FIRST_COMPLETED)
            if sending.done():
                sending.result()  # its errors are the server's to log
            else:  # the client went away mid-stream: stop reading the content
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
        finally:
            if gone.done():
                with contextlib.suppress(RequestAborted, asyncio.CancelledError):
                    gone.result()
            else:
                gone.cancel()
            if response is not None and response.streaming:  # closed after its content
                await _on_thread(response.close)()
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: IO[bytes]) -> HttpResponseBase:
        """Build the response on the worker thread, as Django's WSGI handler does."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)  # response: a 400 if bad
        if request is not None:
            response = self.get_response(request)  # exceptions become error responses here
        assert response is not None  # create_request answers a 400 when it makes no request
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django's handlers do
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if response.streaming:
            # Its content is read later on the loop; give this thread's database connection
            # back now, as request_finished would.
            close_old_connections()
        else:
            # request_finished on this thread: its database connection goes back to the pool.
            response.close()
        return response
