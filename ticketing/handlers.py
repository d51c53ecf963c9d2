"""Django's HTTP handler for the ASGI server, with one thread hand-off per request.

Every view of this project is sync (DRF), and most of Django's middleware is ``MiddlewareMixin``.
Django's own ``ASGIHandler`` runs the middleware chain in async mode, where each ``MiddlewareMixin``
calls its ``process_request``/``process_response`` through ``sync_to_async`` and the view through
another, all on the process's one thread-sensitive worker thread: on the hold path about a dozen
hand-offs between the event loop and that thread per request, and one request at a time per
process. Profiled (py-spy --gil, bench/README.md "onsale"), those hand-offs and the GIL switches
they cause were about a third of the server's CPU.

:class:`ThreadedASGIHandler` loads the middleware in sync mode, the way a WSGI server runs Django,
and runs the whole chain and the view in one call on a worker thread: one hand-off per request.
The threads form a pool of ``HTTP_THREADS`` (default 4), so requests of one process overlap their
database waits, each with its own connection from the psycopg pool (``DB_POOL_MAX`` must be at
least ``HTTP_THREADS``). Django's sync request handling is thread-safe (it is how threaded WSGI
servers run it). WebSockets are untouched: they go to the Channels consumers on the loop.

What is given up against ``ASGIHandler``: a sync view cannot be cancelled when the client goes away
(``ASGIHandler`` can only cancel async views anyway), and async views would run through
``async_to_sync`` (this project has none).
"""

from __future__ import annotations

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
        _executor = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS,
                                       thread_name_prefix="http")
    return _executor


class ThreadedASGIHandler(ASGIHandler):
    """An ASGI application for HTTP: Django's sync middleware chain and view, run on one worker
    thread per request (see the module's docstring). Same requests and responses as
    ``django.core.asgi.get_asgi_application()``."""

    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:  # the client went away while sending the body
            return
        try:
            response = await sync_to_async(self._respond, thread_sensitive=False,
                                           executor=_threads())(scope, body_file)
            await self.send_response(response, send)
            if response.streaming:  # closed after its content was sent
                await sync_to_async(response.close, thread_sensitive=False,
                                    executor=_threads())()
        finally:
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
