"""Sign a seat-map WebSocket in from Django's session cookie, keeping nothing per socket but the user.

What Channels' ``AuthMiddlewareStack`` (``CookieMiddleware`` → ``SessionMiddleware`` →
``AuthMiddleware``) gives the consumer — ``scope["user"]``, the signed-in user or
``AnonymousUser``, found with Channels' own :func:`channels.auth.get_user` (which also checks the
session's auth hash, so a changed password signs old sessions out) — in one layer and one scope
copy. That stack stays alive for the whole life of a socket, each layer with its own scope copy,
and ``SessionMiddleware`` with a session wrapper around ``send``, memory kept per idle socket
(bench/README.md "fanout" has the figures). The seat map needs no session after the handshake (realtime.md: frames are read-only; the client writes through the
REST API), so none is kept.

:class:`CookieOriginValidator` decides which handshakes need an ``Origin`` header
(docs/realtime.md, the opening section): only those whose cookies could sign them in.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from channels.auth import get_user
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie


def has_ticket(scope: dict[str, Any]) -> bool:
    """Whether the handshake carries a ``?ticket=`` (realtime.md: the ticket alone signs such a
    socket in, valid or not; the consumer redeems it)."""
    return bool(parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket"))


class CookieOriginValidator:
    """ASGI middleware for WebSocket routes: the ``Origin`` check where a cookie could sign the
    socket in, and only there (docs/realtime.md, opening section).

    - A handshake with a ``Cookie`` header goes through Channels'
      :func:`~channels.security.websocket.AllowedHostsOriginValidator` (``Origin`` required, its
      host in ``ALLOWED_HOSTS``; refused with HTTP 403 otherwise): a page of another site must not
      use the visitor's session (cross-site WebSocket hijacking).
    - Exception: a ``?ticket=`` handshake that sends no ``Origin`` (a native client with a cookie
      jar). Its session cookie is never read (:class:`SessionUserMiddleware`); the ticket signs it
      in. One that does send an ``Origin`` is still checked.
    - A handshake without cookies (an anonymous watcher, a kiosk, an app with a ticket) needs no
      ``Origin``: it carries no credential a foreign page could borrow, and watching is public.
    """

    def __init__(self, app):
        self.app = app
        self.checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        names = {name for name, _ in scope.get("headers", ())}
        if b"cookie" in names and (b"origin" in names or not has_ticket(scope)):
            return await self.checked(scope, receive, send)
        return await self.app(scope, receive, send)


class SessionUserMiddleware:
    """ASGI middleware for WebSocket routes: ``scope["user"]`` from the session cookie named
    ``settings.SESSION_COOKIE_NAME``; ``AnonymousUser`` without a cookie (no database read then),
    with an unknown or expired session, a cookie value that is not a session key (e.g. NUL bytes:
    ``ticketing/sessions.py``, issue #14), or when the session's auth hash no longer matches; and
    with a ``?ticket=`` (the ticket alone signs the socket in: the consumer redeems it), so a
    ticket socket is never signed in by its cookie."""

    def __init__(self, app):
        self.app = app
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        cookies = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        key = cookies.get(settings.SESSION_COOKIE_NAME) if not has_ticket(scope) else None
        user = await get_user({"session": self.store(session_key=key)}) if key else AnonymousUser()
        return await self.app(dict(scope, user=user), receive, send)
