from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """WebSocket consumers and the after-commit event publisher (shared/spec/realtime.md)."""

    name = "realtime"

    def ready(self):
        """Install :mod:`realtime.events` as the project's publisher (:mod:`core.events`)."""
        from core import events as announcements

        from . import events

        announcements.publisher_set(events)
