from django.apps import AppConfig


class TicketingConfig(AppConfig):
    """Project-wide pieces: metrics collector registration."""

    name = "ticketing"

    def ready(self):
        from . import metrics

        metrics.register()
