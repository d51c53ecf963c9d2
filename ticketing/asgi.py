"""ASGI entry point: HTTP goes to Django, WebSocket to the Channels router.

HTTP is served by :class:`ticketing.handlers.ThreadedASGIHandler` (the middleware chain and the
view in one worker-thread call per request) unless ``DJANGO_ASGI_HANDLER=django`` asks for
Django's stock ``ASGIHandler`` (kept for comparison: bench/README.md).

WebSocket handshakes with cookies are checked against ``ALLOWED_HOSTS`` (Channels'
``AllowedHostsOriginValidator``, through ``realtime.middleware.CookieOriginValidator``; sockets
with a ``?ticket=`` or without cookies need no ``Origin``) and signed in with the session cookie
(``realtime.middleware.SessionUserMiddleware``: what Channels' ``AuthMiddlewareStack`` gives the
consumer, with less kept per socket), as docs/realtime.md says. Unmatched paths close with 4404
(``realtime.routing``).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
django_asgi_app = get_asgi_application()  # sets Django up
if os.environ.get("DJANGO_ASGI_HANDLER", "threaded") != "django":
    from ticketing.handlers import ThreadedASGIHandler

    django_asgi_app = ThreadedASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)

from realtime.middleware import CookieOriginValidator, SessionUserMiddleware  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": CookieOriginValidator(
            SessionUserMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
