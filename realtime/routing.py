"""WebSocket URL routes (docs/realtime.md): the seat map socket, the waiting room's socket, and a catch-all that closes every
other path with 4404 (``realtime.consumers.unknown_path``) — Channels' ``URLRouter`` would raise
``ValueError: No route found`` for it (an HTTP 500 and a traceback in the server log)."""

from django.urls import path, re_path

from .consumers import QueueConsumer, ShowtimeConsumer, unknown_path

websocket_urlpatterns = [
    path("ws/showtimes/<int:showtime_id>/", ShowtimeConsumer.as_asgi()),
    path("ws/showtimes/<int:showtime_id>/queue/", QueueConsumer.as_asgi()),
    re_path(r"^", unknown_path),  # type: ignore[arg-type]  # Channels routes to an ASGI app; last
]
