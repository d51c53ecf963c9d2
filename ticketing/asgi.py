"""ASGI entry point: HTTP goes to Django, WebSocket to the Channels router.

HTTP is served by :class:`ticketing.handlers.ThreadedASGIHandler` (the middleware chain and the
view in one worker-thread call per request) unless ``DJANGO_ASGI_HANDLER=django`` asks for
Django's stock ``ASGIHandler`` (kept for comparison: bench/README.md, "Issue #15: the HTTP
handler").

The outermost layer, :class:`realtime.events.ServerLoopMiddleware`, records the server's event
loop in each connection's context, so events published by a sync view after commit are handed
to that loop (``realtime.events``).

WebSocket handshakes with cookies are checked against ``ALLOWED_HOSTS`` (Channels'
``AllowedHostsOriginValidator``, through ``realtime.middleware.CookieOriginValidator``; sockets
with a ``?ticket=`` or without cookies need no ``Origin``) and signed in with the session cookie
(``realtime.middleware.SessionUserMiddleware``: what Channels' ``AuthMiddlewareStack`` gives the
consumer, with less kept per socket), as docs/realtime.md says. Unmatched paths close with 4404
(``realtime.routing``).

Every HTTP request first meets :class:`ticketing.bodylimit.BodyLimitMiddleware` (the outermost
layer): a body over its path's limit is answered 413 while it streams in, before Django reads it
(issue #14). Under daphne, which reads whole bodies before calling the application, the same limit
is applied inside daphne (:mod:`ticketing.daphne_limits`).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
django_asgi_app = get_asgi_application()  # sets Django up
if os.environ.get("DJANGO_ASGI_HANDLER", "threaded") != "django":
    from ticketing.handlers import ThreadedASGIHandler

    django_asgi_app = ThreadedASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)

from ticketing import daphne_limits  # noqa: E402
from ticketing.bodylimit import BodyLimitMiddleware  # noqa: E402

daphne_limits.install()  # takes effect where daphne is the server (uvicorn never builds its requests)

from realtime.events import ServerLoopMiddleware  # noqa: E402
from realtime.middleware import CookieOriginValidator, SessionUserMiddleware  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ServerLoopMiddleware(
    ProtocolTypeRouter(
        {
            "http": BodyLimitMiddleware(django_asgi_app),
            "websocket": CookieOriginValidator(
                SessionUserMiddleware(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
