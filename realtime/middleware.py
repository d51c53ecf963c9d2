"""Sign a seat-map WebSocket in from Django's session cookie, keeping nothing per socket but the user.

What Channels' ``AuthMiddlewareStack`` (``CookieMiddleware`` → ``SessionMiddleware`` →
``AuthMiddleware``) gives the consumer — ``scope["user"]``, the signed-in user or
``AnonymousUser``, found with Channels' own :func:`channels.auth.get_user` (which also checks the
session's auth hash, so a changed password signs old sessions out) — in one layer and one scope
copy. That stack stays alive for the whole life of a socket, each layer with its own scope copy,
and ``SessionMiddleware`` with a session wrapper around ``send``: 3.4 KiB of Python memory per
idle socket (tracemalloc, 1,000 watchers under uvicorn); replacing it took 3.0 KiB off the
server's memory per idle socket (22.8 → 19.8 KiB, bench/README.md "fanout"). The seat map needs
no session after the handshake (realtime.md: frames are read-only; the client writes through the
REST API), so none is kept.
"""

from __future__ import annotations

from importlib import import_module

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie


class SessionUserMiddleware:
    """ASGI middleware for WebSocket routes: ``scope["user"]`` from the session cookie named
    ``settings.SESSION_COOKIE_NAME``; ``AnonymousUser`` without a cookie (no database read then),
    with an unknown or expired session, or when the session's auth hash no longer matches."""

    def __init__(self, app):
        self.app = app
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        cookies = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        key = cookies.get(settings.SESSION_COOKIE_NAME)
        user = await get_user({"session": self.store(session_key=key)}) if key else AnonymousUser()
        return await self.app(dict(scope, user=user), receive, send)
