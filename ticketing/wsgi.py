"""WSGI entry point for HTTP only (``gunicorn ticketing.wsgi:application``); WebSockets need the
ASGI application (``ticketing.asgi``). Used by ``bench/onsale.py --server gunicorn``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
application = get_wsgi_application()
