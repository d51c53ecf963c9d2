"""WebSocket URL routes."""

from django.urls import path

from .consumers import ShowtimeConsumer

websocket_urlpatterns = [
    path("ws/showtimes/<int:showtime_id>/", ShowtimeConsumer.as_asgi()),
]
