from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """WebSocket consumers and the after-commit event publisher (shared/spec/realtime.md)."""

    name = "realtime"
